// HcsModifyComputeSystem on a real guest (the agent test guest on QEMU under TCG, hcsd as its own
// process), every change checked from inside the guest through the process API: a disk attached at
// Create and one hot-added are seen and hold what the host wrote, a hot-removed one disappears; the
// adapter from Create gets an address from user-mode networking and reaches a port on the host's
// loopback, a hot-added adapter appears and goes again; a Plan9 share's device is unplugged; a memory
// Update shrinks the guest through the balloon and the Memory property says so; refused paths name
// themselves. One guest for the program; every guest command is bounded (process_support.h).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "support/child_process.h"
#include "support/hcs_test_support.h"
#include "support/process_support.h"
#include "support/shared_guest.h"

namespace hcs_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// One command in the guest; guest-side waits poll with a bound: under TCG on a shared machine the guest
// may be slow to notice a device.
constexpr auto c_GuestCommandBound = 60s;
constexpr auto c_GuestPollBound = 90s;

const std::string c_CreateDiskPattern = "HCS-DISK-FROM-CREATE";
const std::string c_HotDiskPattern = "HCS-DISK-HOT-ADDED!!";
constexpr int c_CreateDiskMiB = 8;
constexpr int c_HotDiskMiB = 12;

std::string makeDisk(const std::string& path, int mib, const std::string& pattern)
{
    std::ofstream out(path, std::ios::binary);
    out << pattern;
    out.seekp(static_cast<std::streamoff>(mib) * 1024 * 1024 - 1);
    out.put('\0');
    return path;
}

// Runs `script` with /bin/sh in the guest (bounded).
GuestRun runInGuest(HCS_SYSTEM system, const std::string& script)
{
    GuestRun run = runShellInGuest(system, script, c_GuestCommandBound);
    EXPECT_TRUE(run.failure.empty()) << script << ": " << run.failure;
    return run;
}

// Runs `script` until its output contains `expected` (within the bound); the last output.
std::string awaitInGuest(HCS_SYSTEM system, const std::string& script, const std::string& expected)
{
    auto deadline = std::chrono::steady_clock::now() + c_GuestPollBound;
    GuestRun run;
    while (std::chrono::steady_clock::now() < deadline) {
        run = runInGuest(system, script);
        if (run.out.find(expected) != std::string::npos) return run.out;
        std::this_thread::sleep_for(200ms);  // a poll interval, not synchronisation: the guest is asked again
    }
    ADD_FAILURE() << "the guest never printed \"" << expected << "\" for: " << script << "\nlast output: " << run.out;
    return run.out;
}

CallOutcome modify(HCS_SYSTEM system, const json& request)
{
    return runOperation(c_OperationTimeoutMs, [&](HCS_OPERATION op) {
        return HcsModifyComputeSystem(system, op, wide(request.dump()).c_str(), nullptr);
    });
}

// The block device (sdX) of `mib` MiB, printed by the guest: "<name> " per match.
std::string findDiskScript(int mib)
{
    return "for d in /sys/block/sd*; do [ \"$(cat $d/size 2>/dev/null)\" = " + std::to_string(mib * 2048) +
           " ] && echo \"disk=${d##*/} \"; done; true";
}

std::string diskName(const std::string& out)
{
    auto at = out.find("disk=");
    if (at == std::string::npos) return {};
    return out.substr(at + 5, out.find(' ', at) - at - 5);
}

class GuestModify : public SharedGuestTest<GuestModify> {
protected:
    static void SetUpTestSuite()
    {
        s_dir = hcsd().root() + "/modify-files";
        std::filesystem::create_directories(s_dir);
        makeDisk(s_dir + "/create.img", c_CreateDiskMiB, c_CreateDiskPattern);
        json document = json::parse(kernelDirectVm(HCS_AGENT_INITRD, true, 256).configuration);
        document["VirtualMachine"]["GuestConnection"] = json::object();
        auto& devices = document["VirtualMachine"]["Devices"];
        devices["Scsi"]["main"]["Attachments"]["0"] = {{"Type", "VirtualDisk"}, {"Path", s_dir + "/create.img"}};
        devices["NetworkAdapters"]["eth0"] = {{"MacAddress", "00-15-5D-00-00-01"}};
        devices["Plan9"]["Shares"] = json::array({{{"Name", "files"}, {"Path", s_dir}}});
        startSharedGuest("GuestModify.shared", document.dump());
    }
    json configuration() { return properties(system(), R"({"PropertyTypes": ["Configuration"]})")["Configuration"]; }

