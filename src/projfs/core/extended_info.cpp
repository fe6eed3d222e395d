#include "projfs/core/extended_info.h"

#include "base/strings.h"

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

namespace hc::projfs {
namespace {

// One entry of each known type; anything longer repeats a type.
constexpr int kMaxChainEntries = 2;

Error invalid(const std::string& what)
{
    return makeError(E_INVALIDARG, "ExtendedInfo: " + what);
}

Status readSymlink(const unsigned char* entry, ProviderExtras& out)
{
    PRJ_EXTENDED_INFO info;
    std::memcpy(&info, entry, sizeof(info));
    if (info.Symlink.TargetName == nullptr || info.Symlink.TargetName[0] == L'\0')
        return invalid("Symlink.TargetName is NULL or empty");
    auto target = toUtf8(info.Symlink.TargetName);
    if (!target) return invalid("Symlink.TargetName is not valid Unicode");
    if (target->size() >= PATH_MAX) return invalid("Symlink.TargetName is longer than PATH_MAX");
    out.symlinkTarget = std::move(target).value();
    return {};
}

Status readPosix(const unsigned char* entry, ProviderExtras& out)
{
    PRJ_HOSTCOMPUTE_POSIX_INFO info;
    std::memcpy(&info, entry, sizeof(info));
    constexpr UINT32 known = PRJ_HOSTCOMPUTE_POSIX_MODE | PRJ_HOSTCOMPUTE_POSIX_UID | PRJ_HOSTCOMPUTE_POSIX_GID;
    if ((info.Fields & ~known) != 0) return invalid("PRJ_HOSTCOMPUTE_POSIX_INFO.Fields has unknown bits");
    if (info.Fields & PRJ_HOSTCOMPUTE_POSIX_MODE) {
        if ((info.Mode & ~07777u) != 0) return invalid("PRJ_HOSTCOMPUTE_POSIX_INFO.Mode has bits outside 07777");
        out.mode = static_cast<mode_t>(info.Mode);
    }
    if (info.Fields & PRJ_HOSTCOMPUTE_POSIX_UID) out.uid = static_cast<uid_t>(info.Uid);
    if (info.Fields & PRJ_HOSTCOMPUTE_POSIX_GID) out.gid = static_cast<gid_t>(info.Gid);
    return {};
}

}  // namespace

Result<ProviderExtras> readExtendedInfo(const PRJ_EXTENDED_INFO* chain)
{
    ProviderExtras extras;
    bool sawSymlink = false;
    bool sawPosix = false;
    const auto* entry = reinterpret_cast<const unsigned char*>(chain);
    for (int index = 0; entry != nullptr; ++index) {
        if (index == kMaxChainEntries) return invalid("the chain repeats an entry type");
        // The type is read as an integer: a value outside the enum must not be undefined behaviour.
        uint32_t type = 0;
        std::memcpy(&type, entry, sizeof(type));
        ULONG next = 0;
        std::memcpy(&next, entry + offsetof(PRJ_EXTENDED_INFO, NextInfoOffset), sizeof(next));
        if (type == PRJ_EXT_INFO_TYPE_SYMLINK) {
            if (std::exchange(sawSymlink, true)) return invalid("two PRJ_EXT_INFO_TYPE_SYMLINK entries");
            if (auto s = readSymlink(entry, extras); !s) return s.error();
        } else if (type == PRJ_EXT_INFO_TYPE_HOSTCOMPUTE_POSIX) {
            if (std::exchange(sawPosix, true)) return invalid("two PRJ_EXT_INFO_TYPE_HOSTCOMPUTE_POSIX entries");
            if (auto s = readPosix(entry, extras); !s) return s.error();
        } else {
            return invalid("unknown InfoType " + std::to_string(type));
        }
        if (next == 0) break;
        if (next < sizeof(UINT32) + sizeof(ULONG)) return invalid("NextInfoOffset points inside the entry");
        entry += next;
    }
    return extras;
}

}  // namespace hc::projfs
