#include "hcs/client/hcsd_launcher.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "base/hresult.h"
#include "hcs/ipc/unix_socket.h"

extern char** environ;

namespace hc::hcs {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kStartTimeout = std::chrono::seconds(20);  // includes hcsd's first accelerator probe

Error notAvailable(const std::string& why)
{
    return makeError(HCS_E_SERVICE_NOT_AVAILABLE, why);
}

bool isExecutable(const std::string& path)
{
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// Why `hcsdPath` cannot be run, or "" when it can (a bare name is left to the PATH search).
std::string unusableBinary(const std::string& hcsdPath)
{
    if (hcsdPath.find('/') == std::string::npos) return {};
    const bool fromEnvironment = std::getenv("HCSD_PATH") && hcsdPath == std::getenv("HCSD_PATH");
    const std::string name = (fromEnvironment ? "HCSD_PATH=" : "") + hcsdPath;
    struct stat st {};
    if (stat(hcsdPath.c_str(), &st) != 0) return name + " does not exist";
    if (!S_ISREG(st.st_mode)) return name + " is not a regular file";
    if (access(hcsdPath.c_str(), X_OK) != 0) return name + " is not executable";
    return {};
}

// The child between fork and exec: only async-signal-safe calls. stdio becomes /dev/null and every
// other descriptor is closed, so hcsd (and the QEMUs it starts) hold nothing of the caller's — a pipe
// the caller waits on reaches EOF when the caller closes it.
[[noreturn]] void execHcsd(const char* path, char* const argv[], bool searchPath)
{
    int devnull = open("/dev/null", O_RDWR);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0) _exit(126);
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
        for (int fd = 3; fd < 65536; ++fd)  // kernels before 5.9
            close(fd);
    }
    if (searchPath) {
        execvp(path, argv);
    } else {
        execve(path, argv, environ);
    }
    _exit(127);
}

// The foreground half of hcsd exits once the daemon listens (0) or failed (non-zero).
Status waitForForegroundHalf(pid_t pid, const std::string& hcsdPath, const std::string& socketPath,
                             Clock::time_point deadline)
{
    int status = 0;
    while (true) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) return notAvailable("cannot wait for " + hcsdPath + ": " + std::strerror(errno));
        if (Clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return notAvailable(hcsdPath + " did not start listening on " + socketPath + " within 20 s");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return notAvailable("cannot run " + hcsdPath +
                            " (not found or not executable; set HCSD_PATH to the hcsd binary)");
    if (WIFSIGNALED(status))
        return notAvailable(hcsdPath + " was killed by signal " + std::to_string(WTERMSIG(status)) + " while starting");
    return notAvailable(hcsdPath + " failed to start: it exited with status " + std::to_string(WEXITSTATUS(status)) +
                        " (see " + socketPath + ".state/hcsd.log)");
}

}  // namespace

std::string locateHcsd()
{
    const char* env = std::getenv("HCSD_PATH");
    if (env && env[0]) return env;
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&locateHcsd), &info) && info.dli_fname) {
        char resolved[PATH_MAX];
        std::string self = realpath(info.dli_fname, resolved) ? resolved : info.dli_fname;
        std::string dir = self.substr(0, self.rfind('/'));
        // Installed: <prefix>/lib/libcomputecore.so -> <prefix>/bin/hcsd. Build tree:
        // <build>/src/hcs/libcomputecore.so or <build>/tests/... -> <build>/tools/hcsd/hcsd.
        for (int up = 0; up < 5 && !dir.empty(); ++up) {
            for (const char* candidate : {"/hcsd", "/bin/hcsd", "/tools/hcsd/hcsd"}) {
                if (isExecutable(dir + candidate)) return dir + candidate;
            }
            size_t slash = dir.rfind('/');
            if (slash == std::string::npos) break;
            dir.resize(slash);
        }
    }
    return "hcsd";
}

Status startPrivateHcsd(const std::string& hcsdPath, const std::string& socketPath)
{
    if (std::string why = unusableBinary(hcsdPath); !why.empty())
        return notAvailable("cannot start hcsd: " + why + " (set HCSD_PATH to the hcsd binary)");
    std::string lockPath = socketPath + ".start.lock";
    // O_NOFOLLOW: the directory is trusted, but a link planted before it was would not be.
    int lockFd = open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lockFd < 0) return notAvailable("cannot open " + lockPath + ": " + std::strerror(errno));
    struct stat lockStat {};
    if (fstat(lockFd, &lockStat) != 0 || lockStat.st_uid != geteuid()) {
        close(lockFd);
        return notAvailable(lockPath + " belongs to uid " + std::to_string(lockStat.st_uid) + ", not to this user");
    }
    auto deadline = Clock::now() + kStartTimeout;
    while (flock(lockFd, LOCK_EX | LOCK_NB) != 0) {
        if (Clock::now() > deadline) {
            close(lockFd);
            return notAvailable("timed out waiting for another process starting hcsd at " + socketPath);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // Someone else may have started it while we waited for the lock.
    if (auto fd = connectUnixSocket(socketPath)) {
        close(*fd);
        close(lockFd);
        return {};
    }
    std::vector<std::string> args{hcsdPath, "--socket", socketPath, "--idle-exit", "300"};
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const bool searchPath = hcsdPath.find('/') == std::string::npos;
    pid_t pid = fork();
    if (pid == 0) execHcsd(hcsdPath.c_str(), argv.data(), searchPath);
    Status result = pid < 0 ? Status(notAvailable(std::string("cannot fork to start hcsd: ") + std::strerror(errno)))
                            : waitForForegroundHalf(pid, hcsdPath, socketPath, deadline);
    close(lockFd);
    return result;
}

}  // namespace hc::hcs