    static inline std::string s_dir;
};

TEST_F(GuestModify, DisksFromCreateAndHotAddedAreReadableAndHotRemovedOnesDisappear)
{
    std::string created = diskName(awaitInGuest(system(), findDiskScript(c_CreateDiskMiB), "disk="));
    ASSERT_FALSE(created.empty());
    GuestRun read = runInGuest(system(), "dd if=/dev/" + created + " bs=20 count=1 2>/dev/null");
    EXPECT_EQ(read.out, c_CreateDiskPattern);

    const std::string hot = makeDisk(s_dir + "/hot.img", c_HotDiskMiB, c_HotDiskPattern);
    const std::string path = "VirtualMachine/Devices/Scsi/main/Attachments/1";
    CallOutcome added = modify(
        system(),
        {{"ResourcePath", path}, {"RequestType", "Add"}, {"Settings", {{"Type", "VirtualDisk"}, {"Path", hot}}}});
    ASSERT_EQ(added.hr, S_OK) << describe(added.hr) << " " << added.document;
    std::string hotName = diskName(awaitInGuest(system(), findDiskScript(c_HotDiskMiB), "disk="));
    ASSERT_FALSE(hotName.empty());
    read = runInGuest(system(), "dd if=/dev/" + hotName + " bs=20 count=1 2>/dev/null");
    EXPECT_EQ(read.out, c_HotDiskPattern);
    EXPECT_EQ(configuration()["VirtualMachine"]["Devices"]["Scsi"]["main"]["Attachments"]["1"]["Path"], hot);

    CallOutcome again = modify(
        system(),
        {{"ResourcePath", path}, {"RequestType", "Add"}, {"Settings", {{"Type", "VirtualDisk"}, {"Path", hot}}}});
    EXPECT_EQ(again.hr, HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS)) << again.document;

    CallOutcome removed = modify(system(), {{"ResourcePath", path}, {"RequestType", "Remove"}});
    ASSERT_EQ(removed.hr, S_OK) << describe(removed.hr) << " " << removed.document;
    awaitInGuest(system(), "[ -e /sys/block/" + hotName + " ] && echo present || echo gone", "gone");
    EXPECT_FALSE(configuration()["VirtualMachine"]["Devices"]["Scsi"]["main"]["Attachments"].contains("1"));
    // The disk from Create is still there.
    EXPECT_EQ(runInGuest(system(), "dd if=/dev/" + created + " bs=20 count=1 2>/dev/null").out, c_CreateDiskPattern);
}

