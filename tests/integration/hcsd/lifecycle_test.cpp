// hcsd with real QEMU: the lifecycle, exits and their attribution, properties.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>

#include "hcsd_harness.h"

namespace hcsd_test {
namespace {

constexpr int32_t kInvalidState = static_cast<int32_t>(0x80370105);
constexpr int32_t kAlreadyStopped = static_cast<int32_t>(0x80370110);
constexpr int32_t kUnexpectedExit = static_cast<int32_t>(0x80370106);
constexpr int32_t kNotImpl = static_cast<int32_t>(0x80004001);
constexpr int32_t kInvalidJson = static_cast<int32_t>(0x8037010D);
constexpr int32_t kTimeout = static_cast<int32_t>(0x80370118);
constexpr int32_t kCancelled = static_cast<int32_t>(0x80370121);

std::string stateOf(RawClient& c, uint64_t handle)
{
    Reply r = c.call("GetComputeSystemProperties", {{"handle", handle}});
    EXPECT_TRUE(r.ok()) << r.raw.dump();
    return r.ok() ? r.result()["State"].get<std::string>() : "";
}

TEST(HcsdLifecycle, CreateStartPauseResumeTerminate)
{
    HcsdProcess hcsd;
    RawClient c(hcsd.socketPath());
    Reply created =
        c.call("CreateComputeSystem",
               {{"handle", 1}, {"id", "life"}, {"configuration", kernelGuestConfig("initrd-idle.gz").dump()}});
    ASSERT_TRUE(created.ok()) << created.raw.dump();
    EXPECT_EQ(stateOf(c, 1), "Created");

    Reply pause = c.call("PauseComputeSystem", {{"handle", 1}});
    EXPECT_EQ(pause.hr(), kInvalidState);
    EXPECT_EQ(pause.message(), "Pause is not valid for a compute system in state Created");
    EXPECT_EQ(pause.raw["error"]["document"]["Error"], kInvalidState);

    ASSERT_TRUE(c.call("StartComputeSystem", {{"handle", 1}}).ok());
    EXPECT_EQ(stateOf(c, 1), "Running");
    EXPECT_EQ(c.call("StartComputeSystem", {{"handle", 1}}).hr(), kInvalidState);
    ASSERT_TRUE(c.call("PauseComputeSystem", {{"handle", 1}}).ok());
    EXPECT_EQ(stateOf(c, 1), "Paused");
    EXPECT_EQ(c.call("ShutDownComputeSystem", {{"handle", 1}}).hr(), kInvalidState);
    ASSERT_TRUE(c.call("ResumeComputeSystem", {{"handle", 1}}).ok());
    EXPECT_EQ(stateOf(c, 1), "Running");

    // Unsupported calls say so; they never pretend to succeed.
    Reply save = c.call("SaveComputeSystem", {{"handle", 1}});
    EXPECT_EQ(save.hr(), kInvalidState) << "Save of a running system";
    Reply modify = c.call("ModifyComputeSystem",
                          {{"handle", 1}, {"configuration", R"({"ResourcePath": "VirtualMachine/Devices/Scsi/0",
                                                                         "RequestType": "Add", "Settings": {}})"}});
    EXPECT_EQ(modify.hr(), kNotImpl);
    EXPECT_NE(modify.message().find("VirtualMachine/Devices/Scsi/0"), std::string::npos);
    // Crash itself is tested in tests/integration/hcs/save_restore_test.cpp (it ends the system); here only
    // that options it does not know are refused by name while the system keeps running.
    Reply crash = c.call("CrashComputeSystem", {{"handle", 1}, {"options", R"({"Type":"CrashHost"})"}});
    EXPECT_EQ(crash.hr(), kInvalidJson);
    EXPECT_NE(crash.message().find("Type"), std::string::npos) << crash.message();

    // Statistics come from the QEMU process.
    Reply stats = c.call("GetComputeSystemProperties", {{"handle", 1}, {"query", {{"PropertyTypes", {"Statistics"}}}}});
    ASSERT_TRUE(stats.ok()) << stats.raw.dump();
    EXPECT_GT(stats.result()["Statistics"]["Memory"]["MemoryUsageCommitBytes"].get<uint64_t>(), 1u << 20);
    EXPECT_GT(stats.result()["Statistics"]["Uptime100ns"].get<uint64_t>(), 0u);
    EXPECT_TRUE(stats.result()["Statistics"]["Processor"].contains("TotalRuntime100ns"));
    std::string runtimeId = stats.result()["RuntimeId"];
    EXPECT_EQ(runtimeId.size(), 36u);

    auto pids = hcsd.qemuPids();
    ASSERT_EQ(pids.size(), 1u);
    ASSERT_TRUE(c.call("TerminateComputeSystem", {{"handle", 1}}).ok());
    auto exited = c.waitEvent("SystemExited", 1, 10s);
    ASSERT_TRUE(exited) << "no SystemExited event";
    EXPECT_EQ((*exited)["data"]["ExitType"], "ForcedExit");
    EXPECT_EQ((*exited)["data"]["Attribution"][0]["SystemExit"]["Detail"], "Terminate");
    EXPECT_EQ((*exited)["data"]["Attribution"][0]["SystemExit"]["Initiator"], "Client");
    EXPECT_TRUE(waitProcessGone(pids[0], 5s));

    EXPECT_EQ(c.call("TerminateComputeSystem", {{"handle", 1}}).hr(), kAlreadyStopped);
    EXPECT_EQ(c.call("ShutDownComputeSystem", {{"handle", 1}}).hr(), kAlreadyStopped);
    Reply props = c.call("GetComputeSystemProperties", {{"handle", 1}});
    EXPECT_EQ(props.result()["State"], "Stopped");
    EXPECT_EQ(props.result()["Stopped"], true);
    EXPECT_EQ(props.result()["ExitType"], "ForcedExit");
    Reply wait = c.call("WaitForComputeSystemExit", {{"handle", 1}, {"timeoutMs", 0}});
    EXPECT_EQ(wait.result()["ExitType"], "ForcedExit");
    ASSERT_TRUE(c.call("CloseComputeSystem", {{"handle", 1}}).ok());
    EXPECT_TRUE(c.call("EnumerateComputeSystems", json::object()).result().empty());
}

TEST(HcsdLifecycle, GuestPowerOffIsGracefulExit)
{
    HcsdProcess hcsd;
    RawClient c(hcsd.socketPath());
    ASSERT_TRUE(
        c.call("CreateComputeSystem",
               {{"handle", 1}, {"id", "poweroff"}, {"configuration", kernelGuestConfig("initrd-poweroff.gz").dump()}})
            .ok());
    ASSERT_TRUE(c.call("StartComputeSystem", {{"handle", 1}}).ok());
    Reply wait = c.call("WaitForComputeSystemExit", {{"handle", 1}, {"timeoutMs", 60000}}, 65s);
    ASSERT_TRUE(wait.ok()) << wait.raw.dump();
    EXPECT_EQ(wait.result()["Status"], 0);
    EXPECT_EQ(wait.result()["ExitType"], "GracefulExit");
    EXPECT_EQ(wait.result()["Attribution"][0]["SystemExit"]["Detail"], "Shutdown");
    EXPECT_EQ(wait.result()["Attribution"][0]["SystemExit"]["Initiator"], "GuestOS");
    auto event = c.waitEvent("SystemExited", 1, 5s);
    ASSERT_TRUE(event);
    EXPECT_EQ((*event)["data"]["ExitType"], "GracefulExit");
}

TEST(HcsdLifecycle, ShutDownPressesThePowerButton)
{
    HcsdProcess hcsd;
    RawClient c(hcsd.socketPath());
    std::string console = hcsd.stateDir() + "/pipes/idle-console";
    ASSERT_TRUE(
        c.call("CreateComputeSystem",
               {{"handle", 1},
                {"id", "idle"},
                {"configuration", kernelGuestConfig("initrd-idle.gz", false, "\\\\.\\pipe\\idle-console").dump()}})
            .ok());
    ASSERT_TRUE(c.call("StartComputeSystem", {{"handle", 1}}).ok());
    // The power button is only heard once the guest loaded its driver (the marker says so).
    ASSERT_TRUE(waitForConsole(console, "HCS-TEST-GUEST: idle", 60s)) << "guest never printed its idle marker";
    // The guest prints its marker just before it opens the button device, so a press can still be
    // lost; a ShutDown that is not answered is cancelled (exercising Cancel) and pressed again.
    std::optional<Reply> shutdown;
    for (int attempt = 0; attempt < 5 && !shutdown; ++attempt) {
        uint64_t id = c.post("ShutDownComputeSystem", {{"handle", 1}});
        shutdown = c.tryWaitReply(id, 3s);
        if (!shutdown) {
            EXPECT_TRUE(c.call("Cancel", {{"requestId", id}}).ok());
            Reply cancelled = c.waitReply(id);
            if (cancelled.hr() != kCancelled) shutdown = cancelled;  // it finished first
        }
    }
    ASSERT_TRUE(shutdown && shutdown->ok()) << (shutdown ? shutdown->raw.dump() : "no reply");
    auto event = c.waitEvent("SystemExited", 1, 5s);
    ASSERT_TRUE(event);
    EXPECT_EQ((*event)["data"]["ExitType"], "GracefulExit");
    EXPECT_EQ((*event)["data"]["Attribution"][0]["SystemExit"]["Initiator"], "Client");
}

TEST(HcsdLifecycle, KilledQemuIsUnexpectedExit)
{
    HcsdProcess hcsd;
    RawClient c(hcsd.socketPath());
    ASSERT_TRUE(c.call("CreateComputeSystem",
                       {{"handle", 1}, {"id", "victim"}, {"configuration", kernelGuestConfig("initrd-idle.gz").dump()}})
                    .ok());
    ASSERT_TRUE(c.call("StartComputeSystem", {{"handle", 1}}).ok());
    uint64_t waitId = c.post("WaitForComputeSystemExit", {{"handle", 1}});
    auto pids = hcsd.qemuPids();
    ASSERT_EQ(pids.size(), 1u);
    ASSERT_EQ(kill(pids[0], SIGKILL), 0);
    auto event = c.waitEvent("SystemExited", 1, 10s);
    ASSERT_TRUE(event);
    EXPECT_EQ((*event)["data"]["Status"], kUnexpectedExit);
    EXPECT_EQ((*event)["data"]["ExitType"], "UnexpectedExit");
    EXPECT_EQ((*event)["data"]["Attribution"][0]["SystemExit"]["Detail"], "UnexpectedExit");
    Reply wait = c.waitReply(waitId);
    EXPECT_EQ(wait.result()["ExitType"], "UnexpectedExit");
    EXPECT_EQ(stateOf(c, 1), "Stopped");
}

TEST(HcsdLifecycle, TerminateEndsASigstoppedQemuWhileACallWaitsForIt)
{
    HcsdProcess hcsd;
    RawClient c(hcsd.socketPath());
    ASSERT_TRUE(c.call("CreateComputeSystem",
                       {{"handle", 1}, {"id", "frozen"}, {"configuration", kernelGuestConfig("initrd-idle.gz").dump()}})
                    .ok());
    ASSERT_TRUE(c.call("StartComputeSystem", {{"handle", 1}}).ok());
    auto pids = hcsd.qemuPids();
    ASSERT_EQ(pids.size(), 1u);
    ASSERT_EQ(kill(pids[0], SIGSTOP), 0);
    uint64_t pause = c.post("PauseComputeSystem", {{"handle", 1}});  // QEMU never answers
    uint64_t terminate = c.post("TerminateComputeSystem", {{"handle", 1}});
    // "quit" goes unanswered too; the grace period (3 s) ends in SIGKILL.
    Reply terminated = c.waitReply(terminate, 10s);
    EXPECT_TRUE(terminated.ok()) << terminated.raw.dump();
    EXPECT_FALSE(c.waitReply(pause, 5s).ok());
    EXPECT_TRUE(waitProcessGone(pids[0], 5s));
    EXPECT_EQ(stateOf(c, 1), "Stopped");
}

TEST(HcsdLifecycle, ConsoleSocketIsPrivateWhateverTheUmask)
{
    mode_t previous = umask(0);  // hcsd inherits it
    HcsdProcess hcsd;
    umask(previous);
    RawClient c(hcsd.socketPath());
    std::string config = kernelGuestConfig("initrd-idle.gz", false, "\\\\.\\pipe\\private-console").dump();
    ASSERT_TRUE(c.call("CreateComputeSystem", {{"handle", 1}, {"id", "private"}, {"configuration", config}}).ok());
    struct stat st {};
    ASSERT_EQ(stat((hcsd.stateDir() + "/pipes/private-console").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u) << "console socket mode " << std::oct << (st.st_mode & 0777);
    for (const auto& entry : std::filesystem::recursive_directory_iterator(hcsd.stateDir() + "/systems")) {
        struct stat file {};
        ASSERT_EQ(lstat(entry.path().c_str(), &file), 0);
        EXPECT_EQ(file.st_mode & 077, 0u) << entry.path() << " mode " << std::oct << (file.st_mode & 0777);
    }
    ASSERT_TRUE(c.call("TerminateComputeSystem", {{"handle", 1}}).ok());
}

TEST(HcsdLifecycle, UefiVmStartsAndTerminates)
{
    HcsdProcess hcsd;
    RawClient c(hcsd.socketPath());
    Reply created =
        c.call("CreateComputeSystem", {{"handle", 1}, {"id", "uefi"}, {"configuration", uefiConfig().dump()}});
    ASSERT_TRUE(created.ok()) << created.raw.dump();
    ASSERT_TRUE(c.call("StartComputeSystem", {{"handle", 1}}).ok());
    EXPECT_EQ(stateOf(c, 1), "Running");
    ASSERT_TRUE(c.call("TerminateComputeSystem", {{"handle", 1}}).ok());
    EXPECT_EQ(stateOf(c, 1), "Stopped");
}

TEST(HcsdLifecycle, WaitTimesOutAndCanBeCancelled)
{
    HcsdProcess hcsd;
    RawClient c(hcsd.socketPath());
    ASSERT_TRUE(c.call("CreateComputeSystem",
                       {{"handle", 1}, {"id", "waiter"}, {"configuration", kernelGuestConfig("initrd-idle.gz").dump()}})
                    .ok());
    auto start = std::chrono::steady_clock::now();
    Reply timedOut = c.call("WaitForComputeSystemExit", {{"handle", 1}, {"timeoutMs", 200}});
    EXPECT_EQ(timedOut.hr(), kTimeout);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
    uint64_t waitId = c.post("WaitForComputeSystemExit", {{"handle", 1}});
    // The daemon keeps serving while a wait is outstanding.
    EXPECT_EQ(stateOf(c, 1), "Created");
    Reply cancel = c.call("Cancel", {{"requestId", waitId}});
    EXPECT_TRUE(cancel.ok());
    EXPECT_EQ(c.waitReply(waitId).hr(), kCancelled);
    ASSERT_TRUE(c.call("TerminateComputeSystem", {{"handle", 1}}).ok());
}

}  // namespace
}  // namespace hcsd_test
