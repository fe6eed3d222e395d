// Starting a QEMU process and watching it: the monitor socket is created by hcsd and handed to QEMU
// as an inherited listening descriptor, so hcsd can connect before QEMU is ready (the connection
// waits in the backlog) and needs no polling for a socket file to appear. The process is watched
// through a pidfd, which also works for a QEMU re-adopted after hcsd restarted (not our child).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace hc::hcs::vm {

struct StartedProcess {
    pid_t pid = -1;
    int pidfd = -1;  // readable when the process exits
};

// Starts `args` in a new session (so terminal signals to hcsd do not reach it) with stdin from
// /dev/null, stdout+stderr appended to `logPath`, and `inheritFd` available as descriptor 3. The
// child inherits no other descriptor of hcsd (its clients' sockets, other VMs' monitors).
Result<StartedProcess> startProcess(const std::vector<std::string>& args, int inheritFd, const std::string& logPath);

// Closes every descriptor >= `first` except `keep` (-1: none): close_range (Linux 5.9), else one
// close() per slot. Async-signal-safe: used in the child between fork and exec, and by hcsd at start
// to drop what it inherited from whoever started it.
void closeDescriptorsFrom(int first, int keep = -1);

// pidfd for an existing process (re-adoption).
Result<int> openPidfd(pid_t pid);

// Live (not zombie) processes with `argument` as one of their command-line arguments.
std::vector<pid_t> findProcessesWithArgument(const std::string& argument);

// SIGKILL through a pidfd (no risk of hitting a recycled pid between lookup and signal).
void killProcess(pid_t pid);

// Reaps `pid` if it is our child and has exited; returns a description of how it ended ("exit code 1",
// "killed by signal 9"), or "" when unknown (not our child).
std::string reapProcess(pid_t pid);

// Resource use of a running process, from /proc/<pid>/stat and /proc/<pid>/status.
struct ProcessStats {
    uint64_t userTime100ns = 0;
    uint64_t kernelTime100ns = 0;
    uint64_t residentBytes = 0;      // VmRSS
    uint64_t peakResidentBytes = 0;  // VmHWM
    uint64_t anonymousBytes = 0;     // RssAnon
    uint64_t virtualBytes = 0;       // VmSize
};
Result<ProcessStats> readProcessStats(pid_t pid);

// The last `maxBytes` of a log file, for error messages ("qemu-system-x86_64: -kernel: ...").
std::string tailOfFile(const std::string& path, size_t maxBytes = 600);

}  // namespace hc::hcs::vm
