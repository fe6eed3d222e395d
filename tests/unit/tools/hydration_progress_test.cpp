// prjfs's meter of large hydrations: only files of c_LargeFileBytes or more count; the line shows the
// oldest running one, its share and how many others run; it goes away with the last of them.
#include "hydration_progress.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "terminal_pair.h"

namespace {

using namespace std::chrono_literals;
using hc::tools::HydrationProgress;
using hc_test::TerminalPair;

constexpr uint64_t kMiB = 1 << 20;
constexpr auto c_Patience = 10s;

TEST(HydrationProgress, SmallFilesAreNotShown)
{
    TerminalPair terminal;
    ASSERT_TRUE(terminal.ok());
    HydrationProgress progress(terminal.terminal(), 1ms);
    {
        auto scope = progress.start(L"small.txt", HydrationProgress::c_LargeFileBytes - 1);
        scope.advance(kMiB);
        EXPECT_EQ(progress.describe(), "");
    }
    EXPECT_EQ(terminal.readNow(), "");
}

TEST(HydrationProgress, ShowsTheOldestLargeFileItsShareAndTheOthers)
{
    TerminalPair terminal;
    ASSERT_TRUE(terminal.ok());
    HydrationProgress progress(terminal.terminal(), 5ms);
    {
        auto first = progress.start(L"iso/debian-ü.iso", 2048 * kMiB);
        first.advance(512 * kMiB);
        EXPECT_EQ(progress.describe(), "iso/debian-ü.iso 512.0 MiB of 2.0 GiB (25 %)");
        auto second = progress.start(L"video.mkv", 64 * kMiB);
        EXPECT_EQ(progress.describe(), "iso/debian-ü.iso 512.0 MiB of 2.0 GiB (25 %), 1 more");
        std::string drawn = terminal.readUntil("1 more", c_Patience);
        EXPECT_NE(drawn.find("hydrating: "), std::string::npos) << drawn;
        EXPECT_NE(drawn.find("(25 %), 1 more"), std::string::npos) << drawn;
        {
            auto moved = std::move(first);  // a moved-from scope ends nothing
        }
        EXPECT_EQ(progress.describe(), "video.mkv 0.0 MiB of 64.0 MiB (0 %)");
        second.advance(100 * kMiB);  // more than announced: shown as complete, never over 100 %
        EXPECT_EQ(progress.describe(), "video.mkv 64.0 MiB of 64.0 MiB (100 %)");
    }
    EXPECT_EQ(progress.describe(), "");
    std::string drawn = terminal.readNow();
    ASSERT_GE(drawn.size(), 4u);
    EXPECT_EQ(drawn.substr(drawn.size() - 4), "\r\033[K") << "the line is erased with the last hydration";
}

// Hydrations starting and ending on many threads while the line redraws (run under TSan by the suite).
TEST(HydrationProgress, ConcurrentHydrationsComeAndGo)
{
    TerminalPair terminal;
    ASSERT_TRUE(terminal.ok());
    HydrationProgress progress(terminal.terminal(), 1ms);
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t) {
        workers.emplace_back([&progress, t] {
            for (int i = 0; i < 200; ++i) {
                auto scope = progress.start(L"file" + std::to_wstring(t), 32 * kMiB);
                for (int chunk = 0; chunk < 4; ++chunk)
                    scope.advance(8 * kMiB);
            }
        });
    }
    // Keep the pty drained so that the drawing thread never blocks on a full terminal buffer.
    std::atomic<bool> done{false};
    std::thread reader([&] {
        while (!done)
            terminal.readUntil("\n", 5ms);
    });
    for (auto& worker : workers)
        worker.join();
    done = true;
    reader.join();
    EXPECT_EQ(progress.describe(), "");
}

TEST(HydrationProgress, NothingWhenNotATerminal)
{
    int pipeFds[2];
    ASSERT_EQ(pipe(pipeFds), 0);
    {
        HydrationProgress progress(pipeFds[1], 1ms);
        auto scope = progress.start(L"big.img", 1024 * kMiB);
        EXPECT_EQ(progress.describe(), "") << "not tracked at all without a terminal";
        std::this_thread::sleep_for(20ms);
    }
    close(pipeFds[1]);
    char buffer[16];
    EXPECT_EQ(read(pipeFds[0], buffer, sizeof buffer), 0);
    close(pipeFds[0]);
}

}  // namespace
