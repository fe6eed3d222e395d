#include "base/filetime.h"

namespace hc {

int64_t filetimeFromTimespec(const timespec& ts)
{
    return kFiletimeUnixEpoch + static_cast<int64_t>(ts.tv_sec) * 10'000'000 + ts.tv_nsec / 100;
}

timespec timespecFromFiletime(int64_t ticks)
{
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
