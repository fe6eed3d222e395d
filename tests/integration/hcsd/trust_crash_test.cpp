// Issue 7, hole 2: hcsd killed (SIGKILL) or stopped (SIGTERM) while it creates a VM. Every QEMU the
// first hcsd spawned must, once a new hcsd runs on the same socket and state directory, either be listed
// by Enumerate (and then obey Terminate) or be gone — never keep running unlisted.
#include <signal.h>
#include <unistd.h>

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

// When the signal hits: a fixed time after Create was sent, the moment the Create's QEMU is up (it runs
// and has written the pid file its command line names; hcsd is then negotiating QMP with it), or after
// the Create's reply.
enum class Moment { AfterDelay, WhenQemuIsUp, AfterReply };

struct KillPoint {
    const char* name;
    int signal;
    Moment moment;
    std::chrono::milliseconds delay{0};  // for AfterDelay
};

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

bool qemuIsUp(const DaemonUnderTest& hcsd)
{
    for (pid_t qemu : hcsd.qemuPids()) {
        std::string pidFile = optionValueOf(qemu, "-pidfile");
        if (pidFile.empty() || ::access(pidFile.c_str(), F_OK) == 0) return true;
    }
    return false;
}

class CrashDuringCreate : public ::testing::TestWithParam<KillPoint> {};

TEST_P(CrashDuringCreate, Hole2_EveryQemuIsReadoptedOrGone)
{
    const KillPoint point = GetParam();
    DaemonUnderTest hcsd;
    RawClient client(hcsd.socketPath());
    ASSERT_TRUE(client.connected());
    const std::string id = std::string("crash-") + point.name;
    uint64_t create =
        client.post("CreateComputeSystem",
                    {{"handle", 1}, {"id", id}, {"configuration", kernelGuestConfig("initrd-idle.gz").dump()}});
    if (point.moment == Moment::AfterReply) {
        Reply created = client.waitReply(create, 60s);
        ASSERT_TRUE(created.ok()) << created.raw.dump();
    } else if (point.moment == Moment::WhenQemuIsUp) {
        auto deadline = Clock::now() + 30s;
        while (!qemuIsUp(hcsd)) {
            ASSERT_LT(Clock::now(), deadline) << "no QEMU came up within 30 s of the Create";
            std::this_thread::sleep_for(1ms);
        }
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
        bool known =
            std::any_of(spawned.begin(), spawned.end(), [&](const auto& entry) { return entry.first == qemu; });
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
                      << point.signal
                      << ") still runs 15 s after the restart and Enumerate does not list it (listed:" << ids.str()
                      << "); it is leaked. New hcsd's log:\n"
                      << hcsd.logTail();
    }

    // A listed system is controllable: Open + Terminate, and its QEMU goes away.
    for (const auto& [qemu, guest] : spawned) {
        if (std::find(listed.begin(), listed.end(), guest) == listed.end()) continue;
        Reply opened = observer.call("OpenComputeSystem", {{"handle", 7}, {"id", guest}});
        ASSERT_TRUE(opened.ok()) << "Open of the listed system '" << guest << "': " << opened.raw.dump();
        Reply terminated = observer.call("TerminateComputeSystem", {{"handle", 7}}, 30s);
        EXPECT_TRUE(terminated.ok()) << "Terminate of the re-adopted system '" << guest
                                     << "': " << terminated.raw.dump();
        EXPECT_TRUE(waitProcessGone(qemu, 15s)) << "QEMU pid " << qemu << " survived Terminate of '" << guest << "'";
        observer.call("CloseComputeSystem", {{"handle", 7}});
    }
}

INSTANTIATE_TEST_SUITE_P(Trust, CrashDuringCreate,
                         ::testing::Values(KillPoint{"SigkillRightAfterSending", SIGKILL, Moment::AfterDelay, 0ms},
                                           KillPoint{"SigkillAt10ms", SIGKILL, Moment::AfterDelay, 10ms},
                                           KillPoint{"SigkillAt50ms", SIGKILL, Moment::AfterDelay, 50ms},
                                           KillPoint{"SigkillAt100ms", SIGKILL, Moment::AfterDelay, 100ms},
                                           KillPoint{"SigkillAt200ms", SIGKILL, Moment::AfterDelay, 200ms},
                                           KillPoint{"SigkillAt300ms", SIGKILL, Moment::AfterDelay, 300ms},
                                           KillPoint{"SigkillWhenQemuIsUp", SIGKILL, Moment::WhenQemuIsUp},
                                           KillPoint{"SigkillAfterReply", SIGKILL, Moment::AfterReply},
                                           KillPoint{"SigtermAt100ms", SIGTERM, Moment::AfterDelay, 100ms},
                                           KillPoint{"SigtermAt200ms", SIGTERM, Moment::AfterDelay, 200ms},
                                           KillPoint{"SigtermWhenQemuIsUp", SIGTERM, Moment::WhenQemuIsUp}),
                         [](const ::testing::TestParamInfo<KillPoint>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace hcsd_test
