// Asynchronous completion, cancellation and stopping with commands in flight, with a provider whose
// completions the test controls.
#include "fixture.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <future>

using namespace projfs_test;
using namespace std::chrono_literals;

namespace {

int statErrno(const std::string& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? 0 : errno;
}

}  // namespace

TEST_F(ProjfsTest, PlaceholderCompletedLateFromAnotherThread)
{
    provider.addFile("late.txt", "late content");
    provider.setCompletion(Callback::PlaceholderInfo, Completion::Held);
    start();
    auto statResult = std::async(std::launch::async, [&] { return statErrno(root.path("late.txt")); });
    auto held = provider.waitHeld(5s);
    ASSERT_TRUE(held) << "GetPlaceholderInfo was not called";
    EXPECT_EQ(held->path, L"late.txt");
    EXPECT_EQ(statResult.wait_for(300ms), std::future_status::timeout) << "stat returned before completion";
    HRESULT completion = E_FAIL;
    std::thread([&] { completion = provider.completeHeld(*held); }).join();
    EXPECT_EQ(completion, S_OK);
    ASSERT_EQ(statResult.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(statResult.get(), 0);
    EXPECT_EQ(readFile(root.path("late.txt")).data, "late content");
}

TEST_F(ProjfsTest, CompletingWithAnErrorReachesTheCaller)
{
    provider.addFile("refused.txt", "x");
    provider.setCompletion(Callback::PlaceholderInfo, Completion::Held);
    start();
    auto statResult = std::async(std::launch::async, [&] { return statErrno(root.path("refused.txt")); });
    auto held = provider.waitHeld(5s);
    ASSERT_TRUE(held);
    EXPECT_EQ(provider.completeHeld(*held, HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)), S_OK);
    ASSERT_EQ(statResult.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(statResult.get(), ENOENT);
}

TEST_F(ProjfsTest, EnumerationCompletedAsynchronously)
{
    for (int i = 0; i < 500; ++i)
        provider.addFile("dir/entry-" + std::to_string(i) + ".txt", "");
    provider.setCompletion(Callback::GetEnum, Completion::Held);
    start();
    auto listing = std::async(std::launch::async, [&] { return listDirectory(root.path("dir")); });
    int gets = 0;
    while (listing.wait_for(0ms) != std::future_status::ready) {
        auto held = provider.waitHeld(200ms);
        if (!held) continue;
        ASSERT_EQ(held->kind, Callback::GetEnum);
        std::this_thread::sleep_for(10ms);  // late
        HRESULT hr = E_FAIL;
        std::thread([&] { hr = provider.completeHeld(*held); }).join();
        EXPECT_EQ(hr, S_OK);
        ++gets;
        ASSERT_LT(gets, 1000) << "enumeration does not end";
    }
    EXPECT_EQ(listing.get().size(), 500u);
    EXPECT_GE(gets, 2);
}

TEST_F(ProjfsTest, WorkerCompletionServesAWholeTree)
{
    provider.addFile("w/one.txt", "1");
    provider.addFile("w/two/three.txt", "3");
    for (auto kind :
         {Callback::StartEnum, Callback::GetEnum, Callback::EndEnum, Callback::PlaceholderInfo, Callback::FileData})
        provider.setCompletion(kind, Completion::Worker);
    start();
    EXPECT_EQ(listDirectory(root.path("w")).size(), 2u);
    EXPECT_EQ(readFile(root.path("w/two/three.txt")).data, "3");
    EXPECT_EQ(readFile(root.path("w/one.txt")).data, "1");
}

TEST_F(ProjfsTest, CompleteCommandArgumentErrors)
{
    provider.addFile("f.txt", "f");
    provider.setCompletion(Callback::PlaceholderInfo, Completion::Held);
    start();
    EXPECT_EQ(PrjCompleteCommand(root.context(), 123456, S_OK, nullptr), E_INVALIDARG) << "unknown CommandId";
    EXPECT_NE(PrjCompleteCommand(nullptr, 1, S_OK, nullptr), S_OK) << "NULL context";

    auto statResult = std::async(std::launch::async, [&] { return statErrno(root.path("f.txt")); });
    auto held = provider.waitHeld(5s);
    ASSERT_TRUE(held);
    EXPECT_EQ(provider.completeHeld(*held), S_OK);
    EXPECT_EQ(PrjCompleteCommand(root.context(), held->commandId, S_OK, nullptr), E_INVALIDARG)
        << "a command completes once";
    EXPECT_EQ(statResult.get(), 0);
}

TEST_F(ProjfsTest, SigkillOfABlockedReaderCancelsItsCommand)
{
    provider.addGeneratedFile("slow.bin", 1 << 20, 11);
    start();
    ASSERT_EQ(statErrno(root.path("slow.bin")), 0);  // placeholder now; data is still missing
    provider.setCompletion(Callback::FileData, Completion::Held);

    pid_t reader = forkReader(root.path("slow.bin"));
    ASSERT_GT(reader, 0);
    auto held = provider.waitHeld(5s);
    ASSERT_TRUE(held) << "GetFileData was not called";
    ASSERT_EQ(held->kind, Callback::FileData);
    std::this_thread::sleep_for(50ms);
    ASSERT_EQ(kill(reader, SIGKILL), 0);

    EXPECT_TRUE(provider.waitForCancel(held->commandId, 5s)) << "CancelCommandCallback not called for the command";
    auto status = waitChild(reader, 5s);
    ASSERT_TRUE(status) << "killed reader still there, state " << processState(reader);
    EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);

    EXPECT_EQ(provider.completeHeld(*held), S_OK) << "completing a cancelled command is a no-op";
    EXPECT_EQ(fileState(root.path("slow.bin")), PRJ_FILE_STATE_PLACEHOLDER);

    provider.setCompletion(Callback::FileData, Completion::Sync);
    EXPECT_TRUE(readFile(root.path("slow.bin")).data == provider.contentOf("slow.bin"))
        << "the next reader hydrates normally";
}

