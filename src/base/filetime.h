// Windows FILETIME ticks (100 ns since 1601-01-01 UTC) <-> POSIX timespec.
#pragma once

#include <hostcompute/win.h>

#include <ctime>

namespace hc {

// 100-ns ticks between 1601-01-01 and 1970-01-01.
constexpr int64_t kFiletimeUnixEpoch = 116444736000000000LL;

int64_t filetimeFromTimespec(const timespec& ts);
timespec timespecFromFiletime(int64_t ticks);
int64_t filetimeNow();

inline FILETIME toFILETIME(int64_t ticks)
{
    return FILETIME{static_cast<DWORD>(static_cast<uint64_t>(ticks) & 0xFFFFFFFFu),
                    static_cast<DWORD>(static_cast<uint64_t>(ticks) >> 32)};
}
inline int64_t fromFILETIME(const FILETIME& ft)
{
    return static_cast<int64_t>((static_cast<uint64_t>(ft.dwHighDateTime) << 32) | ft.dwLowDateTime);
}

}  // namespace hc
