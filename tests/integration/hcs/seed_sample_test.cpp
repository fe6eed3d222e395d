// The seed program (examples/hcs/seed_completion_patterns) runs unchanged against a real hcsd + QEMU.
#include <gtest/gtest.h>

#include "support/hcs_test_support.h"
#include "support/qemu_processes.h"

namespace hcs_test {
namespace {

TEST(SeedSample, AllThreeCompletionPatternsPass)
{
    std::string program = buildDirectory() + "/examples/hcs/seed_completion_patterns";
    ProgramResult run = runProgram({program, "SeedSample"}, std::chrono::minutes(2));
    SCOPED_TRACE("stdout:\n" + run.out + "\nstderr:\n" + run.err);
    EXPECT_EQ(run.exitCode, 0);
    for (const char* line : {"pattern 1 passed", "pattern 2 passed", "pattern 3 passed", "all patterns passed"}) {
        EXPECT_NE(run.out.find(line), std::string::npos) << "missing: " << line;
    }
    // Pattern 3 ends with the rejected start: the HRESULT is printed as the sample checks it.
    EXPECT_NE(run.out.find("HcsStartComputeSystem with an operation callback -> 0x80370119"), std::string::npos);

    // Every system of the sample had ShouldTerminateOnLastHandleClosed and the sample has exited:
    // nothing of it may still run.
    EXPECT_TRUE(waitForNoQemuMentioning(hcsd().root(), std::chrono::seconds(20)));
    CallOutcome listed = runOperation(
        c_OperationTimeoutMs, [](HCS_OPERATION operation) { return HcsEnumerateComputeSystems(nullptr, operation); });
    ASSERT_EQ(listed.hr, S_OK) << describe(listed.hr) << " " << listed.document;
    auto systems = nlohmann::json::parse(listed.document, nullptr, false);
    ASSERT_TRUE(systems.is_array()) << listed.document;
    for (const auto& system : systems) {
        EXPECT_NE(system.value("State", ""), "Running") << system.dump();
    }
}

}  // namespace
}  // namespace hcs_test
