#include "hcs/service/vm_supervisor.h"

#include "base/hresult.h"
#include "base/log.h"

namespace hc::hcs::service {

using nlohmann::json;

VmSupervisor::VmSupervisor(EventLoop& loop, vm::VmCallbacks callbacks, SupervisionTimeouts timeouts, std::string name)
    : loop_(loop), callbacks_(std::move(callbacks)), timeouts_(timeouts), name_(std::move(name))
{
}

VmSupervisor::~VmSupervisor()
{
    cancelTimers();
}

void VmSupervisor::cancelTimers()
{
    if (readyTimer_) loop_.cancelTimer(readyTimer_);
    if (killTimer_) loop_.cancelTimer(killTimer_);
    readyTimer_ = killTimer_ = 0;
    for (auto& [key, pending] : pending_) {
        if (pending.timer) loop_.cancelTimer(pending.timer);
        pending.timer = 0;
    }
}

vm::VmCallbacks VmSupervisor::supervisedCallbacks()
{
    vm::VmCallbacks wrapped;
    wrapped.onReady = [this](Status st) {
        if (readyTimer_) loop_.cancelTimer(readyTimer_);
        readyTimer_ = 0;
        if (callbacks_.onReady) callbacks_.onReady(st);
    };
    wrapped.onEvent = [this](const std::string& event, const json& data) {
        if (callbacks_.onEvent) callbacks_.onEvent(event, data);
    };
    wrapped.onExit = [this](const std::string& description) {
        cancelTimers();
        if (callbacks_.onExit) callbacks_.onExit(description);
    };
    return wrapped;
}

Result<std::unique_ptr<VmSupervisor>> VmSupervisor::supervise(
    EventLoop& loop, vm::VmCallbacks callbacks, SupervisionTimeouts timeouts, std::string name,
    const std::function<Result<std::unique_ptr<vm::Vm>>(vm::VmCallbacks)>& start)
{
    std::unique_ptr<VmSupervisor> supervisor(new VmSupervisor(loop, std::move(callbacks), timeouts, std::move(name)));
    auto vm = start(supervisor->supervisedCallbacks());
    if (!vm) return vm.error();
    supervisor->vm_ = std::move(*vm);
    VmSupervisor* raw = supervisor.get();
    supervisor->readyTimer_ = loop.addTimer(timeouts.monitorTimeout, [raw] {
        raw->readyTimer_ = 0;
        HC_LOG(Warn, "hcsd", "the monitor of \"" + raw->name_ + "\" did not become ready: killing its QEMU");
        raw->kill();
    });
    return supervisor;
}

Result<std::unique_ptr<VmSupervisor>> VmSupervisor::launch(EventLoop& loop, vm::VmLauncher& launcher,
                                                           const vm::LaunchRequest& request, vm::VmCallbacks callbacks,
                                                           SupervisionTimeouts timeouts, std::string name)
{
    return supervise(loop, std::move(callbacks), timeouts, std::move(name),
                     [&](vm::VmCallbacks supervised) { return launcher.launch(request, std::move(supervised)); });
}

Result<std::unique_ptr<VmSupervisor>> VmSupervisor::adopt(EventLoop& loop, vm::VmLauncher& launcher, pid_t pid,
                                                          const std::string& qmpPath, vm::VmCallbacks callbacks,
                                                          SupervisionTimeouts timeouts, std::string name)
{
    return supervise(loop, std::move(callbacks), timeouts, std::move(name),
                     [&](vm::VmCallbacks supervised) { return launcher.adopt(pid, qmpPath, std::move(supervised)); });
}

uint64_t VmSupervisor::execute(const std::string& command, const json& arguments, vm::ReplyHandler handler)
{
    return executeWithDescriptor(command, arguments, -1, std::move(handler));
}

uint64_t VmSupervisor::executeWithDescriptor(const std::string& command, const json& arguments, int descriptor,
                                             vm::ReplyHandler handler)
{
    uint64_t key = nextCommand_++;
    pending_[key] = Pending{std::move(handler), 0, 0};
    auto onReply = [this, key](Result<json> r) { complete(key, std::move(r)); };
    uint64_t vmCommand = descriptor >= 0 ? vm_->executeWithDescriptor(command, arguments, descriptor, onReply)
                                         : vm_->execute(command, arguments, onReply);
    auto it = pending_.find(key);
    if (it == pending_.end()) return key;  // failed to send: already answered
    it->second.vmCommand = vmCommand;
    it->second.timer = loop_.addTimer(timeouts_.monitorTimeout, [this, key, command] {
        auto p = pending_.find(key);
        if (p == pending_.end()) return;
        p->second.timer = 0;
        vm_->abandon(p->second.vmCommand);
        HC_LOG(
            Warn, "hcsd",
            "QEMU of \"" + name_ + "\" did not answer \"" + command + "\" in time: its monitor is wedged; killing it");
        complete(key, makeError(HCS_E_OPERATION_TIMEOUT, "QEMU did not answer \"" + command + "\" within " +
                                                             std::to_string(timeouts_.monitorTimeout.count()) +
                                                             " ms; its monitor is wedged, so hcsd kills it"));
        kill();
    });
    return key;
}

void VmSupervisor::complete(uint64_t key, Result<json> reply)
{
    auto it = pending_.find(key);
    if (it == pending_.end()) return;
    if (it->second.timer) loop_.cancelTimer(it->second.timer);
    vm::ReplyHandler handler = std::move(it->second.handler);
    pending_.erase(it);
    handler(std::move(reply));
}

void VmSupervisor::abandon(uint64_t command)
{
    auto it = pending_.find(command);
    if (it == pending_.end()) return;
    if (it->second.timer) loop_.cancelTimer(it->second.timer);
    vm_->abandon(it->second.vmCommand);
    pending_.erase(it);
}

void VmSupervisor::terminate()
{
    if (killTimer_ || vm_->exited()) return;
    vm_->execute("quit", json::object(), [](Result<json>) {});
    killTimer_ = loop_.addTimer(timeouts_.terminateGrace, [this] {
        killTimer_ = 0;
        HC_LOG(Info, "hcsd", "QEMU of \"" + name_ + "\" did not quit in time: killing it");
        kill();
    });
}

void VmSupervisor::kill()
{
    vm_->kill();
}

}  // namespace hc::hcs::service
