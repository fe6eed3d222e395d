// The ExtendedInfo chain a prjfs provider passes to PrjWritePlaceholderInfo2 / PrjFillDirEntryBuffer2: a
// symbolic link's target (Windows' PRJ_EXT_INFO_TYPE_SYMLINK) first, then hostcompute's POSIX attributes
// (PRJ_HOSTCOMPUTE_POSIX_INFO), linked by NextInfoOffset. It points into itself: built in place, never copied.
#pragma once

#include <projectedfslib.h>

#include <string>

namespace prjfs {

class ExtendedInfoChain {
public:
    // `linkTarget` empty: not a link. A link's POSIX entry keeps its owner but no mode (links have none).
    ExtendedInfoChain(const PRJ_HOSTCOMPUTE_POSIX_INFO& posix, std::wstring linkTarget);
    ExtendedInfoChain(const ExtendedInfoChain&) = delete;
    ExtendedInfoChain& operator=(const ExtendedInfoChain&) = delete;
    PRJ_EXTENDED_INFO* head();

private:
    std::wstring target_;
    PRJ_EXTENDED_INFO link_{};
    PRJ_HOSTCOMPUTE_POSIX_INFO posix_{};
};

}  // namespace prjfs
