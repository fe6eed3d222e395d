// A QEMU (TCG) guest booting the agent initrd (guest/image, HCS_AGENT_INITRD) with the agent's port
// from qemuAgentArguments(), for the agent's integration tests: no hcsd, the test drives AgentChannel
// itself. The VM is killed (by pid) and its directory removed when the object goes away.
#pragma once

#include <sys/types.h>

#include <string>

namespace guest_it {

class TestVm {
public:
    // `extraAppend` is added to the kernel command line (e.g. "hcs.hostile=garbage").
    explicit TestVm(const std::string& extraAppend = "");
    ~TestVm();
    TestVm(const TestVm&) = delete;
    TestVm& operator=(const TestVm&) = delete;

    const std::string& socketPath() const { return socketPath_; }
    std::string console() const;  // what the guest printed so far
    bool running() const;

private:
    std::string dir_, socketPath_, consolePath_;
    pid_t pid_ = -1;
    mutable bool reaped_ = false;
};

}  // namespace guest_it
