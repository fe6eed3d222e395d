// The tools' progress line: drawn on a terminal only, redrawn in place, erased when done, nothing when the
// work ends before the first interval.
#include "progress_line.h"

#include <gtest/gtest.h>

#include <sys/ioctl.h>

#include <atomic>
#include <thread>

#include "terminal_pair.h"

namespace {

using namespace std::chrono_literals;
using hc::tools::ProgressLine;
using hc_test::TerminalPair;

constexpr auto c_Fast = 5ms;
constexpr auto c_Patience = 10s;  // a loaded machine may delay the progress thread; never reached normally

TEST(ProgressLine, DrawsWhatElapsedAndDetailThenErasesOnATerminal)
{
    TerminalPair terminal;
    ASSERT_TRUE(terminal.ok());
    std::atomic<int> calls{0};
    {
        ProgressLine line(
            "copy", [&] { return "step " + std::to_string(++calls); }, terminal.terminal(), c_Fast);
        std::string drawn = terminal.readUntil("step 3", c_Patience);
        EXPECT_NE(drawn.find("\r\033[Kcopy: "), std::string::npos) << drawn;
        EXPECT_NE(drawn.find(" s, step 1"), std::string::npos) << drawn;
        EXPECT_NE(drawn.find("step 3"), std::string::npos) << drawn;
        EXPECT_EQ(drawn.find('\n'), std::string::npos) << "a progress line never scrolls: " << drawn;
    }
    // Destroyed: the last thing written erases the line.
    std::string drawn = terminal.readNow();
    ASSERT_GE(drawn.size(), 4u);
    EXPECT_EQ(drawn.substr(drawn.size() - 4), "\r\033[K");
}

TEST(ProgressLine, EmptyDetailShowsOnlyTheTime)
{
    TerminalPair terminal;
    ASSERT_TRUE(terminal.ok());
    ProgressLine line(
        "wait", [] { return std::string(); }, terminal.terminal(), c_Fast);
    std::string drawn = terminal.readUntil(" s", c_Patience);
    EXPECT_NE(drawn.find("wait: "), std::string::npos) << drawn;
    EXPECT_EQ(drawn.find(", "), std::string::npos) << drawn;
}

TEST(ProgressLine, WorkShorterThanTheIntervalPrintsNothing)
{
    TerminalPair terminal;
    ASSERT_TRUE(terminal.ok());
    {
        ProgressLine line("quick", {}, terminal.terminal(), 1h);
    }
    EXPECT_EQ(terminal.readNow(), "");
}

TEST(ProgressLine, NotATerminalGetsNothingAndNoThreadRuns)
{
    int pipeFds[2];
    ASSERT_EQ(pipe(pipeFds), 0);
    std::atomic<int> calls{0};
    EXPECT_FALSE(ProgressLine::enabled(pipeFds[1]));
    {
        ProgressLine line(
            "piped", [&] { return std::to_string(++calls); }, pipeFds[1], 1ms);
        std::this_thread::sleep_for(20ms);  // twenty intervals: a line would have been drawn by now
    }
    EXPECT_EQ(calls.load(), 0);
    close(pipeFds[1]);
    char buffer[16];
    EXPECT_EQ(read(pipeFds[0], buffer, sizeof buffer), 0);
    close(pipeFds[0]);
}

TEST(ProgressLine, LongLinesAreCutToTheTerminalWidth)
{
    TerminalPair terminal;
    ASSERT_TRUE(terminal.ok());
    winsize size{};
    size.ws_col = 40;
    size.ws_row = 10;
    ASSERT_EQ(ioctl(terminal.terminal(), TIOCSWINSZ, &size), 0);
    ProgressLine line(
        "long", [] { return std::string(200, 'x'); }, terminal.terminal(), c_Fast);
    std::string drawn = terminal.readUntil("xxxxxxxxxx", c_Patience);
    const size_t start = drawn.find("long: ");
    ASSERT_NE(start, std::string::npos) << drawn;
    const size_t next = drawn.find('\r', start);
    const std::string first = drawn.substr(start, next == std::string::npos ? std::string::npos : next - start);
    EXPECT_LE(first.size(), 39u) << first;
}

TEST(HumanBytes, MebibytesBelowAGibibyteThenGibibytes)
{
    EXPECT_EQ(hc::tools::humanBytes(0), "0.0 MiB");
    EXPECT_EQ(hc::tools::humanBytes(3u << 20), "3.0 MiB");
    EXPECT_EQ(hc::tools::humanBytes((1ull << 30) - (1ull << 20)), "1023.0 MiB");
    EXPECT_EQ(hc::tools::humanBytes(3ull << 29), "1.5 GiB");
}

}  // namespace
