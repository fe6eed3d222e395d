// hcsctl run: a container from a local image tarball, run attached like `docker run`
// (docs/hcsctl.md): unpack the image into the layer cache (image_store.h), write the Container
// document, create and start the container, run the command with this terminal's stdio (exec.h), and
// remove the container and its scratch layer unless --keep.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "commands.h"
#include "exec.h"

namespace hcsctl {

struct RunRequest {
    std::string image;                  // the tarball
    std::string isolation = "process";  // only process isolation is implemented
    std::string id;                     // "" = run-<random>
    std::string cache;                  // "" = defaultImageCache()
    bool keep = false;
    uint64_t memoryMB = 0;  // 0 = no limit
    std::string hostName;
    bool hostNetwork = false;
    std::vector<std::string> volumes;  // HOST:CONTAINER[:ro]
    ExecRequest exec;                  // command (may be empty: the image's), -i, -t, -e, -w, -u
};

// Parses `[OPTIONS] IMAGE [--] [CMD ARGS...]`; false with `error` on a usage error.
bool parseRunArguments(const std::vector<std::string>& args, RunRequest& request, std::string& error);

// The Container document for `request` over `layers` (base first) and `scratch`.
std::string containerDocumentFor(const RunRequest& request, const std::vector<std::string>& layers,
                                 const std::string& scratch, std::string& error);

int runImage(const Options& options, RunRequest request);

}  // namespace hcsctl
