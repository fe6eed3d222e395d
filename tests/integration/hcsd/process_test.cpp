// hcsd's processes with real QEMU (TCG) booting the agent test guest (HCS_AGENT_INITRD: the guest agent
// started by init), driven over hcsd's socket with raw protocol lines: output through the descriptors
// that came with the CreateProcess reply, exit codes, signals, terminate, the VM's end ending its
// processes, and a hostile agent that must not hurt hcsd or another VM.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "hcsd_harness.h"

namespace hcsd_test {
namespace {

constexpr int32_t kConnectionClosed = static_cast<int32_t>(0x8037010A);
constexpr int32_t kConnectionTimeout = static_cast<int32_t>(0x80370109);
constexpr int32_t kAlreadyStopped = static_cast<int32_t>(0x8037011F);
constexpr auto kBoot = 90s;  // TCG boot plus the agent's hello on a busy machine

json agentGuestConfig(const std::string& extraCmdline = "")
{
    json config = kernelGuestConfig("initrd-idle.gz");
    auto& lkd = config["VirtualMachine"]["Chipset"]["LinuxKernelDirect"];
    lkd["InitRdPath"] = HCS_AGENT_INITRD;
    lkd["KernelCmdLine"] = "console=ttyS0 quiet panic=-1" + (extraCmdline.empty() ? "" : " " + extraCmdline);
    config["VirtualMachine"]["GuestConnection"] = json::object();
    return config;
}

// Reads until EOF (bounded), for a pipe the guest process writes.
std::string readToEnd(int fd, std::chrono::milliseconds timeout = 30s)
{
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        char buffer[4096];
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n <= 0) return out;
        out.append(buffer, static_cast<size_t>(n));
    }
    ADD_FAILURE() << "no EOF within the timeout; read so far: " << out;
    return out;
}

void createAndStart(RawClient& c, uint64_t handle, const std::string& id, const json& config)
{
    Reply created = c.call("CreateComputeSystem", {{"handle", handle}, {"id", id}, {"configuration", config.dump()}});
    ASSERT_TRUE(created.ok()) << created.raw.dump();
    Reply started = c.call("StartComputeSystem", {{"handle", handle}}, kBoot);
    ASSERT_TRUE(started.ok()) << started.raw.dump();
}

