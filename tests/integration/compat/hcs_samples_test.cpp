// The HCS documentation samples, compiled with no shim (hcs_docs_samples), run against a private hcsd:
// the seed's three completion patterns, the event-callback sample, enumeration, and open + pause + resume
// of a running test guest named "Sample" (the id the Compute System Samples use).
#include <gtest/gtest.h>

#include "support/hcs_test_support.h"
#include "support/qemu_processes.h"

namespace hcs_test {
namespace {

std::string program()
{
    return buildDirectory() + "/tests/integration/compat/hcs_docs_samples";
}

bool systemListed(const std::string& id)
{
    CallOutcome listed = runOperation(
        c_OperationTimeoutMs, [](HCS_OPERATION operation) { return HcsEnumerateComputeSystems(nullptr, operation); });
    auto systems = nlohmann::json::parse(listed.document, nullptr, false);
    if (listed.hr != S_OK || !systems.is_array()) {
        ADD_FAILURE() << "HcsEnumerateComputeSystems: " << describe(listed.hr) << " " << listed.document;
        return false;
    }
    for (const auto& system : systems) {
        if (system.value("Id", "") == id) {
            return true;
        }
    }
    return false;
}

// The samples all create "Test" with ShouldTerminateOnLastHandleClosed; its removal after the previous
// sample closed its handle is asynchronous, so the next one waits for it to be gone.
void waitUntilGone(const std::string& id)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (systemListed(id)) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << id << " still listed after 60 s";
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

void runSample(const std::string& sample)
{
    ProgramResult run = runProgram({program(), sample}, std::chrono::minutes(2));
    SCOPED_TRACE("stdout:\n" + run.out + "\nstderr:\n" + run.err);
    EXPECT_EQ(run.exitCode, 0);
    EXPECT_NE(run.out.find(sample + ": ok"), std::string::npos);
}

TEST(HcsDocsSamples, SeedCompletionPatternsAndEventCallbackRun)
{
    for (const char* sample : {"seed-wait", "seed-operation-callback", "seed-event-callback", "event-callback"}) {
        SCOPED_TRACE(sample);
        waitUntilGone("Test");
        runSample(sample);
    }
    waitUntilGone("Test");
    EXPECT_TRUE(waitForNoQemuMentioning(hcsd().root(), std::chrono::seconds(20)));
}

TEST(HcsDocsSamples, EnumerateListsTheRunningSample)
{
    waitUntilGone("Sample");
    SystemHandle system;
    ASSERT_EQ(createSystem("Sample", kernelDirectVm(TestGuest::locate().initrdIdle, true).configuration, system).hr,
              S_OK);
    ProgramResult run = runProgram({program(), "enumerate"}, std::chrono::minutes(1));
    EXPECT_EQ(run.exitCode, 0) << run.err;
    EXPECT_NE(run.out.find("\"Id\":\"Sample\""), std::string::npos) << run.out;
}

TEST(HcsDocsSamples, OpenPauseResumeDriveARunningGuest)
{
    waitUntilGone("Sample");
    SystemHandle system;
    ASSERT_EQ(createSystem("Sample", kernelDirectVm(TestGuest::locate().initrdIdle, true).configuration, system).hr,
              S_OK);
    ASSERT_EQ(start(system.get()).hr, S_OK);
    runSample("open-pause-resume");
    EXPECT_EQ(properties(system.get()).value("State", ""), "Running");
    EXPECT_EQ(terminate(system.get()).hr, S_OK);
}

}  // namespace
}  // namespace hcs_test
