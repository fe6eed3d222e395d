// The QEMU implementation of vm::Vm: one QEMU process as hcsd's event loop sees it, its QMP
// connection (vm/qmp_client.h) and its pidfd (vm/qemu_process.h). Lifecycle and callback rules are
// vm::Vm's (vm/vm.h). QemuLauncher starts QEMU processes or attaches to ones an earlier hcsd left.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "base/event_loop.h"
#include "hcs/vm/qmp_client.h"
#include "hcs/vm/vm.h"

namespace hc::hcs::vm {

class QemuVm final : public Vm {
public:
    // Creates the monitor socket at `qmpPath`, starts the command line (which refers to the
    // monitor as fd 3) with output to `logPath`, and connects.
    static Result<std::unique_ptr<QemuVm>> launch(EventLoop& loop, const LaunchRequest& request, VmCallbacks callbacks);
    static Result<std::unique_ptr<QemuVm>> adopt(EventLoop& loop, pid_t pid, const std::string& qmpPath,
                                                 VmCallbacks callbacks);
    ~QemuVm() override;

    pid_t pid() const override { return pid_; }
    bool exited() const override { return exited_; }
    uint64_t execute(const std::string& command, const nlohmann::json& arguments, ReplyHandler handler) override;
    uint64_t executeWithDescriptor(const std::string& command, const nlohmann::json& arguments, int descriptor,
                                   ReplyHandler handler) override;
    void abandon(uint64_t command) override;
    void kill() override;

private:
    QemuVm(EventLoop& loop, pid_t pid, int pidfd, VmCallbacks callbacks);
    Status connectMonitor(const std::string& qmpPath);
    void onProcessExit();

    EventLoop& loop_;
    pid_t pid_;
    int pidfd_;
    VmCallbacks callbacks_;
    std::unique_ptr<QmpClient> qmp_;
    bool exited_ = false;
};

class QemuLauncher final : public VmLauncher {
public:
    explicit QemuLauncher(EventLoop& loop) : loop_(loop) {}
    Result<std::unique_ptr<Vm>> launch(const LaunchRequest& request, VmCallbacks callbacks) override;
    Result<std::unique_ptr<Vm>> adopt(pid_t pid, const std::string& qmpPath, VmCallbacks callbacks) override;
    std::vector<pid_t> findByArgument(const std::string& argument) override;
    void killProcess(pid_t pid) override;

private:
    EventLoop& loop_;
};

}  // namespace hc::hcs::vm
