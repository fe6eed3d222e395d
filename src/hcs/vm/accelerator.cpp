#include "hcs/vm/accelerator.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

namespace hc::hcs::vm {

namespace {

// Exit codes of the probe child; each names the step that failed.
enum ProbeStep : int {
    kOk = 0,
    kOpenDevice = 10,
    kApiVersion,
    kCreateVm,
    kGuestMemory,
    kCreateVcpu,
    kVcpuMap,
    kRegisters,
    kRunFailed,
    kWrongExit,
};

const char* stepName(int step)
{
    switch (step) {
        case kOpenDevice:
            return "cannot open /dev/kvm";
        case kApiVersion:
            return "unexpected KVM API version";
        case kCreateVm:
            return "KVM_CREATE_VM failed";
        case kGuestMemory:
            return "cannot map guest memory";
        case kCreateVcpu:
            return "KVM_CREATE_VCPU failed";
        case kVcpuMap:
            return "cannot map the vCPU run area";
        case kRegisters:
            return "cannot set vCPU registers";
        case kRunFailed:
            return "KVM_RUN failed";
        case kWrongExit:
            return "the KVM vCPU did not run the test program (internal error exit)";
        default:
            return "the probe process failed";
    }
}

// Real mode at 0x1000: mov al, 42; out 0x10, al; hlt. A working vCPU exits with an I/O exit on
// port 0x10 carrying 42, then with HLT.
int runProbe()
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) return kOpenDevice;
    if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) return kApiVersion;
    int vmFd = ioctl(kvm, KVM_CREATE_VM, 0UL);
    if (vmFd < 0) return kCreateVm;
    void* mem = mmap(nullptr, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return kGuestMemory;
    const unsigned char code[] = {0xb0, 42, 0xe6, 0x10, 0xf4};
    std::memcpy(mem, code, sizeof code);
    kvm_userspace_memory_region region{};
    region.slot = 0;
    region.guest_phys_addr = 0x1000;
    region.memory_size = 0x1000;
    region.userspace_addr = reinterpret_cast<uint64_t>(mem);
    if (ioctl(vmFd, KVM_SET_USER_MEMORY_REGION, &region) < 0) return kGuestMemory;
    int vcpu = ioctl(vmFd, KVM_CREATE_VCPU, 0UL);
    if (vcpu < 0) return kCreateVcpu;
    int runSize = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, nullptr);
    if (runSize <= 0) return kVcpuMap;
    auto* run =
        static_cast<kvm_run*>(mmap(nullptr, static_cast<size_t>(runSize), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0));
    if (run == MAP_FAILED) return kVcpuMap;
    kvm_sregs sregs{};
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) return kRegisters;
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) return kRegisters;
    kvm_regs regs{};
    regs.rip = 0x1000;
    regs.rflags = 0x2;
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) return kRegisters;
    bool sawOutput = false;
    for (int i = 0; i < 4; ++i) {
        if (ioctl(vcpu, KVM_RUN, nullptr) < 0) return kRunFailed;
        if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0x10) {
            auto* data = reinterpret_cast<unsigned char*>(run) + run->io.data_offset;
            sawOutput = *data == 42;
            continue;
        }
        if (run->exit_reason == KVM_EXIT_HLT) return sawOutput ? kOk : kWrongExit;
        return kWrongExit;
    }
    return kWrongExit;
}

AcceleratorChoice probeKvm()
{
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        return {Accelerator::Tcg, std::string("/dev/kvm: ") + std::strerror(errno) + "; using TCG"};
    }
    pid_t child = fork();
    if (child < 0) return {Accelerator::Tcg, std::string("cannot fork the KVM probe: ") + std::strerror(errno)};
    if (child == 0) _exit(runProbe());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    int status = 0;
    while (true) {
        pid_t r = waitpid(child, &status, WNOHANG);
        if (r == child) break;
        if (r < 0 && errno != EINTR) return {Accelerator::Tcg, "lost the KVM probe process; using TCG"};
        if (std::chrono::steady_clock::now() > deadline) {
            kill(child, SIGKILL);
            waitpid(child, &status, 0);
            return {Accelerator::Tcg, "the KVM probe vCPU did not finish within 3 s; using TCG"};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == kOk) {
        return {Accelerator::Kvm, "a KVM vCPU ran the probe program"};
    }
    int step = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return {Accelerator::Tcg, std::string("KVM probe: ") + stepName(step) + "; using TCG"};
}

