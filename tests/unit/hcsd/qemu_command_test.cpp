// The schema -> QEMU command line mapping.
#include <gtest/gtest.h>

#include <algorithm>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "hcs/vm/host_files.h"
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

// The arguments that follow each occurrence of `option`.
std::vector<std::string> valuesOf(const std::vector<std::string>& args, const std::string& option)
{
    std::vector<std::string> values;
    for (size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == option) values.push_back(args[i + 1]);
    }
    return values;
}

TEST(QemuCommand, Devices)
{
    schema::VirtualMachineConfig vm;
    vm.memorySizeInMB = 256;
    vm.uefi = schema::UefiSettings{};
    vm.uefi->bootThis = schema::UefiBootEntry{"b", 2};
    vm.scsi["a"].attachments[0] = {schema::AttachmentType::Iso, "/srv/seed,1.iso", true, schema::CachingMode::Uncached,
                                   false};
    vm.scsi["b"].attachments[2] = {schema::AttachmentType::VirtualDisk, "/srv/root.vhdx", false,
                                   schema::CachingMode::Uncached, true};
    vm.plan9Shares.push_back({"src", "", "/srv/a,b", schema::kPlan9ReadOnly});
    vm.plan9Shares.push_back({"home", "homeTag", "/home/u", 0});
    vm.networkAdapters["eth0"] = {"endpoint", "00:15:5d:00:00:01"};
    vm.networkAdapters["eth1"] = {"", ""};
    vm.virtioSerialPorts[0] = {"org.test.port", "\\\\.\\pipe\\p"};
    vm.guestCrashReporting = true;
    vm.baseBoardSerialNumber = "board,1";
    vm.chassisAssetTag = "asset";
    QemuLaunchSettings s;
    s.disks[{"b", 2}] = DiskSettings{"vhdx", true};
    s.virtioSerialSockets[0] = "/run/p/p";
    auto args = buildQemuCommand(vm, s);

    EXPECT_TRUE(hasPair(args, "-device", "virtio-scsi-pci,id=hcs-scsi0"));
    EXPECT_TRUE(hasPair(args, "-device", "virtio-scsi-pci,id=hcs-scsi1"));
    auto blockdevs = valuesOf(args, "-blockdev");
    ASSERT_EQ(blockdevs.size(), 4u);
    auto isoFile = nlohmann::json::parse(blockdevs[0]);
    EXPECT_EQ(isoFile["filename"], "/srv/seed,1.iso");  // JSON: a comma needs no escaping
    EXPECT_EQ(isoFile["read-only"], true);
    EXPECT_EQ(isoFile["cache"]["direct"], false);  // no DiskSettings: nothing known about O_DIRECT
    EXPECT_EQ(nlohmann::json::parse(blockdevs[1])["driver"], "raw");
    auto rootFile = nlohmann::json::parse(blockdevs[2]);
    EXPECT_EQ(rootFile["cache"]["direct"], true);  // Uncached, and the file system takes O_DIRECT
    EXPECT_EQ(rootFile["cache"]["no-flush"], true);
    EXPECT_EQ(rootFile["read-only"], false);
    auto rootFormat = nlohmann::json::parse(blockdevs[3]);
    EXPECT_EQ(rootFormat["driver"], "vhdx");
    EXPECT_EQ(rootFormat["file"], rootFile["node-name"]);
    // Device ids are those Modify removes them by (vm/hotplug.h).
    EXPECT_TRUE(hasPair(args, "-device",
                        "scsi-cd,id=hcs-scsi0-lun0,bus=hcs-scsi0.0,channel=0,scsi-id=0,lun=0,drive=hcs-scsi0-lun0"));
    EXPECT_TRUE(hasPair(
        args, "-device",
        "scsi-hd,id=hcs-scsi1-lun2,bus=hcs-scsi1.0,channel=0,scsi-id=0,lun=2,drive=hcs-scsi1-lun2,bootindex=0"));

    // Shares named after their mount tag, each on a root port after the adapters' (Modify unplugs them).
    EXPECT_TRUE(hasPair(args, "-fsdev", "local,id=hcs-9p-737263,path=/srv/a,,b,security_model=none,readonly=on"));
    EXPECT_TRUE(hasPair(args, "-device", "virtio-9p-pci,id=hcs-9p-737263,fsdev=hcs-9p-737263,mount_tag=src,bus=hcs-rp2"));
    EXPECT_TRUE(hasPair(args, "-fsdev", "local,id=hcs-9p-686f6d65546167,path=/home/u,security_model=none"));
    EXPECT_TRUE(hasPair(args, "-device",
                        "virtio-9p-pci,id=hcs-9p-686f6d65546167,fsdev=hcs-9p-686f6d65546167,mount_tag=homeTag,"
                        "bus=hcs-rp3"));

    // Each adapter on its own root port (hot-unpluggable), named after the adapter; 4 ports to spare.
    EXPECT_TRUE(hasPair(args, "-netdev", "user,id=hcs-net-65746830"));
    EXPECT_TRUE(
        hasPair(args, "-device",
                "virtio-net-pci,id=hcs-net-65746830,netdev=hcs-net-65746830,bus=hcs-rp0,mac=00:15:5d:00:00:01"));
    EXPECT_TRUE(hasPair(args, "-device", "virtio-net-pci,id=hcs-net-65746831,netdev=hcs-net-65746831,bus=hcs-rp1"));
    EXPECT_TRUE(hasPair(args, "-device", "pcie-root-port,id=hcs-rp7,chassis=8"));
    EXPECT_FALSE(hasPair(args, "-device", "pcie-root-port,id=hcs-rp8,chassis=9"));
    EXPECT_TRUE(hasPair(args, "-device", "virtio-balloon-pci,id=hcs-balloon"));

    EXPECT_TRUE(hasPair(args, "-device", "virtio-serial-pci,id=hcs-vser"));
    EXPECT_TRUE(hasPair(args, "-chardev", "socket,id=hcs-vser0,path=/run/p/p,server=on,wait=off"));
    EXPECT_TRUE(hasPair(args, "-device", "virtserialport,bus=hcs-vser.0,nr=1,chardev=hcs-vser0,name=org.test.port"));
    EXPECT_TRUE(hasPair(args, "-device", "pvpanic"));
    EXPECT_TRUE(hasPair(args, "-smbios", "type=2,serial=board,,1"));
    EXPECT_TRUE(hasPair(args, "-smbios", "type=3,asset=asset"));
}

