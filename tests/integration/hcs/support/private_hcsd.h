// A private hcsd for one test program: its own socket and state directory under a fresh /tmp
// directory, started as a separate process from the build tree, HCS_SOCKET pointed at it (so the
// client library in this process and every child talk to it). Lifecycle: start() in a test
// environment's SetUp; stop() (or the destructor) terminates hcsd, kills any QEMU it left behind
// and removes the directory. kill() simulates a crash.
#pragma once

#include <string>

#include "support/child_process.h"

namespace hcs_test {

class PrivateHcsd {
public:
    PrivateHcsd() = default;
    PrivateHcsd(const PrivateHcsd&) = delete;
    PrivateHcsd& operator=(const PrivateHcsd&) = delete;
    ~PrivateHcsd();

    // Starts hcsd and waits until its socket accepts connections. Throws with hcsd's log on failure.
    void start();
    // SIGTERM, then SIGKILL after a grace period; kills left-over QEMU processes; removes the directory.
    void stop();
    // Sends `sig` to hcsd without cleaning up (a crash).
    void kill(int sig);
    // After kill(): starts hcsd again on the same socket and state directory (a restart).
    void restart();

    pid_t pid() const { return process_.pid(); }
    ChildProcess& process() { return process_; }
    const std::string& root() const { return root_; }  // everything hcsd owns lives below this
    const std::string& socketPath() const { return socket_; }
    const std::string& stateDirectory() const { return state_; }
    std::string log() const;

private:
    // After hcsd stopped: deletes the containers it left (runc) and detaches their overlays.
    void removeLeftoverContainers();
    ChildProcess process_;
    std::string root_;
    std::string socket_;
    std::string state_;
    std::string logFile_;
};

// $HOSTCOMPUTE_BUILD_DIR / $HOSTCOMPUTE_SOURCE_DIR (set by CTest), else the tree this was built from.
std::string buildDirectory();
std::string sourceDirectory();

}  // namespace hcs_test
