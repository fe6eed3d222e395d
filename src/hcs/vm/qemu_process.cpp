#include "hcs/vm/qemu_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/hresult.h"

namespace hc::hcs::vm {

void closeDescriptorsFrom(int first, int keep)
{
    auto closeRange = [](unsigned from, unsigned to) {
        if (from > to) return;
        if (syscall(SYS_close_range, from, to, 0) == 0) return;
        long limit = sysconf(_SC_OPEN_MAX);
        for (long fd = from; fd < limit && fd <= static_cast<long>(to); ++fd)
            close(static_cast<int>(fd));
    };
    if (keep >= first) {
        closeRange(static_cast<unsigned>(first), static_cast<unsigned>(keep) - 1);
        closeRange(static_cast<unsigned>(keep) + 1, ~0U);
    } else {
        closeRange(static_cast<unsigned>(first), ~0U);
    }
}

Result<int> openPidfd(pid_t pid)
{
    int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) return lastErrnoError("pidfd_open(" + std::to_string(pid) + ")");
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

Result<StartedProcess> startProcess(const std::vector<std::string>& args, int inheritFd, const std::string& logPath)
{
    if (args.empty()) return makeError(E_INVALIDARG, "empty command line");
    int logFd = open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logFd < 0) return lastErrnoError("cannot open " + logPath);
    std::vector<char*> argv;
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    // An error pipe tells the parent whether exec worked (it closes on exec: CLOEXEC).
    int errPipe[2];
    if (pipe2(errPipe, O_CLOEXEC) != 0) {
        close(logFd);
        return lastErrnoError("pipe");
    }
    pid_t pid = fork();
    if (pid < 0) {
        Error e = lastErrnoError("fork");
        close(logFd);
        close(errPipe[0]);
        close(errPipe[1]);
        return e;
    }
    if (pid == 0) {
        // Child: only async-signal-safe calls until exec.
        setsid();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        signal(SIGPIPE, SIG_DFL);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(logFd, 1);
        dup2(logFd, 2);
        if (inheritFd >= 0) {
            if (inheritFd == 3) {
                fcntl(3, F_SETFD, 0);
            } else {
                dup2(inheritFd, 3);  // dup2 clears close-on-exec on the copy
            }
        }
        // Nothing else of hcsd's crosses exec: CLOEXEC covers what hcsd opened itself, this also
        // covers what it inherited. The error pipe stays (it closes on exec by itself).
        closeDescriptorsFrom(inheritFd >= 0 ? 4 : 3, errPipe[1]);
        execvp(argv[0], argv.data());
        int err = errno;
        ssize_t ignored = write(errPipe[1], &err, sizeof err);
        (void)ignored;
        _exit(127);
    }
    close(logFd);
    close(errPipe[1]);
    int childErr = 0;
    ssize_t n;
    do {
        n = read(errPipe[0], &childErr, sizeof childErr);
    } while (n < 0 && errno == EINTR);
    close(errPipe[0]);
    if (n == sizeof childErr) {
        waitpid(pid, nullptr, 0);
        return makeError(hresultFromErrno(childErr), "cannot run " + args[0] + ": " + std::strerror(childErr));
    }
    auto pidfd = openPidfd(pid);
    if (!pidfd) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        return pidfd.error();
    }
    return StartedProcess{pid, *pidfd};
}

std::vector<pid_t> findProcessesWithArgument(const std::string& argument)
{
    std::vector<pid_t> found;
    DIR* proc = opendir("/proc");
    if (!proc) return found;
    while (dirent* entry = readdir(proc)) {
        char* end = nullptr;
        long pid = std::strtol(entry->d_name, &end, 10);
        if (pid <= 0 || !end || *end) continue;
        std::string base = "/proc/" + std::string(entry->d_name);
        // Only our own processes: anyone can put hcsd's spawn token on a command line of theirs.
        struct stat owner {};
        if (::stat(base.c_str(), &owner) != 0 || owner.st_uid != ::geteuid()) continue;
        std::ifstream cmdlineFile(base + "/cmdline", std::ios::binary);
        std::string cmdline((std::istreambuf_iterator<char>(cmdlineFile)), std::istreambuf_iterator<char>());
        bool match = false;
        for (size_t start = 0; start < cmdline.size() && !match;) {
            size_t nul = cmdline.find('\0', start);
            if (nul == std::string::npos) nul = cmdline.size();
            match = cmdline.compare(start, nul - start, argument) == 0;
            start = nul + 1;
        }
        if (!match) continue;
        std::ifstream statFile(base + "/stat");
        std::string stat((std::istreambuf_iterator<char>(statFile)), std::istreambuf_iterator<char>());
        size_t paren = stat.rfind(')');
        if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z') continue;
        found.push_back(static_cast<pid_t>(pid));
    }
    closedir(proc);
    return found;
}

void killProcess(pid_t pid)
{
    auto pidfd = openPidfd(pid);
    if (!pidfd) return;  // already gone
    syscall(SYS_pidfd_send_signal, *pidfd, SIGKILL, nullptr, 0);
    close(*pidfd);
}

std::string reapProcess(pid_t pid)
{
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r != pid) return "";
    if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "";
}

Result<ProcessStats> readProcessStats(pid_t pid)
{
    ProcessStats stats;
    std::string base = "/proc/" + std::to_string(pid);
    std::ifstream statFile(base + "/stat");
    std::string stat((std::istreambuf_iterator<char>(statFile)), std::istreambuf_iterator<char>());
    // The command name (field 2) may contain spaces and ')'; fields after the last ')' are fixed.
    size_t close = stat.rfind(')');
    if (close == std::string::npos) return makeError(HCS_E_SYSTEM_NOT_FOUND, "cannot read " + base + "/stat");
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    uint64_t utime = 0, stime = 0;
    // After ')': state(3) ppid(4) ... utime(14) stime(15).
    for (int index = 3; index <= 15 && (fields >> field); ++index) {
        if (index == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
        if (index == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
    }
    const uint64_t hz = static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
    stats.userTime100ns = utime * 10000000ULL / hz;
    stats.kernelTime100ns = stime * 10000000ULL / hz;
    std::ifstream status(base + "/status");
    std::string line;
    while (std::getline(status, line)) {
        auto kb = [&](const char* key, uint64_t& out) {
            size_t len = std::strlen(key);
            if (line.compare(0, len, key) == 0) out = std::strtoull(line.c_str() + len, nullptr, 10) * 1024;
        };
        kb("VmRSS:", stats.residentBytes);
        kb("VmHWM:", stats.peakResidentBytes);
        kb("RssAnon:", stats.anonymousBytes);
        kb("VmSize:", stats.virtualBytes);
    }
    return stats;
}

std::string tailOfFile(const std::string& path, size_t maxBytes)
{
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() > maxBytes) text = "..." + text.substr(text.size() - maxBytes);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.pop_back();
    return text;
}

}  // namespace hc::hcs::vm
