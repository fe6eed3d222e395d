#include "process_launcher.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "base/hresult.h"

namespace hc::guest_agent {

namespace {

std::optional<uint32_t> parseNumber(const std::string& text)
{
    if (text.empty() || text.size() > 10) return std::nullopt;
    uint64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > 0xfffffffeULL) return std::nullopt;  // (uid_t)-1 means "unchanged" to setuid and friends
    return static_cast<uint32_t>(v);
}

struct PasswdEntry {
    std::string name;
    uid_t uid;
    gid_t gid;
};

std::vector<PasswdEntry> readPasswd(const std::string& path)
{
    std::vector<PasswdEntry> entries;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> fields;
        std::stringstream ss(line);
        std::string field;
        while (std::getline(ss, field, ':'))
            fields.push_back(field);
        if (fields.size() < 4) continue;
        auto uid = parseNumber(fields[2]);
        auto gid = parseNumber(fields[3]);
        if (!uid || !gid) continue;
        entries.push_back(PasswdEntry{fields[0], *uid, *gid});
    }
    return entries;
}

// What the child reports when it fails before exec.
enum class ChildStep : int { Session = 1, Terminal, Stdio, Directory, Groups, Gid, Uid, Exec };

struct ChildFailure {
    int step;
    int err;
};

[[noreturn]] void childFail(int reportFd, ChildStep step)
{
    ChildFailure failure{static_cast<int>(step), errno};
    ssize_t ignored = write(reportFd, &failure, sizeof failure);
    (void)ignored;
    _exit(127);
}

// Everything the child needs, prepared before vfork: it reads these and makes system calls, nothing else.
struct ChildPlan {
    int reportFd = -1;
    const char* slavePath = nullptr;  // a console: the pty to make the controlling terminal and stdio
    int in = -1, out = -1, err = -1;  // otherwise: stdin, stdout, stderr
    const char* cwd = "/";
    bool switchUser = false;
    Credentials creds;
    const char* const* paths = nullptr;  // candidates for argv[0], null-terminated
    char* const* argv = nullptr;
    char* const* envp = nullptr;
};

[[noreturn]] __attribute__((noinline)) void runChild(const ChildPlan& plan)
{
    int reportFd = plan.reportFd;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig)
        signal(sig, SIG_DFL);
    if (setsid() < 0) childFail(reportFd, ChildStep::Session);
    int sources[3] = {plan.in, plan.out, plan.err};
    if (plan.slavePath) {
        int slave = open(plan.slavePath, O_RDWR);  // the session leader's first tty: its controlling one
        if (slave < 0) childFail(reportFd, ChildStep::Terminal);
        if (ioctl(slave, TIOCSCTTY, 0) < 0) childFail(reportFd, ChildStep::Terminal);
        sources[0] = sources[1] = sources[2] = slave;
    }
    // dup2 onto 0..2 (clears close-on-exec); a source that is itself 0..2 is first moved away.
    for (int& fd : sources) {
        if (fd <= 2) {
            fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
            if (fd < 0) childFail(reportFd, ChildStep::Stdio);
        }
    }
    for (int i = 0; i < 3; ++i) {
        if (dup2(sources[i], i) < 0) childFail(reportFd, ChildStep::Stdio);
    }
    if (chdir(plan.cwd) != 0) childFail(reportFd, ChildStep::Directory);
    if (plan.switchUser) {
        // Raw system calls: libc's wrappers would apply the change to every thread of the parent too.
        if (syscall(SYS_setgroups, 0, nullptr) != 0) childFail(reportFd, ChildStep::Groups);
        if (syscall(SYS_setgid, plan.creds.gid) != 0) childFail(reportFd, ChildStep::Gid);
        if (syscall(SYS_setuid, plan.creds.uid) != 0) childFail(reportFd, ChildStep::Uid);
    }
    int execErr = ENOENT;
    for (const char* const* path = plan.paths; *path; ++path) {
        execve(*path, plan.argv, plan.envp);
        // Like execvp: a permission problem is reported unless a later entry succeeds.
        if (errno != ENOENT && errno != ENOTDIR) execErr = errno;
    }
    errno = execErr;
    childFail(reportFd, ChildStep::Exec);
}

