// The compact item attribute: its encoding, that it is the only attribute and stays inside the inode,
// that a root written in the first format (four attributes) is still read and upgraded on write, and
// that concurrent read-modify-writes of one item keep both changes.
#include "projfs/store/item_attribute.h"
#include "projfs/store/backing_store.h"
#include "projfs/store/root_marker.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

namespace hc::projfs {
namespace {

PRJ_PLACEHOLDER_VERSION_INFO shortVersion()
{
    PRJ_PLACEHOLDER_VERSION_INFO version{};
    std::memcpy(version.ProviderID, "prov", 4);
    std::memcpy(version.ContentID, "sha:1234", 8);
    return version;
}

TEST(ItemAttributeTest, RoundTripsEveryFieldAndStoresIdsAtTheirLength)
{
    ItemRecord record;
    record.state = ItemState::HydratedPlaceholder;
    record.dirty = true;
    record.projected = true;
    record.originPath = "dir/file.txt";
    record.version = shortVersion();
    std::string value = encodeItemAttribute(record);
    EXPECT_EQ(value.size(), 3u + 2 + 4 + 8 + record.originPath.size());

    auto decoded = decodeItemAttribute(value, false);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded->state, ItemState::HydratedPlaceholder);
    EXPECT_TRUE(decoded->dirty);
    EXPECT_TRUE(decoded->projected);
    EXPECT_EQ(decoded->originPath, "dir/file.txt");
    ASSERT_TRUE(decoded->version.has_value());
    EXPECT_EQ(std::memcmp(&*decoded->version, &*record.version, sizeof(PRJ_PLACEHOLDER_VERSION_INFO)), 0);
    EXPECT_EQ(fileStateFlags(*decoded), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER | PRJ_FILE_STATE_DIRTY_PLACEHOLDER);
}

TEST(ItemAttributeTest, FullLengthIdsAndEmptyOriginSurvive)
{
    ItemRecord record;
    record.state = ItemState::Placeholder;
    record.projected = true;  // an empty origin is still an origin
    PRJ_PLACEHOLDER_VERSION_INFO version;
    std::memset(&version, 0xab, sizeof(version));
    record.version = version;
    auto decoded = decodeItemAttribute(encodeItemAttribute(record), true);
    ASSERT_TRUE(decoded.ok());
    EXPECT_TRUE(decoded->isDirectory);
    EXPECT_TRUE(decoded->projected);
    EXPECT_EQ(decoded->originPath, "");
    EXPECT_EQ(std::memcmp(&*decoded->version, &version, sizeof(version)), 0);
}

TEST(ItemAttributeTest, PlainFullItemsNeedNoAttributeButKnownOnesKeepTheirOrigin)
{
    EXPECT_EQ(encodeItemAttribute(ItemRecord{}), "");
    ItemRecord full;
    full.projected = true;
    full.originPath = "a";
    auto decoded = decodeItemAttribute(encodeItemAttribute(full), false);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->state, ItemState::Full);
    EXPECT_TRUE(decoded->projected);
    EXPECT_EQ(fileStateFlags(*decoded), PRJ_FILE_STATE_FULL);
}

TEST(ItemAttributeTest, MalformedValuesAreCorruptMetadata)
{
    const HRESULT corrupt = HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_METADATA_CORRUPT);
    using namespace std::string_literals;
    for (const std::string& bad :
         {""s, "\x02\x01"s, "\x07\x01\x00"s, "\x02\x09\x00"s, "\x02\x01\x80"s, "\x02\x01\x04\x05"s,
          "\x02\x01\x04\x81\x00"s, "\x02\x01\x04\x02\x02xyz"s, "\x02\x01\x00trailing"s}) {
        auto decoded = decodeItemAttribute(bad, false);
        ASSERT_FALSE(decoded.ok()) << "accepted " << bad.size() << " bytes";
        EXPECT_EQ(decoded.hr(), corrupt);
        EXPECT_NE(decoded.error().message.find("ProjFS item attribute"), std::string::npos);
    }
}

class ItemFormatTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/projfs-format-XXXXXX";
        dir = ::mkdtemp(tmpl);
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    std::unique_ptr<BackingStore> openStore()
    {
        auto opened = BackingStore::open(dir);
        EXPECT_TRUE(opened.ok());
        return opened.ok() ? std::move(opened).value() : nullptr;
    }
    std::vector<std::string> projfsAttributes(const std::string& rel)
    {
        std::string path = dir + "/" + rel;
        char names[1024];
        ssize_t n = ::llistxattr(path.c_str(), names, sizeof(names));
        std::vector<std::string> out;
        for (ssize_t at = 0; at < n; at += static_cast<ssize_t>(std::strlen(names + at)) + 1) {
            if (std::strncmp(names + at, kXattrPrefix, std::strlen(kXattrPrefix)) == 0) out.emplace_back(names + at);
        }
        return out;
    }
    void setLegacy(const std::string& rel, const char* name, const void* value, size_t size)
    {
        std::string path = dir + "/" + rel;
        ASSERT_EQ(::lsetxattr(path.c_str(), name, value, size, 0), 0) << std::strerror(errno);
    }
    void setLegacy(const std::string& rel, const char* name, const char* text)
    {
        setLegacy(rel, name, text, std::strlen(text));
    }
    void makeFile(const std::string& rel, mode_t mode, off_t size)
    {
        int fd = ::open((dir + "/" + rel).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, mode);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::ftruncate(fd, size), 0);
        ::fchmod(fd, mode);
        ::close(fd);
    }

    std::string dir;
};

TEST_F(ItemFormatTest, NewRootsWriteOneSmallAttributePerItem)
{
    GUID id{0x1234, 1, 2, {1, 2, 3, 4, 5, 6, 7, 8}};
    ASSERT_TRUE(markVirtualizationRoot(dir, id, nullptr).ok());
    auto store = openStore();
    ASSERT_TRUE(store);
    EXPECT_FALSE(store->legacyFormat());

    PlaceholderSpec spec;
    spec.size = 1 << 20;
    spec.version = shortVersion();
    spec.originPath = "file.bin";
    ASSERT_TRUE(store->writePlaceholder("file.bin", spec).ok());
    EXPECT_EQ(projfsAttributes("file.bin"), std::vector<std::string>{kXattrItem});
    const std::string path = dir + "/file.bin";
    EXPECT_EQ(::lgetxattr(path.c_str(), kXattrItem, nullptr, 0), static_cast<ssize_t>(3 + 2 + 4 + 8 + 8));

    // On ext4 (the test machine's /tmp) a value this small stays in the inode: no external attribute block,
    // so the sparse placeholder owns no block at all.
    struct statfs fs {};
    ASSERT_EQ(::statfs(dir.c_str(), &fs), 0);
    if (fs.f_type == EXT4_SUPER_MAGIC) {
        struct stat st {};
        ASSERT_EQ(::lstat(path.c_str(), &st), 0);
        EXPECT_EQ(st.st_blocks, 0) << "the placeholder's attribute went to an external block";
    }
}