TEST(HcsdProcesses, RunOutputExitSignalAndTheVmsEnd)
{
    HcsdProcess hcsd;
    RawClient c(hcsd.socketPath());
    ASSERT_NO_FATAL_FAILURE(createAndStart(c, 1, "agent", agentGuestConfig()));
    Reply guest =
        c.call("GetComputeSystemProperties", {{"handle", 1}, {"query", {{"PropertyTypes", {"GuestConnection"}}}}});
    ASSERT_TRUE(guest.ok()) << guest.raw.dump();
    EXPECT_EQ(guest.result()["GuestConnection"]["Connected"], true) << guest.raw.dump();

    // stdin -> the process -> stdout and stderr, each through its own descriptor; then the exit code.
    uint64_t create =
        c.post("CreateProcess", {{"handle", 1},
                                 {"process", 10},
                                 {"parameters",
                                  {{"CommandLine", "sh -c 'read line; echo \"got $line\"; echo oops >&2; exit 7'"},
                                   {"CreateStdInPipe", true},
                                   {"CreateStdOutPipe", true},
                                   {"CreateStdErrPipe", true}}}});
    Reply created = c.waitReply(create, 60s);
    ASSERT_TRUE(created.ok()) << created.raw.dump();
    EXPECT_EQ(created.raw.value("fds", 0), 3);
    auto fds = c.takeDescriptors(create);
    ASSERT_EQ(fds.size(), 3u);
    const uint32_t pid = created.result()["ProcessId"].get<uint32_t>();
    EXPECT_GT(pid, 1u);
    ASSERT_EQ(write(fds[0].get(), "hello\n", 6), 6);
    fds[0].reset();
    EXPECT_EQ(readToEnd(fds[1].get()), "got hello\n");
    EXPECT_EQ(readToEnd(fds[2].get()), "oops\n");
    Reply waited = c.call("WaitForProcessExit", {{"handle", 10}}, 30s);
    ASSERT_TRUE(waited.ok()) << waited.raw.dump();
    EXPECT_EQ(waited.result()["ExitCode"], 7);
    EXPECT_EQ(waited.result()["ProcessId"], pid);
    auto exited = c.waitEvent("ProcessExited", 10, 10s);
    ASSERT_TRUE(exited);
    EXPECT_EQ((*exited)["data"]["ExitCode"], 7);
    EXPECT_FALSE(c.waitEvent("ProcessExited", 1, 0ms)) << "never on the system handle";

    // Signal and terminate; a second client opens by pid and waits.
    Reply sleeper = c.call("CreateProcess",
                           {{"handle", 1}, {"process", 11}, {"parameters", {{"CommandArgs", {"sleep", "600"}}}}}, 60s);
    ASSERT_TRUE(sleeper.ok()) << sleeper.raw.dump();
    uint32_t sleeperPid = sleeper.result()["ProcessId"].get<uint32_t>();
    Reply list = c.call("GetComputeSystemProperties", {{"handle", 1}, {"query", {{"PropertyTypes", {"ProcessList"}}}}});
    bool listed = false;
    for (const auto& p : list.result()["ProcessList"])
        listed = listed || p["ProcessId"] == sleeperPid;
    EXPECT_TRUE(listed) << list.raw.dump();
    RawClient other(hcsd.socketPath());
    ASSERT_TRUE(other.call("OpenComputeSystem", {{"handle", 1}, {"id", "agent"}}).ok());
    ASSERT_TRUE(other.call("OpenProcess", {{"handle", 1}, {"process", 2}, {"processId", sleeperPid}}).ok());
    uint64_t otherWait = other.post("WaitForProcessExit", {{"handle", 2}});
    Reply signalled = c.call("SignalProcess", {{"handle", 11}, {"options", {{"Signal", 15}}}}, 30s);
    EXPECT_TRUE(signalled.ok()) << signalled.raw.dump();
    Reply status = other.waitReply(otherWait, 30s);
    ASSERT_TRUE(status.ok()) << status.raw.dump();
    EXPECT_EQ(status.result()["Signal"], 15) << status.raw.dump();
    EXPECT_EQ(c.call("TerminateProcess", {{"handle", 11}}).hr(), kAlreadyStopped);

    Reply victim =
        c.call("CreateProcess", {{"handle", 1}, {"process", 12}, {"parameters", {{"CommandLine", "sleep 600"}}}}, 60s);
    ASSERT_TRUE(victim.ok()) << victim.raw.dump();
    ASSERT_TRUE(c.call("TerminateProcess", {{"handle", 12}}, 30s).ok());
    Reply killed = c.call("WaitForProcessExit", {{"handle", 12}}, 30s);
    EXPECT_EQ(killed.result()["Signal"], SIGKILL) << killed.raw.dump();

    // The VM's end ends every process: the wait answers, the event comes.
    Reply last =
        c.call("CreateProcess", {{"handle", 1}, {"process", 13}, {"parameters", {{"CommandLine", "sleep 600"}}}}, 60s);
    ASSERT_TRUE(last.ok()) << last.raw.dump();
    uint64_t lastWait = c.post("WaitForProcessExit", {{"handle", 13}});
    ASSERT_TRUE(c.call("TerminateComputeSystem", {{"handle", 1}}, 30s).ok());
    Reply ended = c.waitReply(lastWait, 30s);
    ASSERT_TRUE(ended.ok()) << ended.raw.dump();
    EXPECT_EQ(ended.result()["LastWaitResult"], kConnectionClosed) << ended.raw.dump();
    EXPECT_TRUE(c.waitEvent("ProcessExited", 13, 10s));
}

