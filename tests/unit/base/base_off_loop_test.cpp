// runOffLoop: the work runs on another thread, its result comes back on the loop's thread, once; a loop
// that goes away first never hears of it (run under ASan and TSan by the suite).
#include "base/off_loop.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <thread>

#include "base/hresult.h"

namespace hc {
namespace {

using namespace std::chrono_literals;

// Drives the loop until `finished` or ~10 s (a loaded machine may be slow; never reached normally).
void runUntil(EventLoop& loop, const bool& finished)
{
    for (int i = 0; i < 1000 && !finished; ++i)
        loop.runOnce(10ms);
}

TEST(OffLoop, WorkRunsOnAnotherThreadAndDoneOnTheLoop)
{
    EventLoop loop;
    const auto loopThread = std::this_thread::get_id();
    std::thread::id workThread;
    bool finished = false;
    int calls = 0;
    runOffLoop(
        loop,
        [&]() -> Status {
            workThread = std::this_thread::get_id();
            return {};
        },
        [&](Status result) {
            EXPECT_TRUE(result);
            EXPECT_EQ(std::this_thread::get_id(), loopThread);
            ++calls;
            finished = true;
        });
    runUntil(loop, finished);
    ASSERT_TRUE(finished);
    EXPECT_NE(workThread, loopThread);
    for (int i = 0; i < 5; ++i)
        loop.runOnce(1ms);
    EXPECT_EQ(calls, 1) << "done runs once";
}

TEST(OffLoop, TheWorksErrorComesBack)
{
    EventLoop loop;
    bool finished = false;
    Status seen;
    runOffLoop(
        loop, []() -> Status { return makeError(E_ACCESSDENIED, "cannot flush /x"); },
        [&](Status result) {
            seen = std::move(result);
            finished = true;
        });
    runUntil(loop, finished);
    ASSERT_TRUE(finished);
    ASSERT_FALSE(seen);
    EXPECT_EQ(seen.hr(), E_ACCESSDENIED);
    EXPECT_EQ(seen.error().message, "cannot flush /x");
}

TEST(OffLoop, ManyAtOnceEachFinishOnce)
{
    EventLoop loop;
    constexpr int kCount = 32;
    int finished = 0;
    for (int i = 0; i < kCount; ++i)
        runOffLoop(loop, []() -> Status { return {}; }, [&](Status) { ++finished; });
    for (int i = 0; i < 1000 && finished < kCount; ++i)
        loop.runOnce(10ms);
    EXPECT_EQ(finished, kCount);
}

TEST(OffLoop, ALoopGoneFirstNeverRunsDone)
{
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    auto workDone = std::make_shared<std::promise<void>>();
    std::future<void> workFinished = workDone->get_future();
    bool doneRan = false;
    {
        EventLoop loop;
        runOffLoop(
            loop,
            [released, workDone]() -> Status {
                released.wait();
                workDone->set_value();
                return {};
            },
            [&](Status) { doneRan = true; });
    }
    release.set_value();  // the work ends after its loop is gone
    ASSERT_EQ(workFinished.wait_for(10s), std::future_status::ready);
    EXPECT_FALSE(doneRan);
}

}  // namespace
}  // namespace hc