TEST_F(ItemFormatTest, RootWrittenInTheFirstFormatIsReadAndUpgradedOnWrite)
{
    // The first format, as it was written: the root marker without a format marker, four attributes.
    setLegacy("", kLegacyXattrState, "placeholder");
    setLegacy("", kXattrRoot, "01234567-89ab-cdef-0123-456789abcdef");
    PRJ_PLACEHOLDER_VERSION_INFO version{};
    version.ContentID[0] = 7;
    version.ProviderID[127] = 1;
    makeFile("placeholder.txt", 0644, 500);
    setLegacy("placeholder.txt", kLegacyXattrState, "placeholder");
    setLegacy("placeholder.txt", kLegacyXattrVersion, &version, sizeof(version));
    setLegacy("placeholder.txt", kLegacyXattrOrigin, "old/name.txt");
    setLegacy("placeholder.txt", kLegacyXattrDirty, "1");
    makeFile("full.txt", 0644, 3);
    setLegacy("full.txt", kLegacyXattrOrigin, "full.txt");
    makeFile("gone.txt", 0, 0);
    setLegacy("gone.txt", kLegacyXattrState, "tombstone");
    ASSERT_EQ(::mkdir((dir + "/sub").c_str(), 0755), 0);
    setLegacy("sub", kLegacyXattrState, "hydrated");
    setLegacy("sub", kLegacyXattrOrigin, "sub");
    makeFile("local.txt", 0644, 1);

    auto store = openStore();
    ASSERT_TRUE(store);
    EXPECT_TRUE(store->legacyFormat());

    auto placeholder = store->readRecord("placeholder.txt");
    ASSERT_TRUE(placeholder.ok()) << placeholder.error().message;
    EXPECT_EQ(fileStateFlags(*placeholder), PRJ_FILE_STATE_PLACEHOLDER | PRJ_FILE_STATE_DIRTY_PLACEHOLDER);
    EXPECT_EQ(placeholder->originPath, "old/name.txt");
    ASSERT_TRUE(placeholder->version.has_value());
    EXPECT_EQ(std::memcmp(&*placeholder->version, &version, sizeof(version)), 0);
    auto full = store->readRecord("full.txt");
    EXPECT_EQ(full->state, ItemState::Full);
    EXPECT_TRUE(full->projected);
    EXPECT_EQ(store->readRecord("gone.txt")->state, ItemState::Tombstone);
    EXPECT_EQ(fileStateFlags(*store->readRecord("sub")), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    EXPECT_FALSE(store->readRecord("local.txt")->projected);
    // What PrjGetOnDiskFileState reads (by path, no store).
    auto byPath = readRecordFromPath(dir + "/placeholder.txt", false);
    ASSERT_TRUE(byPath.ok());
    EXPECT_EQ(fileStateFlags(*byPath), PRJ_FILE_STATE_PLACEHOLDER | PRJ_FILE_STATE_DIRTY_PLACEHOLDER);
    auto entries = store->listDirectory("");
    ASSERT_TRUE(entries.ok());
    for (const auto& entry : *entries)
        EXPECT_EQ(entry.tombstone, entry.name == "gone.txt") << entry.name;

    // A write upgrades the item: one compact attribute, the same record.
    ASSERT_TRUE(store->setState("placeholder.txt", ItemState::HydratedPlaceholder).ok());
    EXPECT_EQ(projfsAttributes("placeholder.txt"), std::vector<std::string>{kXattrItem});
    auto upgraded = store->readRecord("placeholder.txt");
    EXPECT_EQ(fileStateFlags(*upgraded), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER | PRJ_FILE_STATE_DIRTY_PLACEHOLDER);
    EXPECT_EQ(upgraded->originPath, "old/name.txt");
    EXPECT_EQ(std::memcmp(&*upgraded->version, &version, sizeof(version)), 0);
    ASSERT_TRUE(store->setState("full.txt", ItemState::Full).ok());
    EXPECT_EQ(projfsAttributes("full.txt"), std::vector<std::string>{kXattrItem});
    EXPECT_TRUE(store->readRecord("full.txt")->projected);

    // A new placeholder in the old root is written in the compact format only.
    PlaceholderSpec spec;
    spec.size = 1;
    spec.originPath = "new.txt";
    ASSERT_TRUE(store->writePlaceholder("new.txt", spec).ok());
    EXPECT_EQ(projfsAttributes("new.txt"), std::vector<std::string>{kXattrItem});
    // The tombstone gives way to a placeholder like in a new root.
    ASSERT_TRUE(store->writePlaceholder("gone.txt", spec).ok());
    EXPECT_EQ(store->readRecord("gone.txt")->state, ItemState::Placeholder);
    EXPECT_EQ(projfsAttributes("gone.txt"), std::vector<std::string>{kXattrItem});
}

TEST_F(ItemFormatTest, InPlaceUpdateKeepsTheDirtyMarkUntilCleared)
{
    auto store = openStore();
    ASSERT_TRUE(store);
    PlaceholderSpec spec;
    spec.size = 10;
    spec.originPath = "f";
    ASSERT_TRUE(store->writePlaceholder("f", spec).ok());
    ASSERT_TRUE(store->setDirty("f").ok());
    spec.size = 20;
    spec.version.ContentID[0] = 2;
    ASSERT_TRUE(store->writePlaceholder("f", spec).ok());
    auto record = store->readRecord("f");
    EXPECT_TRUE(record->dirty);
    EXPECT_EQ(record->version->ContentID[0], 2);
    EXPECT_EQ(store->statItem("f")->st_size, 20);
    ASSERT_TRUE(store->clearDirty("f").ok());
    EXPECT_EQ(fileStateFlags(*store->readRecord("f")), PRJ_FILE_STATE_PLACEHOLDER);
}

TEST_F(ItemFormatTest, ConcurrentFieldChangesOfOneItemBothSurvive)
{
    // One thread flips the state, the other the dirty mark, each checking its own field right after its
    // own change: a read-modify-write of the other thread that started before that change and wrote
    // after it would have put back the old value.
    auto store = openStore();
    ASSERT_TRUE(store);
    PlaceholderSpec spec;
    spec.originPath = "f";
    ASSERT_TRUE(store->writePlaceholder("f", spec).ok());
    constexpr int kRounds = 20000;
    std::atomic<int> lostState{0}, lostDirty{0};
    std::thread states([&] {
        for (int i = 0; i < kRounds; ++i) {
            ItemState state = i % 2 ? ItemState::Placeholder : ItemState::HydratedPlaceholder;
            EXPECT_TRUE(store->setState("f", state).ok());
            if (store->readRecord("f")->state != state) ++lostState;
        }
    });
    for (int i = 0; i < kRounds; ++i) {
        bool dirty = i % 2 == 0;
        EXPECT_TRUE((dirty ? store->setDirty("f") : store->clearDirty("f")).ok());
        if (store->readRecord("f")->dirty != dirty) ++lostDirty;
    }
    states.join();
    EXPECT_EQ(lostState.load(), 0);
    EXPECT_EQ(lostDirty.load(), 0);
}

}  // namespace
}  // namespace hc::projfs
