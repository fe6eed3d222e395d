#include "daemon_under_test.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

#include "hcsd_harness.h"
#include "support/qemu_processes.h"
#include "trust_support.h"

namespace hcsd_test {

using Clock = std::chrono::steady_clock;

DaemonUnderTest::DaemonUnderTest(DaemonOptions options) : options_(options)
{
    char directory[] = "/tmp/hcsd-trust.XXXXXX";
    if (::mkdtemp(directory) == nullptr) {
        ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
        return;
    }
    root_ = directory;
    socket_ = root_ + "/hcsd.sock";
    state_ = root_ + "/state";
    start();
}

bool DaemonUnderTest::start()
{
    std::vector<std::string> argv;
    if (options_.openFileLimit) {
        argv = {"prlimit", "--nofile=" + std::to_string(*options_.openFileLimit), "--"};
    }
    for (const std::string& arg : {hcsdBinary(), std::string("--foreground"), std::string("--socket"), socket_,
                                   std::string("--state-dir"), state_}) {
        argv.push_back(arg);
    }
    hcs_test::ChildProcess::Options spawnOptions;
    spawnOptions.environment = {{"HOSTCOMPUTE_LOG", "info"}, {"HCS_SOCKET", socket_}};
    log_ = root_ + "/hcsd-" + std::to_string(++starts_) + ".err";  // one per start: a restart keeps the first
    spawnOptions.stdoutFile = root_ + "/hcsd.out";
    spawnOptions.stderrFile = log_;
    // posix_spawn has no umask attribute; the child inherits ours. This process runs no other threads
    // while it starts hcsd, so changing its umask for the spawn affects nothing else.
    mode_t previous = 0;
    if (options_.umask) previous = ::umask(*options_.umask);
    try {
        process_ = hcs_test::ChildProcess::spawn(argv, spawnOptions);
    } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
    }
    if (options_.umask) ::umask(previous);

    auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
        if (int probe = connectTo(socket_); probe >= 0) {
            ::close(probe);
            return true;
        }
        if (!running()) {
            ADD_FAILURE() << "hcsd " << status() << " during start-up; log:\n" << logTail();
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "hcsd did not accept connections on " << socket_ << " within 30 s; log:\n" << logTail();
    return false;
}

void DaemonUnderTest::signal(int sig)
{
    process_.signal(sig);
}

bool DaemonUnderTest::waitExit(std::chrono::milliseconds timeout)
{
    return process_.wait(timeout).has_value();
}

bool DaemonUnderTest::running()
{
    return process_.pid() > 0 && process_.running();
}

std::string DaemonUnderTest::status()
{
    auto status = process_.wait(std::chrono::milliseconds(0));
    if (!status) return process_.pid() > 0 ? "running" : "not started";
    if (WIFEXITED(*status)) return "exited with status " + std::to_string(WEXITSTATUS(*status));
    if (WIFSIGNALED(*status)) {
        const char* name = sigabbrev_np(WTERMSIG(*status));
        return "killed by signal " + std::to_string(WTERMSIG(*status)) + " (SIG" + (name ? name : "?") + ")";
    }
    return "ended with wait status " + std::to_string(*status);
}

std::string DaemonUnderTest::logTail(size_t lines) const
{
    std::string text = hcs_test::readFile(log_);
    size_t start = text.size();
    for (size_t seen = 0; start > 0; --start) {
        if (text[start - 1] == '\n' && ++seen > lines) break;  // the first one seen ends the last line
    }
    return text.substr(start);
}

std::vector<pid_t> DaemonUnderTest::qemuPids() const
{
    return root_.empty() ? std::vector<pid_t>{} : hcs_test::qemuProcessesMentioning(root_);
}

DaemonUnderTest::~DaemonUnderTest()
{
    if (root_.empty()) return;
    if (running()) {
        process_.signal(SIGTERM);
        if (!process_.wait(std::chrono::seconds(10))) process_.signal(SIGKILL);
        process_.wait(std::chrono::seconds(5));
    }
    // hcsd leaves its VMs running by design; a test may also have stopped one (SIGSTOP).
    for (pid_t qemu : qemuPids()) {
        ::kill(qemu, SIGCONT);
        ::kill(qemu, SIGKILL);
    }
    if (!hcs_test::waitForNoQemuMentioning(root_, std::chrono::seconds(15))) {
        ADD_FAILURE() << "QEMU processes of " << root_ << " survived SIGKILL for 15 s";
    }
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
}

}  // namespace hcsd_test
