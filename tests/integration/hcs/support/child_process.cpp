#include "support/child_process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace hcs_test {

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_), status_(other.status_)
{
    other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept
{
    if (this != &other) {
        killAndReap();
        pid_ = other.pid_;
        status_ = other.status_;
        other.pid_ = -1;
    }
    return *this;
}

ChildProcess::~ChildProcess()
{
    killAndReap();
}

void ChildProcess::killAndReap()
{
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    status_.reset();
}

ChildProcess ChildProcess::spawn(const std::vector<std::string>& argv, const Options& options)
{
    std::map<std::string, std::string> environment;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        std::string text = *entry;
        auto equals = text.find('=');
        if (equals != std::string::npos) {
            environment[text.substr(0, equals)] = text.substr(equals + 1);
        }
    }
    for (const auto& [name, value] : options.environment) {
        environment[name] = value;
    }
    std::vector<std::string> envText;
    for (const auto& [name, value] : environment) {
        envText.push_back(name + "=" + value);
    }
    std::vector<char*> envp;
    for (auto& text : envText) {
        envp.push_back(text.data());
    }
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> argp;
    for (auto& arg : args) {
        argp.push_back(arg.data());
    }
    argp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (!options.stdoutFile.empty()) {
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, options.stdoutFile.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    if (!options.stderrFile.empty()) {
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, options.stderrFile.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    // Its own process group, so that a test's SIGINT does not hit it and it can be cleaned up as a group.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
    ChildProcess child;
    int error = posix_spawnp(&child.pid_, argp[0], &actions, &attributes, argp.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (error != 0) {
        child.pid_ = -1;
        throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(error));
    }
    return child;
}

bool ChildProcess::running()
{
    return !wait(std::chrono::milliseconds(0));
}

void ChildProcess::signal(int sig)
{
    if (pid_ > 0 && !status_) {
        ::kill(pid_, sig);
    }
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout)
{
    if (status_ || pid_ <= 0) {
        return status_;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
        if (reaped == pid_) {
            status_ = status;
            return status_;
        }
        if (reaped < 0 && errno != EINTR) {
            status_ = -1;
            return status_;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

ProgramResult runProgram(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         const ChildProcess::Options& options)
{
    char directory[] = "/tmp/hcs-it-run.XXXXXX";
    if (::mkdtemp(directory) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    ChildProcess::Options captured = options;
    captured.stdoutFile = std::string(directory) + "/out";
    captured.stderrFile = std::string(directory) + "/err";
    ProgramResult result;
    {
        ChildProcess child = ChildProcess::spawn(argv, captured);
        auto status = child.wait(timeout);
        if (status && WIFEXITED(*status)) {
            result.exitCode = WEXITSTATUS(*status);
        }
    }
    result.out = readFile(captured.stdoutFile);
    result.err = readFile(captured.stderrFile);
    ::unlink(captured.stdoutFile.c_str());
    ::unlink(captured.stderrFile.c_str());
    ::rmdir(directory);
    return result;
}

}  // namespace hcs_test
