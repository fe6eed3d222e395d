// Local container images for `hcsctl run`: an OCI image layout or a docker-archive (`docker save`)
// tarball is unpacked into content-addressed layer directories under a cache, ready to be a Container
// document's Storage.Layers. No registry is involved.
//
// Cache layout (<cache> = --cache, else $XDG_CACHE_HOME/hostcompute, else ~/.cache/hostcompute):
//   <cache>/layers/sha256-<hex>/   one layer's files, <hex> the sha256 of the layer blob as stored
//                                  (verified against the OCI digest); made once, then reused
//   <cache>/tmp-*/                 work directories (removed when done)
// A layer directory appears atomically (extracted beside it, then renamed), so a concurrent or
// interrupted unpack never leaves a half-made layer under its final name. OCI whiteouts become
// overlayfs whiteouts: `.wh.<name>` a 0/0 character device, `.wh..wh..opq` the trusted.overlay.opaque
// attribute of its directory.
#pragma once

#include <string>
#include <vector>

namespace hcsctl {

// What the image's configuration says about how to run it (OCI image config "config").
struct ImageConfig {
    std::vector<std::string> entrypoint;
    std::vector<std::string> cmd;
    std::vector<std::string> env;  // "K=V"
    std::string workingDir;
    std::string user;
};

struct UnpackedImage {
    std::vector<std::string> layers;  // layer directories, the base first
    ImageConfig config;
};

std::string defaultImageCache();

// Unpacks `tarball` (OCI layout or docker-archive) into `cache`; false with `error` set on failure.
bool unpackImage(const std::string& tarball, const std::string& cache, UnpackedImage& image, std::string& error);

}  // namespace hcsctl
