#include "provider_process.h"

#include "virtualization_root.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace projfs_test {

std::string buildDir()
{
    const char* dir = std::getenv("HOSTCOMPUTE_BUILD_DIR");
    if (!dir) throw std::runtime_error("HOSTCOMPUTE_BUILD_DIR is not set (run through ctest)");
    return dir;
}

ProviderProcess::ProviderProcess(std::vector<std::string> argv, std::string mountPoint)
    : mountPoint_(std::move(mountPoint))
{
    int pipeFds[2];
    if (pipe2(pipeFds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (auto& arg : argv)
        args.push_back(arg.data());
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(pipeFds[1]);
    output_ = pipeFds[0];
    if (rc != 0) {
        pid_ = -1;
        throw std::runtime_error("cannot run " + argv[0] + ": " + strerror(rc));
    }
}

ProviderProcess::~ProviderProcess()
{
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    for (int i = 0; i < 3 && !crashed_ && isMounted(mountPoint_); ++i)
        umount2(mountPoint_.c_str(), MNT_DETACH);
    if (output_ >= 0) close(output_);
}

void ProviderProcess::crash()
{
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    crashed_ = true;
}

bool ProviderProcess::waitForLine(const std::string& text, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (seen_.find(text) == std::string::npos) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{output_, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char buffer[512];
        ssize_t n = read(output_, buffer, sizeof(buffer));
        if (n <= 0) return false;
        seen_.append(buffer, static_cast<size_t>(n));
    }
    return true;
}

std::optional<int> ProviderProcess::stop(std::chrono::milliseconds timeout)
{
    if (pid_ <= 0) return std::nullopt;
    kill(pid_, SIGTERM);
    auto status = waitChild(pid_, timeout);
    if (status) pid_ = -1;
    return status;
}

}  // namespace projfs_test
