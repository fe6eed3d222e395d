#include "hcs/vm/qemu_vm.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/hresult.h"
#include "base/log.h"
#include "hcs/ipc/unix_socket.h"
#include "hcs/vm/qemu_process.h"

namespace hc::hcs::vm {

QemuVm::QemuVm(EventLoop& loop, pid_t pid, int pidfd, VmCallbacks callbacks)
    : loop_(loop), pid_(pid), pidfd_(pidfd), callbacks_(std::move(callbacks))
{
    loop_.watchFd(pidfd_, POLLIN, [this](short) { onProcessExit(); });
}

QemuVm::~QemuVm()
{
    if (qmp_) loop_.unwatchFd(qmp_->fd());
    loop_.unwatchFd(pidfd_);
    close(pidfd_);
}

Result<std::unique_ptr<QemuVm>> QemuVm::launch(EventLoop& loop, const LaunchRequest& request, VmCallbacks callbacks)
{
    unlink(request.qmpPath.c_str());  // inside the system's own new directory: only ever ours
    auto listenFd = listenUnixSocket(request.qmpPath, 4);
    if (!listenFd) return listenFd.error();
    auto process = startProcess(request.args, *listenFd, request.logPath);
    if (!process) {
        close(*listenFd);
        return process.error();
    }
    std::unique_ptr<QemuVm> qemu(new QemuVm(loop, process->pid, process->pidfd, std::move(callbacks)));
    // Connecting now is safe: the kernel queues us in the listen backlog until QEMU accepts.
    Status st = qemu->connectMonitor(request.qmpPath);
    close(*listenFd);  // QEMU holds its own copy
    if (!st) {
        qemu->kill();
        waitpid(qemu->pid(), nullptr, 0);
        return st.error();
    }
    return qemu;
}

Result<std::unique_ptr<QemuVm>> QemuVm::adopt(EventLoop& loop, pid_t pid, const std::string& qmpPath,
                                              VmCallbacks callbacks)
{
    auto pidfd = openPidfd(pid);
    if (!pidfd) return pidfd.error();
    std::unique_ptr<QemuVm> qemu(new QemuVm(loop, pid, *pidfd, std::move(callbacks)));
    if (Status st = qemu->connectMonitor(qmpPath); !st) return st.error();
    return qemu;
}

Status QemuVm::connectMonitor(const std::string& qmpPath)
{
    auto fd = connectUnixSocket(qmpPath);
    if (!fd) return fd.error();
    qmp_ = std::make_unique<QmpClient>(
        *fd,
        [this](Status st) {
            if (callbacks_.onReady) callbacks_.onReady(st);
        },
        [this](const std::string& event, const nlohmann::json& data) {
            if (callbacks_.onEvent) callbacks_.onEvent(event, data);
        });
    int qmpFd = *fd;
    loop_.watchFd(qmpFd, POLLIN, [this, qmpFd](short) {
        // EOF: QEMU is exiting (or closed the monitor); the pidfd reports the exit itself.
        if (!qmp_->onReadable()) loop_.unwatchFd(qmpFd);
    });
    return {};
}

uint64_t QemuVm::execute(const std::string& command, const nlohmann::json& arguments, ReplyHandler handler)
{
    if (!qmp_) {
        handler(makeError(HCS_E_CONNECTION_CLOSED, "no QEMU monitor connection"));
        return 0;
    }
    return qmp_->execute(command, arguments, std::move(handler));
}

uint64_t QemuVm::executeWithDescriptor(const std::string& command, const nlohmann::json& arguments, int descriptor,
                                       ReplyHandler handler)
{
    if (!qmp_) {
        handler(makeError(HCS_E_CONNECTION_CLOSED, "no QEMU monitor connection"));
        return 0;
    }
    return qmp_->execute(command, arguments, std::move(handler), descriptor);
}

void QemuVm::abandon(uint64_t command)
{
    if (qmp_) qmp_->abandon(command);
}

void QemuVm::kill()
{
    if (exited_) return;
    if (syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0) != 0) {
        HC_LOG(Warn, "hcsd", "cannot kill QEMU pid " + std::to_string(pid_));
    }
}

void QemuVm::onProcessExit()
{
    if (exited_) return;
    exited_ = true;
    loop_.unwatchFd(pidfd_);
    std::string description = reapProcess(pid_);
    if (qmp_) {
        loop_.unwatchFd(qmp_->fd());
        qmp_->failAll(makeError(HCS_E_CONNECTION_CLOSED, "QEMU exited"));
    }
    if (callbacks_.onExit) callbacks_.onExit(description);
}

Result<std::unique_ptr<Vm>> QemuLauncher::launch(const LaunchRequest& request, VmCallbacks callbacks)
{
    auto vm = QemuVm::launch(loop_, request, std::move(callbacks));
    if (!vm) return vm.error();
    return std::unique_ptr<Vm>(std::move(*vm));
}

Result<std::unique_ptr<Vm>> QemuLauncher::adopt(pid_t pid, const std::string& qmpPath, VmCallbacks callbacks)
{
    auto vm = QemuVm::adopt(loop_, pid, qmpPath, std::move(callbacks));
    if (!vm) return vm.error();
    return std::unique_ptr<Vm>(std::move(*vm));
}

std::vector<pid_t> QemuLauncher::findByArgument(const std::string& argument)
{
    return findProcessesWithArgument(argument);
}

void QemuLauncher::killProcess(pid_t pid)
{
    vm::killProcess(pid);
}

}  // namespace hc::hcs::vm
