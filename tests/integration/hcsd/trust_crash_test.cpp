// Issue 7, hole 2: hcsd killed (SIGKILL) or stopped (SIGTERM) while it creates a VM. Every QEMU the
// first hcsd spawned must, once a new hcsd runs on the same socket and state directory, either be listed
// by Enumerate (and then obey Terminate) or be gone — never keep running unlisted.
#include <signal.h>

#include <algorithm>
#include <sstream>
#include <thread>

#include "daemon_under_test.h"
#include "process_inspection.h"
#include "support/qemu_processes.h"
#include "trust_support.h"

namespace hcsd_test {
namespace {

using Clock = std::chrono::steady_clock;

struct KillPoint {
    const char* name;
    int signal;
    std::chrono::milliseconds delay;  // after sending Create; negative: after its reply
};

constexpr std::chrono::milliseconds kAfterReply{-1};

void PrintTo(const KillPoint& point, std::ostream* out)
{
    *out << point.name;
}

// The compute system id QEMU was started for: `-name guest=<id>`.
std::string guestIdOf(pid_t qemu)
{
    std::string name = optionValueOf(qemu, "-name");
    return name.rfind("guest=", 0) == 0 ? name.substr(6) : name;
}

class CrashDuringCreate : public ::testing::TestWithParam<KillPoint> {};

TEST_P(CrashDuringCreate, Hole2_EveryQemuIsReadoptedOrGone)
{
    const KillPoint point = GetParam();
    DaemonUnderTest hcsd;
    RawClient client(hcsd.socketPath());
    ASSERT_TRUE(client.connected());
    const std::string id = std::string("crash-") + point.name;
    uint64_t create = client.post("CreateComputeSystem",
                                  {{"handle", 1}, {"id", id}, {"configuration", kernelGuestConfig("initrd-idle.gz").dump()}});
    if (point.delay == kAfterReply) {
        Reply created = client.waitReply(create, 60s);
        ASSERT_TRUE(created.ok()) << created.raw.dump();
    } else {
        std::this_thread::sleep_for(point.delay);  // places the signal inside the Create; asserts nothing
    }
    hcsd.signal(point.signal);
    ASSERT_TRUE(hcsd.waitExit(15s)) << "hcsd did not exit within 15 s of signal " << point.signal;
    client.closeSocket();

    // What the first hcsd left running (QEMU's command line names the state directory).
    std::vector<std::pair<pid_t, std::string>> spawned;
    for (pid_t qemu : hcsd.qemuPids())
        spawned.emplace_back(qemu, guestIdOf(qemu));
    RecordProperty("qemu_left_by_first_hcsd", static_cast<int>(spawned.size()));

    ASSERT_TRUE(hcsd.start()) << "a new hcsd on the same state directory did not start";
    // A QEMU whose spawn was under way when hcsd died may appear only now.
    for (pid_t qemu : hcsd.qemuPids()) {
        bool known = std::any_of(spawned.begin(), spawned.end(), [&](const auto& entry) { return entry.first == qemu; });
        if (!known) spawned.emplace_back(qemu, guestIdOf(qemu));
    }
    RawClient observer(hcsd.socketPath());
    ASSERT_TRUE(observer.connected());

    // Each QEMU is resolved once it is gone or listed; the new hcsd gets 15 s to adopt or reap them.
    std::vector<std::string> listed;
    auto unresolved = [&] {
        std::vector<std::pair<pid_t, std::string>> left;
        for (const auto& [qemu, guest] : spawned) {
            bool isListed = std::find(listed.begin(), listed.end(), guest) != listed.end();
            if (hcs_test::processAlive(qemu) && !isListed) left.emplace_back(qemu, guest);
        }
        return left;
    };
    auto deadline = Clock::now() + 15s;
    for (;;) {
        listed = listedIds(observer.call("EnumerateComputeSystems", json::object(), 15s));
        if (unresolved().empty() || Clock::now() > deadline) break;
        std::this_thread::sleep_for(100ms);
    }
    for (const auto& [qemu, guest] : unresolved()) {
        std::ostringstream ids;
        for (const auto& listedId : listed)
            ids << " " << listedId;
        ADD_FAILURE() << "QEMU pid " << qemu << " (system '" << guest << "', spawned by the hcsd that got signal "
                      << point.signal << ") still runs 15 s after the restart and Enumerate does not list it (listed:"
                      << ids.str() << "); it is leaked. New hcsd's log:\n"
                      << hcsd.logTail();
    }

    // A listed system is controllable: Open + Terminate, and its QEMU goes away.
    for (const auto& [qemu, guest] : spawned) {
        if (std::find(listed.begin(), listed.end(), guest) == listed.end()) continue;
        Reply opened = observer.call("OpenComputeSystem", {{"handle", 7}, {"id", guest}});
        ASSERT_TRUE(opened.ok()) << "Open of the listed system '" << guest << "': " << opened.raw.dump();
        Reply terminated = observer.call("TerminateComputeSystem", {{"handle", 7}}, 30s);
        EXPECT_TRUE(terminated.ok()) << "Terminate of the re-adopted system '" << guest << "': " << terminated.raw.dump();
        EXPECT_TRUE(waitProcessGone(qemu, 15s)) << "QEMU pid " << qemu << " survived Terminate of '" << guest << "'";
        observer.call("CloseComputeSystem", {{"handle", 7}});
    }
}

INSTANTIATE_TEST_SUITE_P(Trust, CrashDuringCreate,
                         ::testing::Values(KillPoint{"SigkillRightAfterSending", SIGKILL, 0ms},
                                           KillPoint{"SigkillAt10ms", SIGKILL, 10ms},
                                           KillPoint{"SigkillAt50ms", SIGKILL, 50ms},
                                           KillPoint{"SigkillAt100ms", SIGKILL, 100ms},
                                           KillPoint{"SigkillAt200ms", SIGKILL, 200ms},
                                           KillPoint{"SigkillAt300ms", SIGKILL, 300ms},
                                           KillPoint{"SigkillAfterReply", SIGKILL, kAfterReply},
                                           KillPoint{"SigtermAt100ms", SIGTERM, 100ms},
                                           KillPoint{"SigtermAt200ms", SIGTERM, 200ms}),
                         [](const ::testing::TestParamInfo<KillPoint>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace hcsd_test
