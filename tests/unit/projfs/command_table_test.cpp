// The PendingCommand state machine and the CommandTable, including cancel-vs-complete races (run
// under TSan in CI).
#include "projfs/core/command_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace hc::projfs {
namespace {

const HRESULT kPending = HRESULT_FROM_WIN32(ERROR_IO_PENDING);
const HRESULT kAborted = HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED);

TEST(PendingCommandTest, SynchronousResultCompletes)
{
    std::vector<HRESULT> results;
    PendingCommand command(1, CommandKind::GetFileData, [&](HRESULT hr) { results.push_back(hr); });
    EXPECT_EQ(command.callbackReturned(E_FAIL), CommandState::Completed);
    EXPECT_EQ(results, std::vector<HRESULT>{E_FAIL});
    EXPECT_EQ(command.complete(S_OK), E_INVALIDARG);
    EXPECT_FALSE(command.cancel(kAborted));
    EXPECT_EQ(results.size(), 1u);
}

TEST(PendingCommandTest, PendingThenCompleted)
{
    std::vector<HRESULT> results;
    PendingCommand command(1, CommandKind::GetFileData, [&](HRESULT hr) { results.push_back(hr); });
    EXPECT_EQ(command.callbackReturned(kPending), CommandState::Pending);
    EXPECT_TRUE(results.empty());
    EXPECT_EQ(command.complete(kPending), E_INVALIDARG);  // "completing" with pending completes nothing
    EXPECT_EQ(command.complete(S_OK), S_OK);
    EXPECT_EQ(results, std::vector<HRESULT>{S_OK});
    EXPECT_EQ(command.state(), CommandState::Completed);
}

TEST(PendingCommandTest, CompletedBeforeTheCallbackReturnedPending)
{
    std::vector<HRESULT> results;
    PendingCommand command(1, CommandKind::GetPlaceholderInfo, [&](HRESULT hr) { results.push_back(hr); });
    EXPECT_EQ(command.complete(S_OK), S_OK);
    EXPECT_EQ(command.callbackReturned(kPending), CommandState::Completed);
    EXPECT_EQ(results, std::vector<HRESULT>{S_OK});
}

TEST(PendingCommandTest, CancelledThenCompletedIsANoOp)
{
    std::vector<HRESULT> results;
    PendingCommand command(1, CommandKind::GetFileData, [&](HRESULT hr) { results.push_back(hr); });
    command.callbackReturned(kPending);
    EXPECT_TRUE(command.cancel(kAborted));
    EXPECT_FALSE(command.cancel(kAborted));
    EXPECT_EQ(command.complete(S_OK), S_OK);
    EXPECT_EQ(results, std::vector<HRESULT>{kAborted});
    EXPECT_EQ(command.state(), CommandState::Cancelled);
}

TEST(PendingCommandTest, CancelWhileTheCallbackRuns)
{
    std::vector<HRESULT> results;
    PendingCommand command(1, CommandKind::GetFileData, [&](HRESULT hr) { results.push_back(hr); });
    EXPECT_TRUE(command.cancel(kAborted));
    EXPECT_EQ(command.callbackReturned(S_OK), CommandState::Cancelled);
    EXPECT_EQ(results, std::vector<HRESULT>{kAborted});
}

TEST(CommandTableTest, IdsAreUniqueAndCommandsLeaveWhenFinal)
{
    CommandTable table;
    auto a = table.create(CommandKind::GetFileData, [](HRESULT) {});
    auto b = table.create(CommandKind::GetFileData, [](HRESULT) {});
    EXPECT_NE(a->id(), b->id());
    EXPECT_GT(a->id(), 0);
    table.callbackReturned(a, S_OK);
    EXPECT_EQ(table.size(), 1u);
    EXPECT_EQ(table.complete(a->id(), S_OK, nullptr), E_INVALIDARG);
    table.callbackReturned(b, kPending);
    EXPECT_EQ(table.complete(b->id(), S_OK, nullptr), S_OK);
    EXPECT_EQ(table.size(), 0u);
    EXPECT_EQ(table.complete(12345, S_OK, nullptr), E_INVALIDARG);
}

TEST(CommandTableTest, CancelledPendingCommandStaysUntilTheProviderCompletes)
{
    CommandTable table;
    auto command = table.create(CommandKind::GetFileData, [](HRESULT) {});
    table.callbackReturned(command, kPending);
    EXPECT_EQ(table.cancel(command->id(), kAborted), command);
    EXPECT_EQ(table.cancel(command->id(), kAborted), nullptr);
    EXPECT_EQ(table.size(), 1u);
    EXPECT_EQ(table.complete(command->id(), S_OK, nullptr), S_OK);
    EXPECT_EQ(table.size(), 0u);
}

TEST(CommandTableTest, EnumerationCompletionChecksTheBuffer)
{
    CommandTable table;
    auto handle = reinterpret_cast<PRJ_DIR_ENTRY_BUFFER_HANDLE>(0x10);
    auto command = table.create(
        CommandKind::GetEnumeration, [](HRESULT) {}, handle);
    table.callbackReturned(command, kPending);
    EXPECT_EQ(table.complete(command->id(), S_OK, reinterpret_cast<PRJ_DIR_ENTRY_BUFFER_HANDLE>(0x20)), E_INVALIDARG);
    EXPECT_EQ(table.complete(command->id(), S_OK, handle), S_OK);
}

TEST(CommandTableTest, CancelAllFailsEverythingOnce)
{
    CommandTable table;
    std::atomic<int> calls{0};
    std::vector<std::shared_ptr<PendingCommand>> commands;
    for (int i = 0; i < 10; ++i) {
        commands.push_back(table.create(CommandKind::GetFileData, [&](HRESULT) { ++calls; }));
        table.callbackReturned(commands.back(), kPending);
    }
    EXPECT_EQ(table.cancelAll(kAborted), 10u);
    EXPECT_EQ(table.cancelAll(kAborted), 0u);
    EXPECT_EQ(calls, 10);
}

// Completion, cancellation and the callback's return racing from three threads: the handler runs
// exactly once and the table ends empty once the provider has completed.
TEST(CommandTableTest, CancelCompleteAndReturnRace)
{
    CommandTable table;
    for (int round = 0; round < 500; ++round) {
        std::atomic<int> calls{0};
        auto command = table.create(CommandKind::GetFileData, [&](HRESULT) { ++calls; });
        int32_t id = command->id();
        std::atomic<bool> go{false};
        std::thread provider([&] {
            while (!go) {
            }
            table.callbackReturned(command, kPending);
        });
        std::thread completer([&] {
            while (!go) {
            }
            HRESULT hr = table.complete(id, S_OK, nullptr);
            EXPECT_TRUE(hr == S_OK) << hr;
        });
        std::thread canceller([&] {
            while (!go) {
            }
            table.cancel(id, kAborted);
        });
        go = true;
        provider.join();
        completer.join();
        canceller.join();
        EXPECT_EQ(calls, 1);
        EXPECT_NE(command->state(), CommandState::Running);
    }
    EXPECT_EQ(table.size(), 0u);
}

}  // namespace
}  // namespace hc::projfs
