// Devices on real QEMU (TCG) through a private hcsd: a VM with SCSI disks (VHDX, qcow2 read-only, an
// ISO), a Plan9 share, a user-mode NIC, a VirtioSerial port and pvpanic is created (QEMU refuses any
// device it cannot build, which fails the Create) and started; the host ends exist; and wrong host
// paths are refused naming their field. Checks from inside the guest come with the process API.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "hcs/ipc/unix_socket.h"
#include "hcsd_harness.h"

namespace {

using namespace hcsd_test;

const int32_t kNotFound = static_cast<int32_t>(0x80070002);
const int32_t kInvalidData = static_cast<int32_t>(0x8007000D);
const int32_t kAlreadyExists = static_cast<int32_t>(0x800700B7);

void makeImage(const std::string& path, const std::string& format)
{
    std::string command = "qemu-img create -q -f " + format + " '" + path + "' 16M";
    ASSERT_EQ(std::system(command.c_str()), 0) << command << " (qemu-img comes with qemu-utils)";
}

std::string commandLineOf(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    for (char& c : s) {
        if (c == '\0') c = ' ';
    }
    return s;
}

json devicesConfig(const std::string& dir)
{
    json config = kernelGuestConfig("initrd-idle.gz");
    config["VirtualMachine"]["ComputeTopology"]["Memory"]["EnableColdDiscardHint"] = true;
    config["VirtualMachine"]["Devices"] = {
        {"Scsi",
         {{"Primary",
           {{"Attachments",
             {{"0", {{"Type", "VirtualDisk"}, {"Path", dir + "/root.vhdx"}}},
              {"1", {{"Type", "VirtualDisk"}, {"Path", dir + "/data.qcow2"}, {"ReadOnly", true}}},
              {"2", {{"Type", "Iso"}, {"Path", dir + "/seed.iso"}}}}}}}}},
        {"Plan9", {{"Shares", json::array({{{"Name", "share"}, {"Path", dir + "/share"}, {"Flags", 1}}})}}},
        {"NetworkAdapters", {{"eth0", {{"MacAddress", "00-15-5D-12-34-56"}}}}},
        {"VirtioSerial", {{"Ports", {{"0", {{"Name", "org.test.port"}, {"NamedPipe", "\\\\.\\pipe\\test-port"}}}}}}},
        {"GuestCrashReporting", json::object()}};
    return config;
}

class HcsdDevices : public testing::Test {
protected:
    void SetUp() override
    {
        dir_ = hcsd_.dir() + "/files";
        ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
        ASSERT_EQ(mkdir((dir_ + "/share").c_str(), 0700), 0);
        makeImage(dir_ + "/root.vhdx", "vhdx");
        makeImage(dir_ + "/data.qcow2", "qcow2");
        makeImage(dir_ + "/seed.iso", "raw");
    }
    HcsdProcess hcsd_;
    std::string dir_;
};

TEST_F(HcsdDevices, EveryDeviceIsBuiltAndTheVmRuns)
{
    RawClient c(hcsd_.socketPath());
    Reply created = c.call("CreateComputeSystem",
                           {{"handle", 1}, {"id", "devices"}, {"configuration", devicesConfig(dir_).dump()}});
    ASSERT_TRUE(created.ok()) << created.raw.dump();
    ASSERT_TRUE(c.call("StartComputeSystem", {{"handle", 1}}).ok());
    auto pids = hcsd_.qemuPids();
    ASSERT_EQ(pids.size(), 1u);
    const std::string command = commandLineOf(pids[0]);
    for (const char* expected :
         {"\"driver\":\"vhdx\"", "\"driver\":\"qcow2\"",
          "scsi-hd,id=hcs-scsi0-lun1,bus=hcs-scsi0.0,channel=0,scsi-id=0,lun=1",
          "scsi-cd,id=hcs-scsi0-lun2,bus=hcs-scsi0.0,channel=0,scsi-id=0,lun=2", "security_model=none,readonly=on",
          "virtio-9p-pci,id=hcs-9p-7368617265,fsdev=hcs-9p-7368617265,mount_tag=share,bus=hcs-rp1",
          "virtio-net-pci,id=hcs-net-65746830,netdev=hcs-net-65746830,bus=hcs-rp0,mac=00:15:5d:12:34:56",
          "name=org.test.port", "pvpanic", "virtio-balloon-pci,id=hcs-balloon"}) {
        EXPECT_NE(command.find(expected), std::string::npos) << expected << " not in: " << command;
    }
    // The VirtioSerial port's host end listens where the pipe name says.
    auto port = hc::hcs::connectUnixSocket(hcsd_.stateDir() + "/pipes/test-port");
    ASSERT_TRUE(port.ok()) << port.error().message;
    close(*port);
    ASSERT_TRUE(c.call("TerminateComputeSystem", {{"handle", 1}}).ok());
}

TEST_F(HcsdDevices, WrongHostPathsAreRefusedNamingTheField)
{
    RawClient c(hcsd_.socketPath());
    auto create = [&](const json& config) {
        return c.call("CreateComputeSystem", {{"handle", 1}, {"id", "bad"}, {"configuration", config.dump()}});
    };
    json missing = devicesConfig(dir_);
    missing["VirtualMachine"]["Devices"]["Scsi"]["Primary"]["Attachments"]["0"]["Path"] = dir_ + "/none.vhdx";
    Reply r = create(missing);
    EXPECT_EQ(r.hr(), kNotFound);
    EXPECT_NE(r.message().find("VirtualMachine.Devices.Scsi.Primary.Attachments.0.Path"), std::string::npos)
        << r.message();

    makeImage(dir_ + "/raw.vhdx", "raw");
    json mislabelled = devicesConfig(dir_);
    mislabelled["VirtualMachine"]["Devices"]["Scsi"]["Primary"]["Attachments"]["0"]["Path"] = dir_ + "/raw.vhdx";
    r = create(mislabelled);
    EXPECT_EQ(r.hr(), kInvalidData);
    EXPECT_NE(r.message().find("is named like a VHDX image but its content is raw"), std::string::npos) << r.message();

    json notADirectory = devicesConfig(dir_);
    notADirectory["VirtualMachine"]["Devices"]["Plan9"]["Shares"][0]["Path"] = dir_ + "/seed.iso";
    r = create(notADirectory);
    EXPECT_LT(r.hr(), 0);
    EXPECT_NE(r.message().find("VirtualMachine.Devices.Plan9.Shares[0].Path"), std::string::npos) << r.message();

    // A VirtioSerial pipe path that holds a regular file is never replaced.
    std::ofstream(dir_ + "/taken") << "keep me";
    json taken = devicesConfig(dir_);
    taken["VirtualMachine"]["Devices"]["VirtioSerial"]["Ports"]["0"]["NamedPipe"] = dir_ + "/taken";
    r = create(taken);
    EXPECT_EQ(r.hr(), kAlreadyExists);
    EXPECT_NE(r.message().find("VirtualMachine.Devices.VirtioSerial.Ports.0.NamedPipe"), std::string::npos)
        << r.message();
    std::ifstream kept(dir_ + "/taken");
    std::string content;
    std::getline(kept, content);
    EXPECT_EQ(content, "keep me");
    EXPECT_TRUE(hcsd_.qemuPids().empty());
}

}  // namespace