class HostFiles : public ::testing::Test {
protected:
    void SetUp() override
    {
        char pattern[] = "/tmp/hc-host-files-XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string image(const std::string& name, const std::string& format)
    {
        std::string path = dir_ + "/" + name;
        std::string command = "qemu-img create -q -f " + format + " '" + path + "' 4M";
        EXPECT_EQ(std::system(command.c_str()), 0) << command << " (qemu-img comes with qemu-utils)";
        return path;
    }
    std::string dir_;
};

TEST_F(HostFiles, FormatsAreProbedAndNamesMustAgree)
{
    using schema::AttachmentType;
    for (const auto& [format, name, expected] : {std::tuple{"qcow2", "a.qcow2", "qcow2"},
                                                 {"vpc", "b.vhd", "vpc"},
                                                 {"vhdx", "c.vhdx", "vhdx"},
                                                 {"raw", "d.img", "raw"},
                                                 {"vhdx", "e.disk", "vhdx"},
                                                 {"qcow2", "f", "qcow2"},
                                                 {"raw", "g.bin", "raw"}}) {
        auto facts = inspectDisk({AttachmentType::VirtualDisk, image(name, format), false});
        ASSERT_TRUE(facts.ok()) << name << ": " << facts.error().message;
        EXPECT_EQ(facts->format, expected) << name;
    }
    // A fixed VHD keeps its signature in a footer.
    auto fixed = dir_ + "/fixed.vhd";
    ASSERT_EQ(std::system(("qemu-img create -q -f vpc -o subformat=fixed '" + fixed + "' 4M").c_str()), 0);
    EXPECT_EQ(inspectDisk({AttachmentType::VirtualDisk, fixed, true})->format, "vpc");
    // A name that says raw is believed (no probing of raw disks); one that says VHDX must be VHDX.
    auto qcowNamedImg = image("h.img", "qcow2");
    EXPECT_EQ(inspectDisk({AttachmentType::VirtualDisk, qcowNamedImg, true})->format, "raw");
    auto rawNamedVhdx = image("i.vhdx", "raw");
    auto mismatch = inspectDisk({AttachmentType::VirtualDisk, rawNamedVhdx, true});
    ASSERT_FALSE(mismatch.ok());
    EXPECT_NE(mismatch.error().message.find("is named like a VHDX image but its content is raw"), std::string::npos)
        << mismatch.error().message;
    // An ISO is raw whatever its name.
    EXPECT_EQ(inspectDisk({AttachmentType::Iso, image("j.iso", "raw"), true})->format, "raw");
}

TEST_F(HostFiles, PathsAreOpenedWithTheCallersRights)
{
    using schema::AttachmentType;
    auto missing = inspectDisk({AttachmentType::VirtualDisk, dir_ + "/none.vhdx", false});
    EXPECT_EQ(missing.hr(), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    EXPECT_NE(missing.error().message.find("none.vhdx"), std::string::npos);
    EXPECT_EQ(inspectDisk({AttachmentType::VirtualDisk, dir_, true}).hr(), E_INVALIDARG);  // a directory
    auto readOnlyFile = image("ro.img", "raw");
    ASSERT_EQ(chmod(readOnlyFile.c_str(), 0444), 0);
    if (geteuid() != 0) {  // root passes every permission check
        auto writable = inspectDisk({AttachmentType::VirtualDisk, readOnlyFile, false});
        EXPECT_FALSE(writable.ok());
        EXPECT_NE(writable.error().message.find("for reading and writing"), std::string::npos);
    }
    EXPECT_TRUE(inspectDisk({AttachmentType::VirtualDisk, readOnlyFile, true}).ok());

    EXPECT_TRUE(checkShareDirectory(dir_, false).ok());
    EXPECT_EQ(checkShareDirectory(readOnlyFile, true).hr(), E_INVALIDARG);
    EXPECT_EQ(checkShareDirectory(dir_ + "/none", true).hr(), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
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
