#include "hcs/container/runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>
#include <cerrno>
#include <cstring>

#include "base/hresult.h"
#include "hcs/vm/qemu_process.h"

namespace hc::hcs::container {

std::vector<std::string> OciRuntime::command(const std::vector<std::string>& args) const
{
    std::vector<std::string> full{binary, "--root", root};
    full.insert(full.end(), args.begin(), args.end());
    return full;
}

namespace {

// Reads a descriptor to EOF.
std::string drain(int fd)
{
    std::string out;
    char buffer[4096];
    for (;;) {
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buffer, static_cast<size_t>(n));
    }
    return out;
}

bool unifiedCgroups()
{
    struct statfs fs {};
    return statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

}  // namespace

Result<std::string> runRuntimeSync(const std::vector<std::string>& args)
{
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0) return lastErrnoError("pipe");
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        return lastErrnoError("pipe");
    }
    std::vector<char*> argv;
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        vm::closeDescriptorsFrom(3);
        execvp(argv[0], argv.data());
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    if (pid < 0) {
        close(out[0]);
        close(err[0]);
        return lastErrnoError("fork");
    }
    // stderr is small (an error line); read stdout first, then stderr, without deadlocking on either.
    fcntl(err[0], F_SETPIPE_SZ, 1 << 20);
    std::string output = drain(out[0]);
    std::string errors = drain(err[0]);
    close(out[0]);
    close(err[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return output;
    while (!errors.empty() && (errors.back() == '\n' || errors.back() == ' '))
        errors.pop_back();
    return makeError(E_FAIL, args[0] + " " + (args.size() > 3 ? args[3] : std::string()) + " failed" +
                                 (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (not installed?)" : "") +
                                 (errors.empty() ? std::string() : ": " + errors));
}

Result<OciRuntime> probeRuntime(const std::string& preferred, const std::string& root)
{
    std::vector<std::pair<std::string, std::string>> candidates;
    if (!preferred.empty()) {
        candidates.push_back({preferred, "named by the administrator (--oci-runtime)"});
    } else if (unifiedCgroups()) {
        candidates.push_back({"crun", "crun: the faster runtime, on a unified cgroup hierarchy"});
        candidates.push_back({"runc", "runc: crun is not installed"});
    } else {
        candidates.push_back(
            {"runc", "runc: this host's cgroup layout is hybrid (v1 controllers), which crun refuses"});
    }
    std::string failures;
    for (const auto& [binary, reason] : candidates) {
        auto version = runRuntimeSync({binary, "--version"});
        if (!version) {
            failures += (failures.empty() ? "" : "; ") + version.error().message;
            continue;
        }
        OciRuntime runtime;
        runtime.binary = binary;
        runtime.version = version->substr(0, version->find('\n'));
        runtime.reason = reason;
        runtime.root = root;
        return runtime;
    }
    return makeError(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND),
                     "no OCI runtime for process-isolated containers (install runc): " + failures);
}

RuntimeCommands::~RuntimeCommands()
{
    for (auto& [id, command] : commands_) {
        loop_.unwatchFd(command.pidfd);
        close(command.pidfd);
    }
}

uint64_t RuntimeCommands::run(const std::vector<std::string>& args, int inheritFd, const std::string& logPath,
                              Done done)
{
    uint64_t id = next_++;
    auto started = vm::startProcess(args, inheritFd, logPath);
    if (!started) {
        loop_.post([done = std::move(done), error = started.error()] { done(error); });
        return id;
    }
    commands_[id] = Command{started->pid, started->pidfd, std::move(done)};
    loop_.watchFd(started->pidfd, POLLIN, [this, id](short) { finished(id); });
    return id;
}

void RuntimeCommands::kill(uint64_t id)
{
    auto it = commands_.find(id);
    if (it != commands_.end()) syscall(SYS_pidfd_send_signal, it->second.pidfd, SIGKILL, nullptr, 0);
}

void RuntimeCommands::finished(uint64_t id)
{
    auto it = commands_.find(id);
    if (it == commands_.end()) return;
    Command command = std::move(it->second);
    commands_.erase(it);
    loop_.unwatchFd(command.pidfd);
    close(command.pidfd);
    int status = 0;
    pid_t r;
    while ((r = waitpid(command.pid, &status, 0)) < 0 && errno == EINTR) {
    }
    if (r != command.pid) return command.done(makeError(E_FAIL, "the runtime's exit status is lost"));
    if (WIFEXITED(status)) return command.done(WEXITSTATUS(status));
    command.done(makeError(E_FAIL, "the runtime was killed by signal " + std::to_string(WTERMSIG(status))));
}

}  // namespace hc::hcs::container
