#include "hcs/container/container_vm.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "base/hresult.h"
#include "base/log.h"
#include "hcs/container/rootfs.h"
#include "hcs/vm/qemu_process.h"

namespace hc::hcs::container {

using nlohmann::json;

namespace {

std::string readFirstLine(const std::string& path)
{
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

void writeFile(const std::string& path, const char* text)
{
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t ignored = write(fd, text, strlen(text));
    (void)ignored;
    close(fd);
}

std::string describeStatus(const siginfo_t& info)
{
    if (info.si_code == CLD_EXITED) return "its init exited with code " + std::to_string(info.si_status);
    return "its init was killed by signal " + std::to_string(info.si_status);
}

}  // namespace

ContainerVm::ContainerVm(EventLoop& loop, const OciRuntime& runtime, ContainerPaths paths, vm::VmCallbacks callbacks)
    : loop_(loop), runtime_(runtime), paths_(std::move(paths)), callbacks_(std::move(callbacks)), commands_(loop)
{
}

ContainerVm::~ContainerVm()
{
    if (pidfd_.valid()) loop_.unwatchFd(pidfd_.get());
    if (execFifo_.valid()) loop_.unwatchFd(execFifo_.get());
}

std::unique_ptr<ContainerVm> ContainerVm::create(EventLoop& loop, const OciRuntime& runtime, ContainerPaths paths,
                                                 UniqueFd agentListener, vm::VmCallbacks callbacks)
{
    std::unique_ptr<ContainerVm> vm(new ContainerVm(loop, runtime, std::move(paths), std::move(callbacks)));
    const auto& p = vm->paths_;
    ContainerVm* raw = vm.get();
    vm->createCommand_ =
        vm->commands_.run(runtime.command({"create", "--bundle", p.bundle, "--pid-file", p.bundle + "/init.pid",
                                           "--preserve-fds", "1", p.containerId}),
                          agentListener.get(), p.logPath, [raw](Result<int> code) { raw->created(std::move(code)); });
    return vm;
}

Result<std::unique_ptr<ContainerVm>> ContainerVm::adopt(EventLoop& loop, const OciRuntime& runtime,
                                                        ContainerPaths paths, pid_t pid, bool started,
                                                        vm::VmCallbacks callbacks)
{
    std::unique_ptr<ContainerVm> vm(new ContainerVm(loop, runtime, std::move(paths), std::move(callbacks)));
    vm->started_ = started;
    if (Status st = vm->watchInit(pid); !st) return st.error();
    ContainerVm* raw = vm.get();
    loop.post([raw] {
        if (raw->callbacks_.onReady && !raw->dying_) raw->callbacks_.onReady({});
    });
    return vm;
}

void ContainerVm::created(Result<int> exitCode)
{
    createCommand_ = 0;
    std::string why;
    if (!exitCode) {
        why = "the OCI runtime failed: " + exitCode.error().message;
    } else if (*exitCode != 0) {
        why = runtime_.binary + " create exited with code " + std::to_string(*exitCode);
    } else if (killed_) {
        why = "killed while it was being created";
    } else {
        pid_t pid = static_cast<pid_t>(std::atol(readFirstLine(paths_.bundle + "/init.pid").c_str()));
        Status st = pid > 0 ? watchInit(pid) : makeError(E_FAIL, "the runtime wrote no init pid");
        if (st) {
            if (callbacks_.onReady) callbacks_.onReady({});
            return;
        }
        why = st.error().message;
    }
    // Nothing (or a half-made container) exists: clean up, then the creation has failed.
    dying_ = true;
    finishExit(why);
}

Status ContainerVm::watchInit(pid_t pid)
{
    auto pidfd = vm::openPidfd(pid);
    if (!pidfd) return pidfd.error();
    pid_ = pid;
    pidfd_.reset(*pidfd);
    loop_.watchFd(pidfd_.get(), POLLIN, [this](short) { initExited(); });
    return {};
}

void ContainerVm::initExited()
{
    loop_.unwatchFd(pidfd_.get());
    // hcsd is a child subreaper (hcsd's main), so the init it created is its child: reap it. An init
    // a previous hcsd created is not, and its status is unknown.
    siginfo_t info{};
    std::string how = "its init exited";
    if (waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG) == 0 && info.si_pid != 0) {
        how = describeStatus(info);
        if (powerdown_ && info.si_code == CLD_EXITED && info.si_status == 0 && callbacks_.onEvent) {
            callbacks_.onEvent("SHUTDOWN", {{"guest", true}, {"reason", "guest-shutdown"}});
        }
    }
    dying_ = true;
    finishExit(how);
}

void ContainerVm::finishExit(const std::string& description)
{
    if (execFifo_.valid()) {  // a start still waiting: answered with the other pending commands below
        loop_.unwatchFd(execFifo_.get());
        execFifo_.reset();
    }
    // Cgroups and the runtime's state go first; the root file system is unmounted once no process
    // of the container can still be inside it.
    commands_.run(runtime_.command({"delete", "--force", paths_.containerId}), -1, paths_.logPath,
                  [this, description](Result<int> code) {
                      if (!code || *code != 0) {
                          HC_LOG(Warn, "hcsd",
                                 "container " + paths_.containerId + ": " + runtime_.binary + " delete failed; see " +
                                     paths_.logPath);
                      }
                      unmountRootfs(paths_.rootfs);
                      exited_ = true;
                      auto pending = std::move(pending_);
                      pending_.clear();
                      for (auto& [id, handler] : pending)
                          handler(makeError(HCS_E_CONNECTION_CLOSED, "the container is gone (" + description + ")"));
                      if (callbacks_.onExit) callbacks_.onExit(description);
                  });
}

uint64_t ContainerVm::execute(const std::string& command, const json&, vm::ReplyHandler handler)
{
    if (dying_ || exited_) {
        uint64_t id = nextCommand_++;
        loop_.post([handler = std::move(handler)] {
            handler(makeError(HCS_E_CONNECTION_CLOSED, "the container is stopping"));
        });
        return id;
    }
    if (command == "cont") {
        if (!started_) return start(std::move(handler));
        return runVerb("resume", std::move(handler));
    }
    if (command == "stop") return runVerb("pause", std::move(handler));
    uint64_t id = nextCommand_++;
    pending_[id] = std::move(handler);
    Result<json> reply = json::object();
    if (command == "query-status") {
        reply = json{{"status", !started_ ? "prelaunch" : frozen() ? "paused" : "running"}};
    } else if (command == "quit") {
        kill();
    } else if (command == "system_powerdown") {
        powerdown_ = true;
        if (pidfd_.valid()) syscall(SYS_pidfd_send_signal, pidfd_.get(), started_ ? SIGTERM : SIGKILL, nullptr, 0);
    } else {
        reply = makeError(E_NOTIMPL, "\"" + command + "\" is not a container operation");
    }
    loop_.post([this, id, reply = std::move(reply)]() mutable { answer(id, std::move(reply)); });
    return id;
}

uint64_t ContainerVm::start(vm::ReplyHandler handler)
{
    uint64_t id = nextCommand_++;
    pending_[id] = std::move(handler);
    if (!startThroughExecFifo(id)) {
        vm::ReplyHandler waiting = std::move(pending_[id]);
        pending_.erase(id);
        return runVerb("start", std::move(waiting), [this] { started_ = true; });
    }
    return id;
}

bool ContainerVm::startThroughExecFifo(uint64_t command)
{
    if (execFifo_.valid() || runtime_.root.empty()) return false;
    const std::string fifo = runtime_.root + "/" + paths_.containerId + "/exec.fifo";
    struct stat st {};
    if (lstat(fifo.c_str(), &st) != 0 || !S_ISFIFO(st.st_mode)) return false;
    // Non-blocking: the open succeeds at once, and the init (blocked opening the fifo for writing) goes on.
    int fd = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return false;
    execFifo_.reset(fd);
    loop_.watchFd(fd, POLLIN, [this, command](short) { execFifoReadable(command); });
    return true;
}

void ContainerVm::execFifoReadable(uint64_t command)
{
    char byte = 0;
    ssize_t n = read(execFifo_.get(), &byte, 1);
    if (n < 0 && errno == EAGAIN) return;  // woken without data: wait for the init's byte
    loop_.unwatchFd(execFifo_.get());
    execFifo_.reset();
    unlink((runtime_.root + "/" + paths_.containerId + "/exec.fifo").c_str());
    if (n == 1) {
        started_ = true;
        return answer(command, json::object());
    }
    // The init closed the fifo without its byte: it failed before it could run the process (its exit,
    // watched through its pidfd, ends the container too).
    answer(command, makeError(HCS_E_UNEXPECTED_EXIT, "the container's init did not start (see " + paths_.logPath + ")"));
}

uint64_t ContainerVm::runVerb(const std::string& verb, vm::ReplyHandler handler, std::function<void()> onSuccess)
{
    uint64_t id = nextCommand_++;
    pending_[id] = std::move(handler);
    commands_.run(runtime_.command({verb, paths_.containerId}), -1, paths_.logPath,
                  [this, id, verb, onSuccess = std::move(onSuccess)](Result<int> code) {
                      if (code && *code == 0) {
                          if (onSuccess) onSuccess();
                          return answer(id, json::object());
                      }
                      std::string tail = vm::tailOfFile(paths_.logPath, 300);
                      answer(id,
                             makeError(HCS_E_UNEXPECTED_EXIT, runtime_.binary + " " + verb + " failed" +
                                                                  (code ? " (exit code " + std::to_string(*code) + ")"
                                                                        : ": " + code.error().message) +
                                                                  (tail.empty() ? "" : ": " + tail)));
                  });
    return id;
}

void ContainerVm::answer(uint64_t command, Result<json> reply)
{
    auto it = pending_.find(command);
    if (it == pending_.end()) return;
    vm::ReplyHandler handler = std::move(it->second);
    pending_.erase(it);
    handler(std::move(reply));
}

void ContainerVm::kill()
{
    killed_ = true;
    if (createCommand_) commands_.kill(createCommand_);
    if (pidfd_.valid() && !dying_) {
        syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
        thaw();  // a frozen init would not die until thawed
    }
}

bool ContainerVm::frozen() const
{
    std::string v1 = readFirstLine("/sys/fs/cgroup/freezer" + paths_.cgroupsPath + "/freezer.state");
    if (!v1.empty()) return v1 != "THAWED";
    return readFirstLine("/sys/fs/cgroup" + paths_.cgroupsPath + "/cgroup.freeze") == "1";
}

void ContainerVm::thaw() const
{
    writeFile("/sys/fs/cgroup/freezer" + paths_.cgroupsPath + "/freezer.state", "THAWED");
    writeFile("/sys/fs/cgroup" + paths_.cgroupsPath + "/cgroup.freeze", "0");
}

}  // namespace hc::hcs::container