// vfork: the child borrows the agent's memory until it execs, so nothing is copied or faulted in (under
// TCG, fork's page-table copy and copy-on-write faults were a large part of starting a small process).
// The child reports failures through the pipe, which also works where a sanitizer turns vfork into fork.
// Kept tiny: nothing in this frame is live across vfork but `plan`.
pid_t spawnChild(const ChildPlan& plan)
{
    pid_t pid = vfork();
    if (pid == 0) runChild(plan);
    return pid;
}

Error failureError(const ChildFailure& failure, const LaunchRequest& request)
{
    const std::string& program = request.argv[0];
    switch (static_cast<ChildStep>(failure.step)) {
        case ChildStep::Exec:
            if (failure.err == ENOENT)
                return makeError(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND),
                                 "'" + program + "' was not found in the guest");
            if (failure.err == EACCES)
                return makeError(E_ACCESSDENIED, "'" + program + "' is not executable in the guest");
            return errnoError(failure.err, "exec '" + program + "'");
        case ChildStep::Directory:
            return makeError(HRESULT_FROM_WIN32(ERROR_DIRECTORY),
                             "WorkingDirectory '" + request.workingDirectory + "': " + std::strerror(failure.err));
        case ChildStep::Groups:
        case ChildStep::Gid:
        case ChildStep::Uid:
            return makeError(E_ACCESSDENIED, "switching to user '" + request.user + "': " + std::strerror(failure.err));
        default:
            return errnoError(failure.err, "setting up the process's session or stdio");
    }
}

// The candidate paths for argv[0], like execvp: as is with a '/', else each PATH entry.
std::vector<std::string> candidates(const LaunchRequest& request)
{
    const std::string& program = request.argv[0];
    if (program.find('/') != std::string::npos) return {program};
    std::string path;
    bool found = false;
    for (const auto& [name, value] : request.environment) {
        if (name == "PATH") {
            path = value;
            found = true;
        }
    }
    if (!found) {
        const char* own = std::getenv("PATH");
        path = own ? own : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    }
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        out.push_back((dir.empty() ? std::string(".") : dir) + "/" + program);
        start = end + 1;
    }
    return out;
}

void setNonBlocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// An output pipe holds one credit window, so the process can write a window ahead of the agent instead
// of waiting for it every 64 KiB (best effort: the pipe keeps its default size if this fails).
void enlargeOutputPipe(int fd)
{
    (void)fcntl(fd, F_SETPIPE_SZ, static_cast<int>(hcs::guest::wire::kStreamWindow));
}

}  // namespace

Result<Credentials> resolveUser(const std::string& user, const std::string& passwdPath)
{
    Credentials creds{getuid(), getgid()};
    if (user.empty()) return creds;
    auto colon = user.find(':');
    std::string uidText = user.substr(0, colon);
    if (auto uid = parseNumber(uidText)) {
        creds.uid = *uid;
        creds.gid = *uid;
        for (const auto& entry : readPasswd(passwdPath)) {
            if (entry.uid == creds.uid) {
                creds.gid = entry.gid;
                break;
            }
        }
        if (colon != std::string::npos) {
            auto gid = parseNumber(user.substr(colon + 1));
            if (!gid) return makeError(E_INVALIDARG, "User '" + user + "': the group after ':' is not a number");
            creds.gid = *gid;
        }
        return creds;
    }
    if (colon != std::string::npos)
        return makeError(E_INVALIDARG, "User '" + user + "': expected a name or a numeric uid[:gid]");
    for (const auto& entry : readPasswd(passwdPath)) {
        if (entry.name == user) return Credentials{entry.uid, entry.gid};
    }
    return makeError(E_INVALIDARG, "User '" + user + "' is not in the guest's " + passwdPath);
}