// A port on the host's loopback (user-mode networking shows it to the guest as 10.0.2.2) that accepts one
// connection within a bound and keeps the first line it reads.
class LoopbackLineServer {
public:
    LoopbackLineServer()
    {
        listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            listen(listener_, 1) != 0) {
            return;
        }
        socklen_t length = sizeof address;
        getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~LoopbackLineServer()
    {
        if (thread_.joinable()) thread_.join();
        if (listener_ >= 0) close(listener_);
    }
    int port() const { return port_; }
    // The line received (waits for the server to finish: at most its bound).
    std::string line()
    {
        if (thread_.joinable()) thread_.join();
        return line_;
    }

private:
    void serve()
    {
        pollfd ready{listener_, POLLIN, 0};
        if (poll(&ready, 1, 60'000) != 1) return;
        int connection = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (connection < 0) return;
        timeval bound{30, 0};
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
        char c;
        while (read(connection, &c, 1) == 1 && c != '\n')
            line_ += c;
        close(connection);  // nc in the guest sees EOF and exits
    }
    int listener_ = -1;
    int port_ = 0;
    std::thread thread_;
    std::string line_;
};

TEST_F(GuestModify, AdaptersGetAnAddressReachTheHostAndComeAndGo)
{
    // Every guest command is bounded twice: by its own timeout in the guest and by runInGuest's bound.
    // udhcpc leaves a down link down ("Network is down"): bring it up first, then lease with the
    // image's hook (make-agent-initrd.sh), which configures the address.
    const std::string dhcp =
        "ip link set eth0 up; timeout 40 udhcpc -i eth0 -n -q -t 10 -T 2 -s /usr/share/udhcpc/default.script "
        ">/dev/null 2>&1; ip -4 addr show eth0";
    awaitInGuest(system(), dhcp, "10.0.2.15");
    LoopbackLineServer server;
    ASSERT_GT(server.port(), 0);
    GuestRun sent = runInGuest(
        system(), "echo hello-from-guest | timeout 30 nc 10.0.2.2 " + std::to_string(server.port()) + "; echo rc=$?");
    EXPECT_EQ(server.line(), "hello-from-guest") << "nc said: " << sent.out;

    const std::string path = "VirtualMachine/Devices/NetworkAdapters/hot";
    CallOutcome added =
        modify(system(),
               {{"ResourcePath", path}, {"RequestType", "Add"}, {"Settings", {{"MacAddress", "00-15-5D-00-00-02"}}}});
    ASSERT_EQ(added.hr, S_OK) << describe(added.hr) << " " << added.document;
    awaitInGuest(system(), "cat /sys/class/net/*/address", "00:15:5d:00:00:02");
    EXPECT_TRUE(configuration()["VirtualMachine"]["Devices"]["NetworkAdapters"].contains("hot"));

    CallOutcome removed = modify(system(), {{"ResourcePath", path}, {"RequestType", "Remove"}});
    ASSERT_EQ(removed.hr, S_OK) << describe(removed.hr) << " " << removed.document;
    // The call completed on the guest's release, so the interface is gone already.
    GuestRun after = runInGuest(system(), "cat /sys/class/net/*/address");
    EXPECT_EQ(after.out.find("00:15:5d:00:00:02"), std::string::npos) << after.out;
    EXPECT_NE(after.out.find("00:15:5d:00:00:01"), std::string::npos) << "the adapter from Create went too";
    EXPECT_FALSE(configuration()["VirtualMachine"]["Devices"]["NetworkAdapters"].contains("hot"));
}

// This guest's kernel has no 9p file system (docs/hcsd.md), so the share is seen as its PCI device:
// virtio 9p is vendor 0x1af4, device 0x1049 (modern, as on a PCIe port) or 0x1009 (transitional).
TEST_F(GuestModify, APlan9ShareFromCreateIsUnpluggedByRemove)
{
    const std::string count9p =
        "n=0; for d in /sys/bus/pci/devices/*; do case $(cat $d/vendor):$(cat $d/device) in "
        "0x1af4:0x1049|0x1af4:0x1009) n=$((n+1));; esac; done; echo shares=$n";
    EXPECT_EQ(runInGuest(system(), count9p).out, "shares=1\n");
    const json request{{"ResourcePath", "VirtualMachine/Devices/Plan9/Shares"},
                       {"RequestType", "Remove"},
                       {"Settings", {{"Name", "files"}}}};
    CallOutcome removed = modify(system(), request);
    ASSERT_EQ(removed.hr, S_OK) << describe(removed.hr) << " " << removed.document;
    EXPECT_EQ(runInGuest(system(), count9p).out, "shares=0\n");
    EXPECT_TRUE(configuration()["VirtualMachine"]["Devices"]["Plan9"]["Shares"].empty());
    CallOutcome again = modify(system(), request);
    EXPECT_EQ(again.hr, HRESULT_FROM_WIN32(ERROR_NOT_FOUND)) << again.document;
    EXPECT_NE(again.document.find("no Plan9 share is named"), std::string::npos) << again.document;
}

TEST_F(GuestModify, MemoryUpdateShrinksTheGuestThroughTheBalloon)
{
    auto memTotalKiB = [&] {
        GuestRun run = runInGuest(system(), "sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo");
        return std::atol(run.out.c_str());
    };
    const long before = memTotalKiB();
    ASSERT_GT(before, 200 * 1024);
    const std::string path = "VirtualMachine/ComputeTopology/Memory/SizeInMB";
    CallOutcome shrunk = modify(system(), {{"ResourcePath", path}, {"RequestType", "Update"}, {"Settings", 160}});
    ASSERT_EQ(shrunk.hr, S_OK) << describe(shrunk.hr) << " " << shrunk.document;
    auto deadline = std::chrono::steady_clock::now() + c_GuestPollBound;
    long after = before;
    while (std::chrono::steady_clock::now() < deadline && before - after < 80 * 1024) {
        after = memTotalKiB();
        std::this_thread::sleep_for(500ms);
    }
    EXPECT_GE(before - after, 80 * 1024) << "MemTotal " << before << " kB -> " << after << " kB";
    json memory = properties(system(), R"({"PropertyTypes": ["Memory"]})")["Memory"];
    EXPECT_EQ(memory["VirtualMachineMemory"]["AssignedMemory"], 160) << memory.dump();
    EXPECT_EQ(memory["Balloon"]["TargetSizeInMB"], 160) << memory.dump();
    EXPECT_EQ(configuration()["VirtualMachine"]["ComputeTopology"]["Memory"]["SizeInMB"], 160);

    CallOutcome tooMuch = modify(system(), {{"ResourcePath", path}, {"RequestType", "Update"}, {"Settings", 512}});
    EXPECT_EQ(tooMuch.hr, E_INVALIDARG) << tooMuch.document;
    CallOutcome restored = modify(system(), {{"ResourcePath", path}, {"RequestType", "Update"}, {"Settings", 256}});
    EXPECT_EQ(restored.hr, S_OK) << restored.document;
}

// hcsctl modify ID FILE: the request from a file, "{}" once applied; a refusal names the path.
TEST_F(GuestModify, HcsctlModifyAppliesARequestFromAFile)
{
    const std::string hcsctl = buildDirectory() + "/tools/hcsctl/hcsctl";
    const std::string path = "VirtualMachine/ComputeTopology/Memory/SizeInMB";
    std::ofstream(s_dir + "/shrink.json") << json{{"ResourcePath", path}, {"RequestType", "Update"}, {"Settings", 224}};
    ProgramResult shrunk = runProgram({hcsctl, "modify", "GuestModify.shared", s_dir + "/shrink.json"}, 120s);
    EXPECT_EQ(shrunk.exitCode, 0) << shrunk.out << shrunk.err;
    EXPECT_EQ(shrunk.out, "{}\n");
    EXPECT_EQ(configuration()["VirtualMachine"]["ComputeTopology"]["Memory"]["SizeInMB"], 224);

    std::ofstream(s_dir + "/refused.json")
        << json{{"ResourcePath", "VirtualMachine/Devices/Battery"}, {"RequestType", "Add"}, {"Settings", json::object()}};
    ProgramResult refused = runProgram({hcsctl, "modify", "GuestModify.shared", s_dir + "/refused.json"}, 120s);
    EXPECT_NE(refused.exitCode, 0);
    EXPECT_NE((refused.out + refused.err).find("VirtualMachine/Devices/Battery"), std::string::npos)
        << refused.out << refused.err;
    EXPECT_EQ(configuration()["VirtualMachine"]["ComputeTopology"]["Memory"]["SizeInMB"], 224);
}

TEST_F(GuestModify, RefusedPathsNameThemselves)
{
    auto refused = [&](const json& request, HRESULT hr) {
        CallOutcome r = modify(system(), request);
        EXPECT_EQ(r.hr, hr) << describe(r.hr) << " " << r.document;
        EXPECT_NE(r.document.find(request["ResourcePath"].get<std::string>()), std::string::npos) << r.document;
    };
    refused({{"ResourcePath", "VirtualMachine/Devices/Plan9/Shares"},
             {"RequestType", "Add"},
             {"Settings", {{"Name", "s"}, {"Path", s_dir}}}},
            E_NOTIMPL);
    refused({{"ResourcePath", "VirtualMachine/Devices/ComPorts/1"},
             {"RequestType", "Add"},
             {"Settings", {{"NamedPipe", "\\\\.\\pipe\\x"}}}},
            E_NOTIMPL);
    refused(
        {{"ResourcePath", "VirtualMachine/Devices/VideoMonitor"}, {"RequestType", "Add"}, {"Settings", json::object()}},
        E_NOTIMPL);
    refused({{"ResourcePath", "VirtualMachine/Devices/Scsi/none/Attachments/0"},
             {"RequestType", "Add"},
             {"Settings", {{"Type", "VirtualDisk"}, {"Path", s_dir + "/create.img"}}}},
            HRESULT_FROM_WIN32(ERROR_NOT_FOUND));
}

}  // namespace
}  // namespace hcs_test
