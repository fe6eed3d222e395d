#include "base/filetime.h"

#include <cstdint>

namespace hc {

// Times outside what the other representation can hold saturate instead of overflowing.
int64_t filetimeFromTimespec(const timespec& ts)
{
    constexpr int64_t kMaxSeconds = (INT64_MAX - kFiletimeUnixEpoch) / 10'000'000 - 1;
    constexpr int64_t kMinSeconds = INT64_MIN / 10'000'000 + 1;
    int64_t sec = static_cast<int64_t>(ts.tv_sec);
    if (sec > kMaxSeconds) return INT64_MAX;
    if (sec < kMinSeconds) return INT64_MIN;
    return kFiletimeUnixEpoch + sec * 10'000'000 + ts.tv_nsec / 100;
}

timespec timespecFromFiletime(int64_t ticks)
{
    if (ticks < INT64_MIN + kFiletimeUnixEpoch) ticks = INT64_MIN + kFiletimeUnixEpoch;
    int64_t rel = ticks - kFiletimeUnixEpoch;
    int64_t sec = rel / 10'000'000;
    int64_t rem = rel % 10'000'000;
    if (rem < 0) {  // floor division so times before 1970 keep a non-negative tv_nsec
        rem += 10'000'000;
        sec -= 1;
    }
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(sec);
    ts.tv_nsec = static_cast<long>(rem * 100);
    return ts;
}

int64_t filetimeNow()
{
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return filetimeFromTimespec(ts);
}

}  // namespace hc