Result<LaunchedProcess> launchProcess(const LaunchRequest& request, const std::string& passwdPath)
{
    if (request.argv.empty() || request.argv[0].empty()) return makeError(E_INVALIDARG, "argv[0] is empty");
    auto creds = resolveUser(request.user, passwdPath);
    if (!creds) return creds.error();

    // Everything the child needs is built before vfork (ChildPlan): the child only makes system calls.
    std::vector<std::string> paths = candidates(request);
    std::vector<std::string> envStrings;
    for (const auto& [name, value] : request.environment)
        envStrings.push_back(name + "=" + value);
    std::vector<char*> argv, envp;
    for (const auto& a : request.argv)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : envStrings)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    LaunchedProcess launched;
    UniqueFd childIn, childOut, childErr;  // the child's ends
    UniqueFd devNull(open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devNull.valid()) return lastErrnoError("open /dev/null");
    std::string slavePath;
    if (request.console) {
        launched.ptyMaster.reset(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
        if (!launched.ptyMaster.valid()) return lastErrnoError("posix_openpt");
        if (grantpt(launched.ptyMaster.get()) != 0 || unlockpt(launched.ptyMaster.get()) != 0)
            return lastErrnoError("unlockpt");
        char name[128];
        if (ptsname_r(launched.ptyMaster.get(), name, sizeof name) != 0) return lastErrnoError("ptsname_r");
        slavePath = name;
        winsize size{};
        size.ws_row = request.rows ? request.rows : 24;
        size.ws_col = request.columns ? request.columns : 80;
        ioctl(launched.ptyMaster.get(), TIOCSWINSZ, &size);
        launched.stdinFd.reset(fcntl(launched.ptyMaster.get(), F_DUPFD_CLOEXEC, 3));
        launched.stdoutFd.reset(fcntl(launched.ptyMaster.get(), F_DUPFD_CLOEXEC, 3));
        if (!launched.stdinFd.valid() || !launched.stdoutFd.valid()) return lastErrnoError("dup pty master");
        setNonBlocking(launched.stdinFd.get());  // one open file: both descriptors are non-blocking
    } else {
        auto makePipe = [](UniqueFd& readEnd, UniqueFd& writeEnd) -> bool {
            int fds[2];
            if (pipe2(fds, O_CLOEXEC) != 0) return false;
            readEnd.reset(fds[0]);
            writeEnd.reset(fds[1]);
            return true;
        };
        if (request.stdinPipe) {
            if (!makePipe(childIn, launched.stdinFd)) return lastErrnoError("pipe2");
            setNonBlocking(launched.stdinFd.get());
        }
        if (request.stdoutPipe) {
            if (!makePipe(launched.stdoutFd, childOut)) return lastErrnoError("pipe2");
            setNonBlocking(launched.stdoutFd.get());
            enlargeOutputPipe(launched.stdoutFd.get());
        }
        if (request.stderrPipe) {
            if (!makePipe(launched.stderrFd, childErr)) return lastErrnoError("pipe2");
            setNonBlocking(launched.stderrFd.get());
            enlargeOutputPipe(launched.stderrFd.get());
        }
    }
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return lastErrnoError("pipe2");
    UniqueFd reportRead(report[0]), reportWrite(report[1]);

    ChildPlan plan;
    plan.reportFd = reportWrite.get();
    plan.slavePath = request.console ? slavePath.c_str() : nullptr;
    plan.in = childIn.valid() ? childIn.get() : devNull.get();
    plan.out = childOut.valid() ? childOut.get() : devNull.get();
    plan.err = childErr.valid() ? childErr.get() : devNull.get();
    plan.cwd = request.workingDirectory.empty() ? "/" : request.workingDirectory.c_str();
    plan.switchUser = !request.user.empty();
    plan.creds = *creds;
    std::vector<const char*> pathList;
    for (const auto& path : paths)
        pathList.push_back(path.c_str());
    pathList.push_back(nullptr);
    plan.paths = pathList.data();
    plan.argv = argv.data();
    plan.envp = envp.data();
    pid_t pid = spawnChild(plan);
    if (pid < 0) return lastErrnoError("vfork");
    reportWrite.reset();
    childIn.reset();
    childOut.reset();
    childErr.reset();
    ChildFailure failure{};
    ssize_t n;
    do {
        n = read(reportRead.get(), &failure, sizeof failure);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof failure)) {
        waitpid(pid, nullptr, 0);
        return failureError(failure, request);
    }
    launched.pid = pid;
    launched.pidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    if (!launched.pidfd.valid()) {
        Error error = lastErrnoError("pidfd_open");
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        return error;
    }
    return launched;
}

}  // namespace hc::guest_agent