// A vCPU that runs a few instructions is not enough (on some hosts KVM then crawls or hangs once
// firmware enables interrupts and timers): QEMU with KVM must also take SeaBIOS through POST to
// "no bootable device" and the reboot that -no-reboot turns into an exit, as fast as working KVM
// does it (~0.2 s; TCG takes ~0.3 s).
AcceleratorChoice probeQemuKvm(const std::string& qemuBinary)
{
    constexpr auto kLimit = std::chrono::milliseconds(2000);
    auto start = std::chrono::steady_clock::now();
    pid_t child = fork();
    if (child < 0) return {Accelerator::Tcg, std::string("cannot fork the QEMU probe: ") + std::strerror(errno)};
    if (child == 0) {
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execlp(qemuBinary.c_str(), qemuBinary.c_str(), "-machine", "q35", "-accel", "kvm", "-nodefaults",
               "-no-user-config", "-display", "none", "-m", "32", "-boot", "strict=on,reboot-timeout=0", "-no-reboot",
               static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    while (true) {
        pid_t r = waitpid(child, &status, WNOHANG);
        if (r == child) break;
        if (std::chrono::steady_clock::now() - start > kLimit) {
            kill(child, SIGKILL);
            waitpid(child, &status, 0);
            return {Accelerator::Tcg,
                    "KVM vCPUs run, but QEMU with KVM did not finish firmware POST within 2 s; using TCG"};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return {Accelerator::Kvm, "a KVM vCPU ran the probe program and QEMU/KVM finished firmware POST in " +
                                      std::to_string(ms) + " ms"};
    }
    return {Accelerator::Tcg, "QEMU with -accel kvm failed (" +
                                  std::string(WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                                                : "killed by a signal") +
                                  "); using TCG"};
}

std::string readSmallFile(const std::string& path)
{
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    return text;
}

}  // namespace

const char* acceleratorName(Accelerator accelerator)
{
    return accelerator == Accelerator::Kvm ? "kvm" : "tcg";
}

AcceleratorChoice probeAccelerator(const std::string& qemuBinary, const std::string& cacheFile)
{
    const char* forced = std::getenv("HCSD_ACCEL");
    if (forced && std::string(forced) == "tcg") return {Accelerator::Tcg, "HCSD_ACCEL=tcg"};
    // The answer holds until the host reboots (or another QEMU is used).
    std::string key = readSmallFile("/proc/sys/kernel/random/boot_id") + " " + qemuBinary;
    if (!cacheFile.empty()) {
        std::ifstream in(cacheFile);
        std::string cachedKey, accel, reason;
        if (std::getline(in, cachedKey) && std::getline(in, accel) && std::getline(in, reason) && cachedKey == key &&
            (accel == "kvm" || accel == "tcg")) {
            return {accel == "kvm" ? Accelerator::Kvm : Accelerator::Tcg, reason + " (cached)"};
        }
    }
    AcceleratorChoice choice = probeKvm();
    if (choice.accelerator == Accelerator::Kvm) choice = probeQemuKvm(qemuBinary);
    if (!cacheFile.empty()) {
        std::string tmp = cacheFile + ".tmp" + std::to_string(getpid());
        std::ofstream out(tmp, std::ios::trunc);
        out << key << "\n" << acceleratorName(choice.accelerator) << "\n" << choice.reason << "\n";
        out.close();
        if (out) std::rename(tmp.c_str(), cacheFile.c_str());
    }
    return choice;
}

}  // namespace hc::hcs::vm
