// Compute system lifecycles on real QEMU guests (LinuxKernelDirect, TCG): each exit type seen through
// the event callback and HcsWaitForComputeSystemExit, pause/resume in Properties.State, Statistics.
#include <gtest/gtest.h>
#include <signal.h>

#include <iostream>
#include <thread>

#include "support/console_reader.h"
#include "support/hcs_test_support.h"
#include "support/qemu_processes.h"

namespace hcs_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A started test guest with an event callback (HcsEventOptionNone) registered before Start.
class RunningGuest : public testing::Test {
protected:
    void startGuest(const std::string& initrd)
    {
        // The previous test's VM is gone (its handle was closed, it had ShouldTerminateOnLastHandleClosed),
        // so the only QEMU of ours is the one this test starts.
        ASSERT_TRUE(waitForNoQemuMentioning(hcsd().root(), 20s)) << "a previous test's QEMU is still running";
        GuestDocument guest = kernelDirectVm(initrd);
        CallOutcome created = createSystem(testSystemId(), guest.configuration, system_);
        ASSERT_EQ(created.hr, S_OK) << describe(created.hr) << " " << created.document;
        ASSERT_TRUE(console_.connect(guest.consoleSocket, 10s)) << "no console socket " << guest.consoleSocket;
        ASSERT_EQ(HcsSetComputeSystemCallback(system_.get(), HcsEventOptionNone, &events_, EventRecorder::callback),
                  S_OK);
        CallOutcome started = start(system_.get());
        ASSERT_EQ(started.hr, S_OK) << describe(started.hr) << " " << started.document;
    }

    void TearDown() override
    {
        if (HasFailure()) {
            std::cerr << "hcsd log:\n" << hcsd().log() << "\nconsole:\n" << console_.text() << std::endl;
        }
    }

    // The QEMU process of the running guest.
    pid_t qemuPid()
    {
        auto pids = qemuProcessesMentioning(hcsd().root());
        EXPECT_EQ(pids.size(), 1u) << "expected exactly the QEMU of this test";
        return pids.empty() ? -1 : pids.front();
    }

    // The SystemExited event's SystemExitStatus, and the same document from HcsWaitForComputeSystemExit.
    json expectExit(std::chrono::milliseconds timeout)
    {
        auto exited = events_.waitFor(HcsEventSystemExited, timeout);
        EXPECT_TRUE(exited.has_value()) << "no SystemExited event within " << timeout.count() << " ms";
        if (!exited) {
            return json::object();
        }
        json fromEvent = json::parse(exited->data, nullptr, false);
        EXPECT_TRUE(fromEvent.is_object()) << exited->data;

        PWSTR result = nullptr;
        HRESULT hr = HcsWaitForComputeSystemExit(system_.get(), 5000, &result);
        std::string waited = hcsctl::takeResultString(result);
        EXPECT_EQ(hr, S_OK) << describe(hr) << " " << waited;
        json fromWait = json::parse(waited, nullptr, false);
        EXPECT_EQ(fromWait.value("ExitType", ""), fromEvent.value("ExitType", "?")) << waited;
        EXPECT_EQ(fromWait.value("Status", 1), fromEvent.value("Status", 2)) << waited;
        return fromEvent;
    }

    EventRecorder events_;  // declared first: outlives system_, whose close drains the callbacks
    ConsoleReader console_;
    SystemHandle system_;
};

TEST_F(RunningGuest, GuestPowerOffIsGracefulExit)
{
    startGuest(TestGuest::locate().initrdPoweroff);
    json status = expectExit(60s);
    EXPECT_NE(console_.text().find("HCS-TEST-GUEST: poweroff"), std::string::npos) << console_.text();
    EXPECT_EQ(status.value("ExitType", ""), "GracefulExit") << status.dump();
    EXPECT_EQ(status.value("Status", -1), 0) << status.dump();
    EXPECT_EQ(properties(system_.get()).value("State", ""), "Stopped");
    EXPECT_TRUE(waitForNoQemuMentioning(hcsd().root(), 10s));
}

TEST_F(RunningGuest, TerminateIsForcedExit)
{
    startGuest(TestGuest::locate().initrdIdle);
    pid_t qemu = qemuPid();
    CallOutcome terminated = terminate(system_.get());
    ASSERT_EQ(terminated.hr, S_OK) << describe(terminated.hr) << " " << terminated.document;
    json status = expectExit(20s);
    EXPECT_EQ(status.value("ExitType", ""), "ForcedExit") << status.dump();
    EXPECT_FALSE(processAlive(qemu));
    // Stopping a stopped system is its own error (spec: HCS_E_SYSTEM_ALREADY_STOPPED).
    CallOutcome again = terminate(system_.get());
    EXPECT_EQ(again.hr, HCS_E_SYSTEM_ALREADY_STOPPED) << describe(again.hr) << " " << again.document;
}