TEST_F(ProjfsTest, CancellationRacingCompletion)
{
    constexpr int kRounds = 12;
    for (int i = 0; i < kRounds; ++i)
        provider.addFile("race" + std::to_string(i) + ".txt", "race data");
    start();
    for (int i = 0; i < kRounds; ++i)
        ASSERT_EQ(statErrno(root.path("race" + std::to_string(i) + ".txt")), 0);
    provider.setCompletion(Callback::FileData, Completion::Held);

    for (int i = 0; i < kRounds; ++i) {
        const std::string path = root.path("race" + std::to_string(i) + ".txt");
        pid_t reader = forkReader(path);
        ASSERT_GT(reader, 0);
        auto held = provider.waitHeld(5s);
        ASSERT_TRUE(held) << "round " << i;
        // Kill and complete at (nearly) the same moment; vary which goes first.
        HRESULT completion = E_FAIL;
        std::thread completer([&] {
            if (i % 2) std::this_thread::sleep_for(std::chrono::microseconds(200 * (i % 5)));
            completion = provider.completeHeld(*held);
        });
        if (i % 2 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200 * (i % 5)));
        kill(reader, SIGKILL);
        completer.join();
        EXPECT_TRUE(completion == S_OK || completion == E_INVALIDARG)
            << "round " << i << " hr " << std::hex << completion;
        auto status = waitChild(reader, 5s);
        ASSERT_TRUE(status) << "round " << i << ": killed reader stuck, state " << processState(reader);
    }
    provider.setCompletion(Callback::FileData, Completion::Sync);
    for (int i = 0; i < kRounds; ++i)
        EXPECT_EQ(readFile(root.path("race" + std::to_string(i) + ".txt")).data, "race data") << "file " << i;
}

TEST_F(ProjfsTest, StopWithAPendingCallbackReturnsPromptly)
{
    provider.addFile("stuck.txt", "never delivered");
    start();
    ASSERT_EQ(statErrno(root.path("stuck.txt")), 0);
    provider.setCompletion(Callback::FileData, Completion::Held);
    pid_t reader = forkReader(root.path("stuck.txt"));
    ASSERT_GT(reader, 0);
    auto held = provider.waitHeld(5s);
    ASSERT_TRUE(held);

    const auto before = std::chrono::steady_clock::now();
    root.stop();
    const auto took = std::chrono::steady_clock::now() - before;
    EXPECT_LT(took, 2s) << "PrjStopVirtualizing waited for the provider";
    const int callbacksAtStop = provider.totalCallbacks();
    EXPECT_EQ(provider.inFlight(), 0);

    auto status = waitChild(reader, 5s);
    ASSERT_TRUE(status) << "reader still blocked after stop, state " << processState(reader);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0) << "the blocked reader gets an error";
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(provider.totalCallbacks(), callbacksAtStop) << "a callback ran after PrjStopVirtualizing returned";
    EXPECT_FALSE(isMounted(root.path()));
}
