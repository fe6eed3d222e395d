#include "test_vm.h"

#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "hcs/guest/guest_channel.h"

extern char** environ;

namespace guest_it {

namespace {

void requireFile(const std::string& path, const std::string& hint)
{
    if (access(path.c_str(), R_OK) != 0) throw std::runtime_error(path + " is missing: " + hint);
}

}  // namespace

TestVm::TestVm(const std::string& extraAppend)
{
    std::string kernel = std::string(HCS_TEST_GUEST_DIR) + "/vmlinuz";
    requireFile(kernel, "run scripts/make-test-guest.sh");
    requireFile(HCS_AGENT_INITRD, "build the hcs_agent_initrd target");
    char tmpl[] = "/tmp/hcs-guest-it.XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    socketPath_ = dir_ + "/agent.sock";
    consolePath_ = dir_ + "/console.log";
    std::string append = "console=ttyS0 quiet panic=-1";
    if (!extraAppend.empty()) append += " " + extraAppend;
    std::vector<std::string> args = {"qemu-system-x86_64",
                                     "-machine",
                                     "q35,accel=tcg",
                                     "-m",
                                     "256",
                                     "-smp",
                                     "1",
                                     "-display",
                                     "none",
                                     "-monitor",
                                     "none",
                                     "-no-reboot",
                                     "-serial",
                                     "file:" + consolePath_,
                                     "-kernel",
                                     kernel,
                                     "-initrd",
                                     HCS_AGENT_INITRD,
                                     "-append",
                                     append};
    for (auto& a : hc::hcs::guest::qemuAgentArguments(socketPath_))
        args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawnp(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
        throw std::runtime_error("cannot start qemu-system-x86_64 (install qemu-system-x86)");
    // QEMU creates the socket before the guest runs; wait for it so the channel's first connect works.
    for (int i = 0; i < 200 && access(socketPath_.c_str(), F_OK) != 0; ++i) {
        if (!running()) throw std::runtime_error("QEMU exited at start: " + console());
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
}

TestVm::~TestVm()
{
    if (pid_ > 0 && !reaped_) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    unlink(socketPath_.c_str());
    unlink(consolePath_.c_str());
    rmdir(dir_.c_str());
}

std::string TestVm::console() const
{
    std::ifstream in(consolePath_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool TestVm::running() const
{
    if (pid_ <= 0 || reaped_) return false;
    if (waitpid(pid_, nullptr, WNOHANG) == 0) return true;
    reaped_ = true;
    return false;
}

}  // namespace guest_it