TEST(HcsdProcesses, ARestartedHcsdTalksToTheSameAgentAgain)
{
    HcsdProcess hcsd;
    {
        RawClient c(hcsd.socketPath());
        ASSERT_NO_FATAL_FAILURE(createAndStart(c, 1, "survivor", agentGuestConfig()));
    }
    hcsd.kill(SIGTERM);  // the VM keeps running; the new hcsd re-adopts it and opens a new channel
    hcsd.start();
    RawClient c(hcsd.socketPath());
    ASSERT_TRUE(c.call("OpenComputeSystem", {{"handle", 1}, {"id", "survivor"}}).ok());
    uint64_t create =
        c.post("CreateProcess", {{"handle", 1},
                                 {"process", 2},
                                 {"parameters", {{"CommandArgs", {"echo", "again"}}, {"CreateStdOutPipe", true}}}});
    Reply created = c.waitReply(create, kBoot);
    ASSERT_TRUE(created.ok()) << created.raw.dump();
    auto fds = c.takeDescriptors(create);
    ASSERT_EQ(fds.size(), 1u);
    EXPECT_EQ(readToEnd(fds[0].get()), "again\n");
    EXPECT_EQ(c.call("WaitForProcessExit", {{"handle", 2}}, 30s).result()["ExitCode"], 0);
    EXPECT_TRUE(c.call("TerminateComputeSystem", {{"handle", 1}}, 30s).ok());
}

TEST(HcsdProcesses, AHostileAgentHurtsOnlyItsOwnSystem)
{
    HcsdProcess hcsd({"--agent-timeout", "20000"});
    RawClient c(hcsd.socketPath());
    ASSERT_NO_FATAL_FAILURE(createAndStart(c, 1, "good", agentGuestConfig()));
    for (const char* mode : {"garbage", "oversized", "hang"}) {
        SCOPED_TRACE(mode);
        std::string id = std::string("hostile-") + mode;
        Reply created = c.call("CreateComputeSystem",
                               {{"handle", 2},
                                {"id", id},
                                {"configuration", agentGuestConfig(std::string("hcs.hostile=") + mode).dump()}});
        ASSERT_TRUE(created.ok()) << created.raw.dump();
        Reply started = c.call("StartComputeSystem", {{"handle", 2}}, kBoot);
        // The hostile agent may say hello before misbehaving (Start succeeds) or never (Start times out).
        if (!started.ok()) {
            EXPECT_EQ(started.hr(), kConnectionTimeout) << started.raw.dump();
        }
        Reply process =
            c.call("CreateProcess", {{"handle", 2}, {"process", 20}, {"parameters", {{"CommandLine", "true"}}}}, kBoot);
        if (process.ok()) {
            // Started before the agent broke the protocol: its end must still come.
            Reply waited = c.call("WaitForProcessExit", {{"handle", 20}}, kBoot);
            EXPECT_TRUE(waited.ok()) << waited.raw.dump();
        } else {
            EXPECT_NE(process.message(), "") << process.raw.dump();
        }
        EXPECT_TRUE(processAlive(hcsd.pid())) << "hcsd died";
        // The good VM is unaffected.
        uint64_t create =
            c.post("CreateProcess", {{"handle", 1},
                                     {"process", 30},
                                     {"parameters", {{"CommandArgs", {"echo", mode}}, {"CreateStdOutPipe", true}}}});
        Reply echo = c.waitReply(create, 60s);
        ASSERT_TRUE(echo.ok()) << echo.raw.dump();
        auto fds = c.takeDescriptors(create);
        ASSERT_EQ(fds.size(), 1u);
        EXPECT_EQ(readToEnd(fds[0].get()), std::string(mode) + "\n");
        EXPECT_TRUE(c.call("WaitForProcessExit", {{"handle", 30}}, 30s).ok());
        EXPECT_TRUE(c.call("CloseProcess", {{"handle", 30}}).ok());
        EXPECT_TRUE(c.call("CloseProcess", {{"handle", 20}}).ok());
        EXPECT_TRUE(c.call("TerminateComputeSystem", {{"handle", 2}}, 30s).ok());
        EXPECT_TRUE(c.call("CloseComputeSystem", {{"handle", 2}}).ok());
    }
    EXPECT_TRUE(c.call("TerminateComputeSystem", {{"handle", 1}}, 30s).ok());
}

}  // namespace
}  // namespace hcsd_test
