// FILETIME ticks (100 ns since 1601-01-01 UTC) <-> timespec.
#include "base/filetime.h"

#include <gtest/gtest.h>

namespace {

using hc::filetimeFromTimespec;
using hc::kFiletimeUnixEpoch;
using hc::timespecFromFiletime;

constexpr std::int64_t kTicksPerSecond = 10'000'000;

TEST(Filetime, UnixEpochConstant)
{
    // 369 years (89 of them leap years) between 1601-01-01 and 1970-01-01.
    EXPECT_EQ(kFiletimeUnixEpoch, (369LL * 365 + 89) * 86400 * kTicksPerSecond);
    EXPECT_EQ(kFiletimeUnixEpoch, 116444736000000000LL);
}

TEST(Filetime, Epochs)
{
    EXPECT_EQ(filetimeFromTimespec(timespec{0, 0}), kFiletimeUnixEpoch);
    const timespec unix = timespecFromFiletime(kFiletimeUnixEpoch);
    EXPECT_EQ(unix.tv_sec, 0);
    EXPECT_EQ(unix.tv_nsec, 0);
    const timespec windows = timespecFromFiletime(0);  // 1601-01-01T00:00:00Z
    EXPECT_EQ(windows.tv_sec, -11644473600LL);
    EXPECT_EQ(windows.tv_nsec, 0);
    EXPECT_EQ(filetimeFromTimespec(timespec{-11644473600LL, 0}), 0);
}

TEST(Filetime, KnownDate)
{
    // 2000-01-01T00:00:00Z is 946684800 s after the Unix epoch.
    EXPECT_EQ(filetimeFromTimespec(timespec{946684800, 0}), 125911584000000000LL);
    const timespec ts = timespecFromFiletime(125911584000000000LL + 1234567);
    EXPECT_EQ(ts.tv_sec, 946684800);
    EXPECT_EQ(ts.tv_nsec, 123456700);
}

TEST(Filetime, BeforeUnixEpochKeepsNanosecondsNonNegative)
{
    const timespec half = timespecFromFiletime(kFiletimeUnixEpoch - kTicksPerSecond / 2);
    EXPECT_EQ(half.tv_sec, -1);
    EXPECT_EQ(half.tv_nsec, 500000000);
    const timespec tick = timespecFromFiletime(kFiletimeUnixEpoch - 1);
    EXPECT_EQ(tick.tv_sec, -1);
    EXPECT_EQ(tick.tv_nsec, 999999900);
    EXPECT_EQ(filetimeFromTimespec(timespec{-1, 500000000}), kFiletimeUnixEpoch - kTicksPerSecond / 2);
    EXPECT_EQ(filetimeFromTimespec(timespec{-1, 999999900}), kFiletimeUnixEpoch - 1);
}

TEST(Filetime, RoundTripsAtTickResolution)
{
    for (std::int64_t ticks :
         {std::int64_t{0}, std::int64_t{1}, kFiletimeUnixEpoch - 1, kFiletimeUnixEpoch, kFiletimeUnixEpoch + 1,
          std::int64_t{133000000000000001}, std::int64_t{2650467743999999999}}) {
        EXPECT_EQ(filetimeFromTimespec(timespecFromFiletime(ticks)), ticks) << ticks;
    }
    // Nanoseconds below one tick are dropped, not rounded.
    EXPECT_EQ(filetimeFromTimespec(timespec{0, 199}), kFiletimeUnixEpoch + 1);
    const timespec ts{1700000000, 123456789};
    const timespec back = timespecFromFiletime(filetimeFromTimespec(ts));
    EXPECT_EQ(back.tv_sec, ts.tv_sec);
    EXPECT_EQ(back.tv_nsec, 123456700);
}

TEST(Filetime, StructRoundTrip)
{
    for (std::int64_t ticks : {std::int64_t{0}, std::int64_t{0x0123456789ABCDEF}, kFiletimeUnixEpoch, std::int64_t{-1},
                               std::int64_t{0x7FFFFFFFFFFFFFFF}}) {
        const FILETIME ft = hc::toFILETIME(ticks);
        EXPECT_EQ(hc::fromFILETIME(ft), ticks);
    }
    const FILETIME ft = hc::toFILETIME(0x0123456789ABCDEF);
    EXPECT_EQ(ft.dwHighDateTime, 0x01234567u);
    EXPECT_EQ(ft.dwLowDateTime, 0x89ABCDEFu);
}

TEST(Filetime, NowIsCurrent)
{
    timespec before{};
    clock_gettime(CLOCK_REALTIME, &before);
    const std::int64_t now = hc::filetimeNow();
    timespec after{};
    clock_gettime(CLOCK_REALTIME, &after);
    EXPECT_GE(now, filetimeFromTimespec(before));
    EXPECT_LE(now, filetimeFromTimespec(after));
}

}  // namespace

TEST(Filetime, ExtremeValuesSaturateInsteadOfOverflowing)
{
    timespec far{};
    far.tv_sec = static_cast<time_t>(INT64_MAX / 2);
    EXPECT_EQ(hc::filetimeFromTimespec(far), INT64_MAX);
    far.tv_sec = static_cast<time_t>(INT64_MIN / 2);
    EXPECT_EQ(hc::filetimeFromTimespec(far), INT64_MIN);
    timespec back = hc::timespecFromFiletime(INT64_MIN);
    EXPECT_LT(back.tv_sec, 0);
    EXPECT_GE(back.tv_nsec, 0);
}
