// The schema -> QEMU command line mapping.
#include <gtest/gtest.h>

#include <algorithm>

#include "hcs/vm/qemu_command.h"

namespace hc::hcs::vm {
namespace {

bool hasPair(const std::vector<std::string>& args, const std::string& a, const std::string& b)
{
    for (size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == a && args[i + 1] == b) return true;
    }
    return false;
}

bool has(const std::vector<std::string>& args, const std::string& a)
{
    return std::find(args.begin(), args.end(), a) != args.end();
}

TEST(QemuCommand, KernelDirectVm)
{
    schema::VirtualMachineConfig vm;
    vm.memorySizeInMB = 256;
    vm.processorCount = 2;
    vm.stopOnReset = true;
    vm.linuxKernelDirect = schema::LinuxKernelDirect{"/boot/vmlinuz", "/boot/initrd, x", "console=ttyS0"};
    QemuLaunchSettings s;
    s.name = "test,vm";
    s.comPortSockets[0] = "/run/pipes/com";
    auto args = buildQemuCommand(vm, s);
    EXPECT_EQ(args[0], "qemu-system-x86_64");
    EXPECT_TRUE(hasPair(args, "-machine", "q35"));
    EXPECT_TRUE(hasPair(args, "-accel", "tcg"));
    EXPECT_TRUE(hasPair(args, "-m", "256M"));
    EXPECT_TRUE(hasPair(args, "-smp", "2"));
    EXPECT_TRUE(has(args, "-nodefaults"));
    EXPECT_TRUE(has(args, "-S"));
    EXPECT_TRUE(has(args, "-no-reboot"));
    EXPECT_TRUE(hasPair(args, "-display", "none"));
    EXPECT_TRUE(hasPair(args, "-name", "guest=test,,vm"));  // commas escaped for QEMU's option parser
    EXPECT_TRUE(hasPair(args, "-kernel", "/boot/vmlinuz"));
    EXPECT_TRUE(hasPair(args, "-initrd", "/boot/initrd, x"));
    EXPECT_TRUE(hasPair(args, "-append", "console=ttyS0"));
    EXPECT_TRUE(hasPair(args, "-chardev", "socket,id=hcs-qmp,fd=3,server=on,wait=off"));
    EXPECT_TRUE(hasPair(args, "-chardev", "socket,id=hcs-com0,path=/run/pipes/com,server=on,wait=off"));
    EXPECT_TRUE(hasPair(args, "-device", "isa-serial,chardev=hcs-com0,index=0"));
    EXPECT_FALSE(has(args, "-cpu"));
}

TEST(QemuCommand, UefiVmOnKvm)
{
    schema::VirtualMachineConfig vm;
    vm.memorySizeInMB = 1024;
    vm.uefi = schema::UefiSettings{};
    QemuLaunchSettings s;
    s.accelerator = Accelerator::Kvm;
    s.ovmfCodePath = kOvmfCode;
    s.ovmfVarsPath = "/state/vm/OVMF_VARS.fd";
    auto args = buildQemuCommand(vm, s);
    EXPECT_TRUE(hasPair(args, "-accel", "kvm"));
    EXPECT_TRUE(hasPair(args, "-cpu", "host"));
    EXPECT_TRUE(hasPair(args, "-drive", std::string("if=pflash,format=raw,unit=0,readonly=on,file=") + kOvmfCode));
    EXPECT_TRUE(hasPair(args, "-drive", "if=pflash,format=raw,unit=1,file=/state/vm/OVMF_VARS.fd"));
    EXPECT_FALSE(has(args, "-no-reboot"));
    EXPECT_FALSE(has(args, "-kernel"));
}

TEST(QemuCommand, NamedPipeMapping)
{
    EXPECT_EQ(namedPipeSocketPath("\\\\.\\pipe\\vm0", "/run/p").value(), "/run/p/vm0");
    EXPECT_EQ(namedPipeSocketPath("/tmp/console.sock", "/run/p").value(), "/tmp/console.sock");
    for (const char* bad : {"vm0", "\\\\.\\pipe\\", "\\\\.\\pipe\\a/b", "\\\\.\\pipe\\..", "\\\\.\\pipe\\a\\b", ""}) {
        auto r = namedPipeSocketPath(bad, "/run/p");
        EXPECT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.hr(), E_INVALIDARG) << bad;
    }
    EXPECT_FALSE(namedPipeSocketPath("\\\\.\\pipe\\" + std::string(200, 'x'), "/run/p").ok());
}

TEST(Accelerator, ProbeFallsBackOrRunsAVcpu)
{
    // Real probe: it must give a reason, and KVM only when the vCPU actually ran.
    auto choice = probeAccelerator("qemu-system-x86_64", "");
    EXPECT_FALSE(choice.reason.empty());
    if (choice.accelerator == Accelerator::Kvm) {
        EXPECT_NE(choice.reason.find("ran"), std::string::npos);
    }
}

}  // namespace
}  // namespace hc::hcs::vm
