#include "extended_info_chain.h"

#include <utility>

namespace prjfs {

ExtendedInfoChain::ExtendedInfoChain(const PRJ_HOSTCOMPUTE_POSIX_INFO& posix, std::wstring linkTarget)
    : target_(std::move(linkTarget)), posix_(posix)
{
    if (target_.empty()) return;
    posix_.Fields &= ~PRJ_HOSTCOMPUTE_POSIX_MODE;
    link_.InfoType = PRJ_EXT_INFO_TYPE_SYMLINK;
    link_.Symlink.TargetName = target_.c_str();
    link_.NextInfoOffset =
        static_cast<ULONG>(reinterpret_cast<const char*>(&posix_) - reinterpret_cast<const char*>(&link_));
}

PRJ_EXTENDED_INFO* ExtendedInfoChain::head()
{
    if (!target_.empty()) return &link_;
    return reinterpret_cast<PRJ_EXTENDED_INFO*>(&posix_);
}

}  // namespace prjfs
