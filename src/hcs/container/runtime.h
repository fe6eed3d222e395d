// The OCI runtime hcsd drives (runc, or crun where it works) and the commands it runs.
//
// The runtime is chosen by probeRuntime(): a binary must exist and answer --version; crun is
// preferred only on a unified (cgroup v2) host, because crun 1.8 refuses hybrid cgroup layouts
// ("cgroups in hybrid mode not supported") where runc works. Its state lives under `root` (--root), in
// hcsd's private state directory.
//
// RuntimeCommands runs commands asynchronously on hcsd's EventLoop: each is spawned (stdio to a log
// file, descriptor 3 optionally inherited), watched through a pidfd and reaped; `done` runs on the loop
// with its exit code. Lifecycle: owned by one ContainerVm; destroying it forgets the commands still
// running (their handlers never run; they finish and are reaped by whoever reaps hcsd's orphans).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/event_loop.h"
#include "base/result.h"

namespace hc::hcs::container {

struct OciRuntime {
    std::string binary;   // as run (looked up in PATH when it has no '/')
    std::string version;  // the first line of --version
    std::string reason;   // why this runtime (service properties)
    std::string root;     // --root: the runtime's state directory

    // {binary, "--root", root, args...}
    std::vector<std::string> command(const std::vector<std::string>& args) const;
};

// `preferred` = "" (choose) or a binary the administrator named (hcsd --oci-runtime).
Result<OciRuntime> probeRuntime(const std::string& preferred, const std::string& root);

// Runs `args` to completion (hcsd start-up and clean-up paths only): its stdout, or an error with its
// stderr when it fails.
Result<std::string> runRuntimeSync(const std::vector<std::string>& args);

class RuntimeCommands {
public:
    using Done = std::function<void(Result<int> exitCode)>;

    explicit RuntimeCommands(EventLoop& loop) : loop_(loop) {}
    ~RuntimeCommands();
    RuntimeCommands(const RuntimeCommands&) = delete;
    RuntimeCommands& operator=(const RuntimeCommands&) = delete;

    // Spawns the command; `done` runs later on the loop (also when the spawn fails).
    uint64_t run(const std::vector<std::string>& args, int inheritFd, const std::string& logPath, Done done);
    // SIGKILL to a command still running (its `done` still runs, with its signal status).
    void kill(uint64_t id);
    bool running(uint64_t id) const { return commands_.count(id) != 0; }

private:
    struct Command {
        pid_t pid = -1;
        int pidfd = -1;
        Done done;
    };
    void finished(uint64_t id);

    EventLoop& loop_;
    std::map<uint64_t, Command> commands_;
    uint64_t next_ = 1;
};

}  // namespace hc::hcs::container
