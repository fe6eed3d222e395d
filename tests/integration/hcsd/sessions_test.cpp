// hcsd sessions: systems outlive their creator, cross-connection open/enumerate, terminate on last
// handle closed (also when the creator is killed), re-adoption after an hcsd restart.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "hcsd_harness.h"

namespace hcsd_test {
namespace {

constexpr int32_t kNotFound = static_cast<int32_t>(0x8037010E);
constexpr int32_t kAlreadyExists = static_cast<int32_t>(0x8037010F);

json ids(const Reply& r)
{
    json out = json::array();
    for (const auto& p : r.result())
        out.push_back(p["Id"]);
    return out;
}

TEST(HcsdSessions, SystemOutlivesCreatorAndOpensElsewhere)
{
    HcsdProcess hcsd;
    {
        RawClient a(hcsd.socketPath());
        ASSERT_TRUE(
            a.call("CreateComputeSystem",
                   {{"handle", 1}, {"id", "shared"}, {"configuration", kernelGuestConfig("initrd-idle.gz").dump()}})
                .ok());
        Reply dup =
            a.call("CreateComputeSystem",
                   {{"handle", 2}, {"id", "shared"}, {"configuration", kernelGuestConfig("initrd-idle.gz").dump()}});
        EXPECT_EQ(dup.hr(), kAlreadyExists);
        EXPECT_EQ(dup.raw["error"]["document"]["Error"], kAlreadyExists);
        ASSERT_TRUE(a.call("StartComputeSystem", {{"handle", 1}}).ok());
    }  // creator disconnects without closing

    RawClient b(hcsd.socketPath());
    EXPECT_EQ(ids(b.call("EnumerateComputeSystems", json::object())), json::array({"shared"}));
    EXPECT_EQ(ids(b.call("EnumerateComputeSystems", {{"query", {{"Owners", {"hcsd-integration"}}}}})),
              json::array({"shared"}));
    EXPECT_TRUE(b.call("EnumerateComputeSystems", {{"query", {{"Ids", {"other"}}}}}).result().empty());
    EXPECT_TRUE(b.call("EnumerateComputeSystems", {{"query", {{"Types", {"Container"}}}}}).result().empty());
    EXPECT_EQ(b.call("OpenComputeSystem", {{"handle", 1}, {"id", "nope"}}).hr(), kNotFound);
    ASSERT_TRUE(b.call("OpenComputeSystem", {{"handle", 7}, {"id", "shared"}}).ok());
    Reply props = b.call("GetComputeSystemProperties", {{"handle", 7}});
    EXPECT_EQ(props.result()["State"], "Running");
    EXPECT_EQ(props.result()["Owner"], "hcsd-integration");

    // A second opener sees the exit too.
    RawClient c(hcsd.socketPath());
    ASSERT_TRUE(c.call("OpenComputeSystem", {{"handle", 3}, {"id", "shared"}}).ok());
    ASSERT_TRUE(b.call("TerminateComputeSystem", {{"handle", 7}}).ok());
    EXPECT_TRUE(b.waitEvent("SystemExited", 7, 5s));
    EXPECT_TRUE(c.waitEvent("SystemExited", 3, 5s));
}

TEST(HcsdSessions, KilledClientReleasesItsHandles)
{
    HcsdProcess hcsd;
    std::string config = kernelGuestConfig("initrd-idle.gz", /*terminateOnLastHandle=*/true).dump();
    // The creator is a separate process, killed while holding the only handle.
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t child = fork();
    if (child == 0) {
        close(ready[0]);
        RawClient a(hcsd.socketPath());
        bool ok = a.call("CreateComputeSystem", {{"handle", 1}, {"id", "ephemeral"}, {"configuration", config}}).ok() &&
                  a.call("StartComputeSystem", {{"handle", 1}}).ok();
        char byte = ok ? 1 : 0;
        if (write(ready[1], &byte, 1) != 1) _exit(2);
        pause();
        _exit(0);
    }
    close(ready[1]);
    char byte = 0;
    ASSERT_EQ(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    ASSERT_EQ(byte, 1) << "child could not create the system";

    RawClient b(hcsd.socketPath());
    ASSERT_TRUE(b.call("OpenComputeSystem", {{"handle", 1}, {"id", "ephemeral"}}).ok());
    ASSERT_TRUE(b.call("CloseComputeSystem", {{"handle", 1}}).ok());  // not the last handle: still running
    auto pids = hcsd.qemuPids();
    ASSERT_EQ(pids.size(), 1u);
    EXPECT_TRUE(processAlive(pids[0]));

    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    EXPECT_TRUE(waitProcessGone(pids[0], 10s)) << "QEMU still runs after the last handle's owner died";
    for (int i = 0; i < 100 && !b.call("EnumerateComputeSystems", json::object()).result().empty(); ++i) {
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(b.call("EnumerateComputeSystems", json::object()).result().empty());
}

TEST(HcsdSessions, RestartedHcsdReadoptsRunningSystems)
{
    HcsdProcess hcsd;
    {
        RawClient a(hcsd.socketPath());
        ASSERT_TRUE(
            a.call("CreateComputeSystem",
                   {{"handle", 1}, {"id", "survivor"}, {"configuration", kernelGuestConfig("initrd-idle.gz").dump()}})
                .ok());
        ASSERT_TRUE(a.call("StartComputeSystem", {{"handle", 1}}).ok());
        ASSERT_TRUE(a.call("PauseComputeSystem", {{"handle", 1}}).ok());
    }
    auto pids = hcsd.qemuPids();
    ASSERT_EQ(pids.size(), 1u);
    hcsd.kill(SIGKILL);  // a crash: no chance to clean up
    EXPECT_TRUE(processAlive(pids[0]));
    hcsd.start();
    RawClient b(hcsd.socketPath());
    // Right after the restart: systems still being re-adopted are listed too (Enumerate waits for them).
    json list = b.call("EnumerateComputeSystems", json::object()).result();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["Id"], "survivor");
    EXPECT_EQ(list[0]["State"], "Paused");
    ASSERT_TRUE(b.call("OpenComputeSystem", {{"handle", 1}, {"id", "survivor"}}).ok());
    ASSERT_TRUE(b.call("ResumeComputeSystem", {{"handle", 1}}).ok());
    ASSERT_TRUE(b.call("TerminateComputeSystem", {{"handle", 1}}).ok());
    EXPECT_TRUE(waitProcessGone(pids[0], 5s));
}

// hcsd stopped by `signal` while a Create cannot finish: no QEMU may survive it unlisted.
void stopHcsdDuringCreate(int signal)
{
    // A "QEMU" that stops itself before it becomes QEMU: the Create can never finish, deterministically.
    char tmpl[] = "/tmp/hcsd-frozen-qemu-XXXXXX";
    std::string scriptDir = mkdtemp(tmpl);
    std::string script = scriptDir + "/qemu";
    {
        std::ofstream out(script);
        out << "#!/bin/sh\nkill -STOP $$\nexec qemu-system-x86_64 \"$@\"\n";
    }
    chmod(script.c_str(), 0755);
    setenv("HCSD_QEMU", script.c_str(), 1);
    HcsdProcess hcsd;
    unsetenv("HCSD_QEMU");
    pid_t qemu = -1;
    {
        RawClient a(hcsd.socketPath());
        uint64_t create =
            a.post("CreateComputeSystem",
                   {{"handle", 1}, {"id", "half-made"}, {"configuration", kernelGuestConfig("initrd-idle.gz").dump()}});
        // hcsd records the pid right after the spawn, before it answers anything else.
        ASSERT_EQ(a.call("GetServiceProperties", json::object()).result()["Properties"][1]["ComputeSystemCount"], 1);
        auto pids = hcsd.qemuPids();
        ASSERT_EQ(pids.size(), 1u);
        qemu = pids[0];
        EXPECT_FALSE(a.tryWaitReply(create, 0ms)) << "the Create finished although QEMU is frozen";
        hcsd.kill(signal);
    }
    if (signal == SIGKILL) {
        ASSERT_TRUE(processAlive(qemu));  // a crash cannot clean up: the next hcsd must
    } else {
        EXPECT_TRUE(waitProcessGone(qemu, 5s)) << "hcsd stopped but left its half-created QEMU running";
    }
    hcsd.start();
    EXPECT_TRUE(waitProcessGone(qemu, 10s)) << "a QEMU whose Create never finished was left running";
    RawClient b(hcsd.socketPath());
    EXPECT_TRUE(b.call("EnumerateComputeSystems", json::object()).result().empty());
    std::error_code ec;
    std::filesystem::remove_all(scriptDir, ec);
}

TEST(HcsdSessions, CrashDuringCreateLeavesNoQemuBehind)
{
    stopHcsdDuringCreate(SIGKILL);
}

TEST(HcsdSessions, SigtermDuringCreateLeavesNoQemuBehind)
{
    stopHcsdDuringCreate(SIGTERM);
}

TEST(HcsdSessions, RestartedHcsdTerminatesSystemsWhoseHandlesDiedWithIt)
{
    HcsdProcess hcsd;
    {
        RawClient a(hcsd.socketPath());
        std::string config = kernelGuestConfig("initrd-idle.gz", /*terminateOnLastHandle=*/true).dump();
        ASSERT_TRUE(
            a.call("CreateComputeSystem", {{"handle", 1}, {"id", "handle-bound"}, {"configuration", config}}).ok());
        auto pids = hcsd.qemuPids();
        ASSERT_EQ(pids.size(), 1u);
        hcsd.kill(SIGKILL);  // the client's handle dies with this hcsd
        EXPECT_TRUE(processAlive(pids[0]));
        hcsd.start();
        EXPECT_TRUE(waitProcessGone(pids[0], 10s)) << "a re-adopted handle-bound system kept running";
    }
    RawClient b(hcsd.socketPath());
    // Still being terminated: wait for its exit through a handle; already gone: Open says so.
    Reply open = b.call("OpenComputeSystem", {{"handle", 1}, {"id", "handle-bound"}});
    if (open.ok()) {
        EXPECT_EQ(b.call("WaitForComputeSystemExit", {{"handle", 1}}).result()["ExitType"], "ForcedExit");
        ASSERT_TRUE(b.call("CloseComputeSystem", {{"handle", 1}}).ok());
    } else {
        EXPECT_EQ(open.hr(), kNotFound);
    }
    json list = b.call("EnumerateComputeSystems", json::object()).result();
    EXPECT_TRUE(list.empty()) << list.dump();
}

}  // namespace
}  // namespace hcsd_test
