// One running QEMU process as hcsd's event loop sees it: its QMP connection and its pidfd.
// Lifecycle: launch()/adopt() -> onReady(OK) once QMP is negotiated (or onReady(error)) -> commands
// and events -> onExit(description) exactly once when the process is gone. The owner (a compute
// system) destroys the QemuVm after onExit, never from inside one of its callbacks (use
// EventLoop::post). Destroying it does not stop QEMU: that is an explicit quit or kill.
#pragma once

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "hcs/service/event_loop.h"
#include "hcs/vm/qemu_process.h"
#include "hcs/vm/qmp_client.h"

namespace hc::hcs::service {

class QemuVm {
public:
    struct Callbacks {
        std::function<void(Status)> onReady;
        std::function<void(const std::string& event, const nlohmann::json& data)> onEvent;
        std::function<void(const std::string& description)> onExit;
    };

    // Creates the monitor socket at `qmpPath`, starts `args` (which refer to the monitor as fd 3)
    // with output to `logPath`, and connects.
    static Result<std::unique_ptr<QemuVm>> launch(EventLoop& loop, const std::vector<std::string>& args,
                                                  const std::string& qmpPath, const std::string& logPath,
                                                  Callbacks callbacks);
    // Attaches to a QEMU started by an earlier hcsd (re-adoption).
    static Result<std::unique_ptr<QemuVm>> adopt(EventLoop& loop, pid_t pid, const std::string& qmpPath,
                                                 Callbacks callbacks);
    ~QemuVm();

    pid_t pid() const { return pid_; }
    bool exited() const { return exited_; }
    void execute(const std::string& command, const nlohmann::json& arguments, vm::QmpClient::ReplyHandler handler);
    // SIGKILL through the pidfd (no risk of hitting a recycled pid).
    void kill();

private:
    QemuVm(EventLoop& loop, pid_t pid, int pidfd, Callbacks callbacks);
    Status connectMonitor(const std::string& qmpPath);
    void onProcessExit();

    EventLoop& loop_;
    pid_t pid_;
    int pidfd_;
    Callbacks callbacks_;
    std::unique_ptr<vm::QmpClient> qmp_;
    bool exited_ = false;
};

}  // namespace hc::hcs::service
