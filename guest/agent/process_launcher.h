// Starting one process for the guest agent: user resolution (names from /etc/passwd, or uid[:gid]),
// PATH lookup, stdio as pipes or a pty, vfork/exec with the child's failures reported back over a
// close-on-exec pipe so the host hears "not found" instead of a process that exits 127.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "hcs/guest/control_messages.h"

namespace hc::guest_agent {

struct Credentials {
    uid_t uid = 0;
    gid_t gid = 0;
};

// "" = unchanged (the agent's own user); "name" = looked up in `passwdPath`; "uid" or "uid:gid" numeric
// (gid defaults to the uid's passwd entry, else to the uid).
Result<Credentials> resolveUser(const std::string& user, const std::string& passwdPath);

// What to start is the wire's CreateProcessRequest itself (its `req` is not used here).
using LaunchRequest = hcs::guest::wire::CreateProcessRequest;

// The agent's ends. Unrequested streams are invalid (the process has /dev/null there). With a console,
// stdinFd and stdoutFd are both the pty master (two descriptors), stderrFd is invalid, and ptyMaster
// is kept for resizing.
struct LaunchedProcess {
    pid_t pid = -1;
    UniqueFd pidfd;
    UniqueFd stdinFd, stdoutFd, stderrFd;
    UniqueFd ptyMaster;
};

Result<LaunchedProcess> launchProcess(const LaunchRequest& request, const std::string& passwdPath);

}  // namespace hc::guest_agent
