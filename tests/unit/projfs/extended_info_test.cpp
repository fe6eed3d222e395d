// readExtendedInfo: the ExtendedInfo chain of PrjWritePlaceholderInfo2 / PrjFillDirEntryBuffer2 — Windows'
// symlink entry, hostcompute's POSIX entry, both chained, and every malformed chain refused.
#include "projfs/core/extended_info.h"
#include "projfs/core/dir_entry_buffer.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <vector>

namespace hc::projfs {
namespace {

PRJ_HOSTCOMPUTE_POSIX_INFO posix(UINT32 fields, UINT32 mode, UINT32 uid = 0, UINT32 gid = 0)
{
    PRJ_HOSTCOMPUTE_POSIX_INFO info{};
    info.InfoType = PRJ_EXT_INFO_TYPE_HOSTCOMPUTE_POSIX;
    info.Fields = fields;
    info.Mode = mode;
    info.Uid = uid;
    info.Gid = gid;
    return info;
}

PRJ_EXTENDED_INFO link(PCWSTR target)
{
    PRJ_EXTENDED_INFO info{};
    info.InfoType = PRJ_EXT_INFO_TYPE_SYMLINK;
    info.Symlink.TargetName = target;
    return info;
}

// Two entries in one buffer, the first pointing at the second.
template <typename A, typename B>
std::vector<unsigned char> chain(const A& first, const B& second)
{
    const size_t offset = (sizeof(A) + 7) & ~size_t{7};
    std::vector<unsigned char> bytes(offset + sizeof(B));
    std::memcpy(bytes.data(), &first, sizeof(A));
    std::memcpy(bytes.data() + offset, &second, sizeof(B));
    ULONG next = static_cast<ULONG>(offset);
    std::memcpy(bytes.data() + offsetof(PRJ_EXTENDED_INFO, NextInfoOffset), &next, sizeof(next));
    return bytes;
}

const PRJ_EXTENDED_INFO* head(const void* p)
{
    return static_cast<const PRJ_EXTENDED_INFO*>(p);
}

TEST(ExtendedInfoTest, NoChainIsNothing)
{
    auto extras = readExtendedInfo(nullptr);
    ASSERT_TRUE(extras.ok());
    EXPECT_FALSE(extras->mode || extras->uid || extras->gid || extras->symlinkTarget);
}

TEST(ExtendedInfoTest, PosixEntryGivesOnlyTheFieldsItNames)
{
    auto info = posix(PRJ_HOSTCOMPUTE_POSIX_MODE | PRJ_HOSTCOMPUTE_POSIX_GID, 04755, 77, 88);
    auto extras = readExtendedInfo(head(&info));
    ASSERT_TRUE(extras.ok()) << extras.error().message;
    EXPECT_EQ(extras->mode, std::optional<mode_t>(04755));
    EXPECT_FALSE(extras->uid.has_value());
    EXPECT_EQ(extras->gid, std::optional<gid_t>(88));
}

TEST(ExtendedInfoTest, SymlinkAndPosixChainedEitherWay)
{
    auto a = chain(link(L"../target"), posix(PRJ_HOSTCOMPUTE_POSIX_UID, 0, 5));
    auto extras = readExtendedInfo(head(a.data()));
    ASSERT_TRUE(extras.ok()) << extras.error().message;
    EXPECT_EQ(extras->symlinkTarget, std::optional<std::string>("../target"));
    EXPECT_EQ(extras->uid, std::optional<uid_t>(5));

    auto b = chain(posix(PRJ_HOSTCOMPUTE_POSIX_MODE, 0700), link(L"/abs/t\u00e9"));
    extras = readExtendedInfo(head(b.data()));
    ASSERT_TRUE(extras.ok()) << extras.error().message;
    EXPECT_EQ(extras->symlinkTarget, std::optional<std::string>("/abs/t\xc3\xa9"));
    EXPECT_EQ(extras->mode, std::optional<mode_t>(0700));
}

TEST(ExtendedInfoTest, MalformedChainsAreInvalidArguments)
{
    auto badMode = posix(PRJ_HOSTCOMPUTE_POSIX_MODE, S_IFREG | 0644);
    EXPECT_EQ(readExtendedInfo(head(&badMode)).hr(), E_INVALIDARG);
    auto badFields = posix(0x8, 0644);
    EXPECT_EQ(readExtendedInfo(head(&badFields)).hr(), E_INVALIDARG);
    auto noTarget = link(nullptr);
    EXPECT_EQ(readExtendedInfo(head(&noTarget)).hr(), E_INVALIDARG);
    auto emptyTarget = link(L"");
    EXPECT_EQ(readExtendedInfo(head(&emptyTarget)).hr(), E_INVALIDARG);
    auto unknown = posix(0, 0);
    unknown.InfoType = 7;
    EXPECT_EQ(readExtendedInfo(head(&unknown)).hr(), E_INVALIDARG);
    auto twice = chain(posix(0, 0), posix(0, 0));
    EXPECT_EQ(readExtendedInfo(head(twice.data())).hr(), E_INVALIDARG);
    auto selfLoop = posix(0, 0);
    selfLoop.NextInfoOffset = 4;  // inside itself
    EXPECT_EQ(readExtendedInfo(head(&selfLoop)).hr(), E_INVALIDARG);
}

TEST(ExtendedInfoTest, DirEntryBufferKeepsTheExtrasAndRefusesBadOnes)
{
    DirEntryBuffer buffer(4096);
    PRJ_FILE_BASIC_INFO info{};
    auto exec = posix(PRJ_HOSTCOMPUTE_POSIX_MODE, 0755);
    EXPECT_EQ(buffer.add(L"run.sh", &info, head(&exec)), S_OK);
    auto bad = posix(PRJ_HOSTCOMPUTE_POSIX_MODE, 010000);
    EXPECT_EQ(buffer.add(L"bad", &info, head(&bad)), E_INVALIDARG);
    auto entries = buffer.takeEntries();
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].extras.mode, std::optional<mode_t>(0755));
}

}  // namespace
}  // namespace hc::projfs
