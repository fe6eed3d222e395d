// Issue 7, hole 4: a hung QEMU (SIGSTOP) must not make its compute system uncontrollable. A call that
// needs QMP (Pause) waits on a QEMU that never answers; Terminate sent behind it must still complete
// within a bound, kill QEMU, and leave the system answering later calls.
#include <signal.h>

#include <thread>

#include "daemon_under_test.h"
#include "process_inspection.h"
#include "trust_support.h"

namespace hcsd_test {
namespace {

using Clock = std::chrono::steady_clock;

TEST(Trust, Hole4_TerminateOvertakesACallStuckOnAHungQemu)
{
    DaemonUnderTest hcsd;  // its destructor SIGCONTs and kills whatever QEMU is left
    RawClient client(hcsd.socketPath());
    ASSERT_TRUE(client.connected());
    Reply created = client.call(
        "CreateComputeSystem",
        {{"handle", 1}, {"id", "hung-qemu"}, {"configuration", kernelGuestConfig("initrd-idle.gz").dump()}}, 60s);
    ASSERT_TRUE(created.ok()) << created.raw.dump();
    Reply started = client.call("StartComputeSystem", {{"handle", 1}}, 60s);
    ASSERT_TRUE(started.ok()) << started.raw.dump();
    auto qemus = hcsd.qemuPids();
    ASSERT_EQ(qemus.size(), 1u) << "expected exactly one QEMU for the system";
    const pid_t qemu = qemus[0];

    ASSERT_EQ(::kill(qemu, SIGSTOP), 0);
    auto stopDeadline = Clock::now() + 10s;
    while (stateOf(qemu) != 'T') {
        ASSERT_LT(Clock::now(), stopDeadline) << "QEMU (pid " << qemu << ") did not stop on SIGSTOP";
        std::this_thread::sleep_for(5ms);
    }
    uint64_t pause = client.post("PauseComputeSystem", {{"handle", 1}});  // QMP "stop": never answered
    auto terminateSent = Clock::now();
    uint64_t terminate = client.post("TerminateComputeSystem", {{"handle", 1}});
    auto terminated = client.tryWaitReply(terminate, 15s);
    ASSERT_TRUE(terminated) << "Terminate got no reply within 15 s while QEMU (pid " << qemu
                            << ") was stopped: it is queued behind the Pause waiting for QMP. Log:\n"
                            << hcsd.logTail(15);
    EXPECT_TRUE(terminated->ok()) << terminated->raw.dump();
    RecordProperty(
        "terminate_ms",
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - terminateSent).count()));
    EXPECT_TRUE(waitProcessGone(qemu, 5s)) << "the stopped QEMU (pid " << qemu << ") still exists after Terminate";

    // The Pause stuck on the hung QEMU ends too (with an error), and the system answers again.
    auto paused = client.tryWaitReply(pause, 10s);
    EXPECT_TRUE(paused) << "the Pause sent to the hung QEMU never got a reply";
    if (paused) {
        EXPECT_FALSE(paused->ok()) << "Pause of a QEMU that was killed succeeded: " << paused->raw.dump();
    }
    auto properties = client.tryWaitReply(client.post("GetComputeSystemProperties", {{"handle", 1}}), 10s);
    ASSERT_TRUE(properties) << "GetComputeSystemProperties after Terminate got no reply within 10 s";
    ASSERT_TRUE(properties->ok()) << properties->raw.dump();
    EXPECT_EQ(properties->result().value("State", ""), "Stopped");
}

}  // namespace
}  // namespace hcsd_test