TEST_F(RunningGuest, KilledQemuIsUnexpectedExit)
{
    startGuest(TestGuest::locate().initrdIdle);
    pid_t qemu = qemuPid();
    ASSERT_GT(qemu, 0);
    ASSERT_EQ(::kill(qemu, SIGKILL), 0);
    json status = expectExit(20s);
    EXPECT_EQ(status.value("ExitType", ""), "UnexpectedExit") << status.dump();
    EXPECT_EQ(status.value("Status", 0), static_cast<int32_t>(HCS_E_UNEXPECTED_EXIT)) << status.dump();
    EXPECT_EQ(properties(system_.get()).value("State", ""), "Stopped");
}

TEST_F(RunningGuest, ShutdownOfIdleGuestIsGracefulExit)
{
    startGuest(TestGuest::locate().initrdIdle);
    // The guest hears the ACPI power button only once its button driver is loaded; it says so.
    ASSERT_TRUE(console_.waitFor("HCS-TEST-GUEST: idle", 60s)) << "console:\n" << console_.text();
    CallOutcome shutDownOutcome = shutDown(system_.get());
    EXPECT_EQ(shutDownOutcome.hr, S_OK) << describe(shutDownOutcome.hr) << " " << shutDownOutcome.document;
    EXPECT_TRUE(console_.waitFor("HCS-TEST-GUEST: power button", 20s)) << "console:\n" << console_.text();
    json status = expectExit(20s);
    EXPECT_EQ(status.value("ExitType", ""), "GracefulExit") << status.dump();
    EXPECT_TRUE(waitForNoQemuMentioning(hcsd().root(), 10s));
}

TEST_F(RunningGuest, PauseAndResumeShowInState)
{
    startGuest(TestGuest::locate().initrdIdle);
    EXPECT_EQ(properties(system_.get()).value("State", ""), "Running");
    CallOutcome paused = pause(system_.get());
    ASSERT_EQ(paused.hr, S_OK) << describe(paused.hr) << " " << paused.document;
    EXPECT_EQ(properties(system_.get()).value("State", ""), "Paused");
    CallOutcome resumed = resume(system_.get());
    ASSERT_EQ(resumed.hr, S_OK) << describe(resumed.hr) << " " << resumed.document;
    EXPECT_EQ(properties(system_.get()).value("State", ""), "Running");
    ASSERT_EQ(terminate(system_.get()).hr, S_OK);
    EXPECT_EQ(expectExit(20s).value("ExitType", ""), "ForcedExit");
}

// Any number in a JSON object (nested), for "some memory figure is positive".
bool hasPositiveNumber(const json& value)
{
    if (value.is_number()) {
        return value.get<double>() > 0;
    }
    if (value.is_object() || value.is_array()) {
        for (const auto& item : value) {
            if (hasPositiveNumber(item)) {
                return true;
            }
        }
    }
    return false;
}

TEST_F(RunningGuest, StatisticsArePlausible)
{
    startGuest(TestGuest::locate().initrdIdle);
    const std::string query = R"({"PropertyTypes":["Statistics"]})";
    json first = properties(system_.get(), query);
    ASSERT_TRUE(first.contains("Statistics")) << first.dump();
    const json& statistics = first["Statistics"];
    ASSERT_TRUE(statistics.contains("Uptime100ns")) << statistics.dump();
    uint64_t uptime = statistics["Uptime100ns"].get<uint64_t>();
    EXPECT_GT(uptime, 0u);
    EXPECT_LT(uptime, 600ull * 10'000'000) << "more than 10 minutes for a VM started seconds ago";
    ASSERT_TRUE(statistics.contains("Memory")) << statistics.dump();
    EXPECT_TRUE(hasPositiveNumber(statistics["Memory"])) << statistics["Memory"].dump();
    EXPECT_TRUE(statistics.contains("Timestamp")) << statistics.dump();

    std::this_thread::sleep_for(300ms);
    json second = properties(system_.get(), query);
    uint64_t later = second["Statistics"].value("Uptime100ns", uint64_t{0});
    EXPECT_GE(later, uptime + 200ull * 10'000) << "Uptime100ns grew by less than 200 ms in 300 ms";
}

}  // namespace
}  // namespace hcs_test
