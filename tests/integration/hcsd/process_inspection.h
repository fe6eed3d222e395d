// What a trust test learns about other processes from /proc, without their cooperation: whose they
// are, what they run, which descriptors they hold, where they listen, how much CPU they used.
// Read-only; a process that vanishes mid-read simply yields nothing.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hcsd_test {

// Live processes whose real user id is `uid`.
std::vector<pid_t> processesOwnedBy(uid_t uid);
// Live processes other than this one whose command line contains `text`.
std::vector<pid_t> processesMentioning(const std::string& text);
// argv of `pid` (empty when it is gone).
std::vector<std::string> commandLineOf(pid_t pid);
// The value following `option` in `pid`'s argv ("" when absent), e.g. hcsd's --socket.
std::string optionValueOf(pid_t pid, const std::string& option);
// readlink of every /proc/<pid>/fd entry: "/path", "pipe:[123]", "socket:[456]", ...
std::vector<std::string> descriptorTargetsOf(pid_t pid);
// "pid <pid> (<comm>) fd <n>" for every descriptor of every other process that refers to `target`
// (a descriptorTargetsOf value such as "pipe:[123]").
std::vector<std::string> holdersOf(const std::string& target);
// Paths of the listening Unix sockets `pid` holds (from /proc/net/unix).
std::vector<std::string> listeningSocketPathsOf(pid_t pid);
// User plus system CPU time `pid` has used, in seconds.
double cpuSecondsOf(pid_t pid);
// The state letter of /proc/<pid>/stat (R, S, T for stopped, Z, ...); '?' when gone.
char stateOf(pid_t pid);
// Number of open descriptors of `pid`.
size_t descriptorCountOf(pid_t pid);

}  // namespace hcsd_test
