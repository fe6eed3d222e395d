#include "support/private_hcsd.h"

#include "hcs/ipc/unix_socket.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/qemu_processes.h"

namespace hcs_test {
namespace {

// CTest sets the variable; programs run by hand (benchmarks) fall back to the tree they were built in.
std::string environmentOr(const char* name, const char* builtIn)
{
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? value : builtIn;
}

bool socketAccepts(const std::string& path)
{
    auto connected = hc::hcs::connectUnixSocket(path);
    if (connected) ::close(*connected);
    return connected.ok();
}

}  // namespace

std::string buildDirectory()
{
    return environmentOr("HOSTCOMPUTE_BUILD_DIR", HCS_TEST_BUILD_DIR);
}
std::string sourceDirectory()
{
    return environmentOr("HOSTCOMPUTE_SOURCE_DIR", HCS_TEST_SOURCE_DIR);
}

PrivateHcsd::~PrivateHcsd()
{
    stop();
}

void PrivateHcsd::start()
{
    char directory[] = "/tmp/hcs-it.XXXXXX";
    if (::mkdtemp(directory) == nullptr) {
        throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    }
    root_ = directory;
    socket_ = root_ + "/hcsd.sock";
    state_ = root_ + "/state";
    logFile_ = root_ + "/hcsd.log";
    restart();
}

void PrivateHcsd::restart()
{
    process_.wait(std::chrono::seconds(10));
    std::string hcsd = buildDirectory() + "/tools/hcsd/hcsd";
    if (::access(hcsd.c_str(), X_OK) != 0) {
        throw std::runtime_error(hcsd + " is missing: build the hcsd target");
    }
    // This process's client library, and every child it starts, talk to this hcsd.
    ::setenv("HCS_SOCKET", socket_.c_str(), 1);
    ChildProcess::Options options;
    options.environment = {{"HCS_SOCKET", socket_}, {"HOSTCOMPUTE_LOG", "info"}};
    options.stdoutFile = logFile_;
    options.stderrFile = logFile_ + ".err";
    process_ = ChildProcess::spawn({hcsd, "--foreground", "--socket", socket_, "--state-dir", state_}, options);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!socketAccepts(socket_)) {
        if (!process_.running()) {
            throw std::runtime_error("hcsd exited during start-up:\n" + log());
        }
        if (std::chrono::steady_clock::now() > deadline) {
            throw std::runtime_error("hcsd did not listen on " + socket_ + " within 20 s:\n" + log());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void PrivateHcsd::removeLeftoverContainers()
{
    // Containers hcsd left running (it keeps systems when it stops): their runtime state and root file
    // system mounts are below root_, which must not be removed while an overlay is mounted in it.
    const std::string rootfs = state_ + "/containers/rootfs/";
    std::istringstream mounts(readFile("/proc/self/mountinfo"));
    for (std::string line; std::getline(mounts, line);) {
        std::istringstream fields(line);
        std::string field, mountPoint;
        for (int i = 0; i < 5 && fields >> field; ++i)
            mountPoint = field;
        if (mountPoint.rfind(rootfs, 0) != 0) continue;
        const std::string id = mountPoint.substr(rootfs.size());
        runProgram({"runc", "--root", state_ + "/containers/runtime", "delete", "--force", id},
                   std::chrono::seconds(30));
        ::umount2(mountPoint.c_str(), MNT_DETACH);
    }
}

void PrivateHcsd::kill(int sig)
{
    process_.signal(sig);
}

std::string PrivateHcsd::log() const
{
    return readFile(logFile_) + readFile(logFile_ + ".err");
}

void PrivateHcsd::stop()
{
    if (root_.empty()) {
        return;
    }
    process_.signal(SIGTERM);
    if (!process_.wait(std::chrono::seconds(10))) {
        process_.signal(SIGKILL);
        process_.wait(std::chrono::seconds(5));
    }
    // A test that failed half-way may leave VMs running; they must not outlive the test.
    for (pid_t qemu : qemuProcessesMentioning(root_)) {
        ::kill(qemu, SIGKILL);
    }
    removeLeftoverContainers();
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
    root_.clear();
}

}  // namespace hcs_test
