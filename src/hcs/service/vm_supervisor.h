// One compute system's VM under supervision: the vm::Vm plus the clocks that keep hcsd in control
// of it whatever the process does. Every wait on the VM is bounded: the monitor must become ready
// and every command must be answered within `monitorTimeout`, or the waiting handler fails with
// HCS_E_OPERATION_TIMEOUT and the VM — whose monitor is wedged — is killed. terminate() sends
// "quit" and kills after `terminateGrace` (a SIGSTOPped QEMU never answers "quit").
//
// Lifecycle: launch()/adopt() -> callbacks.onReady -> commands -> callbacks.onExit exactly once.
// Owned by its ComputeSystem; destroyed after onExit (posted, never inside a callback) or at hcsd
// shutdown (the process keeps running for a later hcsd, unless the owner killed it first).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/event_loop.h"
#include "hcs/vm/vm.h"

namespace hc::hcs::service {

struct SupervisionTimeouts {
    std::chrono::milliseconds monitorTimeout{15000};
    std::chrono::milliseconds terminateGrace{3000};
};

class VmSupervisor {
public:
    static Result<std::unique_ptr<VmSupervisor>> launch(EventLoop& loop, vm::VmLauncher& launcher,
                                                        const vm::LaunchRequest& request, vm::VmCallbacks callbacks,
                                                        SupervisionTimeouts timeouts, std::string name);
    static Result<std::unique_ptr<VmSupervisor>> adopt(EventLoop& loop, vm::VmLauncher& launcher, pid_t pid,
                                                       const std::string& qmpPath, vm::VmCallbacks callbacks,
                                                       SupervisionTimeouts timeouts, std::string name);
    // Any other Vm (a container, container/container_vm.h): `start` gets the supervised callbacks and
    // returns the Vm; the monitor's readiness is then awaited with the monitor timeout.
    static Result<std::unique_ptr<VmSupervisor>> supervise(
        EventLoop& loop, vm::VmCallbacks callbacks, SupervisionTimeouts timeouts, std::string name,
        const std::function<Result<std::unique_ptr<vm::Vm>>(vm::VmCallbacks)>& start);
    ~VmSupervisor();
    VmSupervisor(const VmSupervisor&) = delete;
    VmSupervisor& operator=(const VmSupervisor&) = delete;

    pid_t pid() const { return vm_->pid(); }
    bool exited() const { return vm_->exited(); }
    // A bounded monitor command (see above). Returns an id for abandon().
    uint64_t execute(const std::string& command, const nlohmann::json& arguments, vm::ReplyHandler handler);
    // Stops waiting for a command: its handler never runs (a cancelled call).
    void abandon(uint64_t command);
    // "quit", then SIGKILL after the grace period. Idempotent.
    void terminate();
    void kill();

private:
    VmSupervisor(EventLoop& loop, vm::VmCallbacks callbacks, SupervisionTimeouts timeouts, std::string name);
    vm::VmCallbacks supervisedCallbacks();
    void cancelTimers();
    void complete(uint64_t key, Result<nlohmann::json> reply);

    EventLoop& loop_;
    vm::VmCallbacks callbacks_;
    SupervisionTimeouts timeouts_;
    std::string name_;
    struct Pending {
        vm::ReplyHandler handler;
        uint64_t vmCommand = 0;
        uint64_t timer = 0;
    };
    std::map<uint64_t, Pending> pending_;  // by our command id (what execute() returns)
    uint64_t nextCommand_ = 1;
    uint64_t readyTimer_ = 0;
    uint64_t killTimer_ = 0;
    std::unique_ptr<vm::Vm> vm_;  // last: destroyed first, so no callback outlives the members above
};

}  // namespace hc::hcs::service
