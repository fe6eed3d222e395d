// PrjUpdateFileIfNeeded, PrjDeleteFile and the negative path cache, on real FUSE mounts driven by the
// in-memory TestProvider (plus the cache's own bounded-memory logic).
#include "projfs/core/negative_path_cache.h"
#include "test_provider.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <functional>
#include <thread>

namespace hc::projfs::test {
namespace {

const HRESULT kInvalidOperation = HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_INVALID_OPERATION);
const HRESULT kNotFound = HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);

// FILETIME ticks for a Unix time in seconds.
int64_t ticksOf(int64_t unixSeconds)
{
    return (unixSeconds + 11644473600LL) * 10000000LL;
}

bool exists(const std::string& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

bool listed(const std::string& dir, const std::string& name)
{
    auto names = listDirectory(dir);
    return std::find(names.begin(), names.end(), name) != names.end();
}

class ItemUpdatesTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        provider.addFile(L"a.txt", "hello\n");
        provider.addDirectory(L"Dir");
        provider.addFile(L"Dir\\B.bin", "bbbbbbbb");
        ASSERT_EQ(provider.start(root.path(), options()), S_OK);
    }
    void TearDown() override { provider.stop(); }
    virtual const PRJ_STARTVIRTUALIZING_OPTIONS* options() { return nullptr; }
    std::string at(const std::string& rel) const { return root.path() + "/" + rel; }

    // PrjUpdateFileIfNeeded of a file with `size` bytes and ContentID[0] = `id`.
    HRESULT update(const wchar_t* path, int64_t size, uint8_t id, int flags, PRJ_UPDATE_FAILURE_CAUSES* cause,
                   uint32_t attributes = 0, int64_t mtime = 0)
    {
        PRJ_PLACEHOLDER_INFO info{};
        info.FileBasicInfo.FileSize = size;
        info.FileBasicInfo.FileAttributes = attributes;
        info.FileBasicInfo.LastWriteTime.QuadPart = mtime;
        info.VersionInfo.ContentID[0] = id;
        return PrjUpdateFileIfNeeded(provider.context(), path, &info, sizeof(info),
                                     static_cast<PRJ_UPDATE_TYPES>(flags), cause);
    }
    HRESULT remove(const wchar_t* path, int flags, PRJ_UPDATE_FAILURE_CAUSES* cause)
    {
        return PrjDeleteFile(provider.context(), path, static_cast<PRJ_UPDATE_TYPES>(flags), cause);
    }

    TempRoot root;
    TestProvider provider;
    PRJ_UPDATE_FAILURE_CAUSES cause = PRJ_UPDATE_FAILURE_CAUSE_NONE;
};

TEST_F(ItemUpdatesTest, UpdateOfPlaceholderChangesSizeAndTimes)
{
    struct stat st {};
    ASSERT_EQ(::stat(at("a.txt").c_str(), &st), 0);
    ASSERT_EQ(st.st_size, 6);
    ASSERT_EQ(update(L"a.txt", 12345, 43, PRJ_UPDATE_NONE, &cause, 0, ticksOf(1000000000)), S_OK);
    EXPECT_EQ(cause, PRJ_UPDATE_FAILURE_CAUSE_NONE);
    EXPECT_TRUE(eventually([&] { return ::stat(at("a.txt").c_str(), &st) == 0 && st.st_size == 12345; }));
    EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
    EXPECT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_EQ(provider.placeholderInfo, 1);
}

TEST_F(ItemUpdatesTest, NewContentIdDehydratesAndTheNextReadFetchesTheNewContent)
{
    ASSERT_EQ(readFile(at("a.txt")), "hello\n");
    ASSERT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    ASSERT_EQ(provider.fileData, 1);
    provider.replaceFile(L"a.txt", "brand new content\n");
    ASSERT_EQ(update(L"a.txt", 18, 43, PRJ_UPDATE_NONE, &cause), S_OK);
    EXPECT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_TRUE(eventually([&] { return readFile(at("a.txt")) == "brand new content\n"; }));
    EXPECT_EQ(provider.fileData, 2);
    EXPECT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
}

TEST_F(ItemUpdatesTest, SameContentIdIsANoOp)
{
    ASSERT_EQ(readFile(at("a.txt")), "hello\n");
    ASSERT_EQ(update(L"a.txt", 999, 42, PRJ_UPDATE_NONE, &cause), S_OK);  // 42: the provider's ContentID
    struct stat st {};
    ASSERT_EQ(::stat(at("a.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 6);
    EXPECT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    EXPECT_EQ(readFile(at("a.txt")), "hello\n");
    EXPECT_EQ(provider.fileData, 1);
}

TEST_F(ItemUpdatesTest, DirtyPlaceholderNeedsAllowDirtyMetadata)
{
    timespec times[2] = {{1, 0}, {2, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, at("a.txt").c_str(), times, 0), 0);
    ASSERT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_PLACEHOLDER | PRJ_FILE_STATE_DIRTY_PLACEHOLDER);
    EXPECT_EQ(update(L"a.txt", 7, 43, PRJ_UPDATE_NONE, &cause), kInvalidOperation);
    EXPECT_EQ(cause, PRJ_UPDATE_FAILURE_CAUSE_DIRTY_METADATA);
    EXPECT_EQ(remove(L"a.txt", PRJ_UPDATE_ALLOW_DIRTY_DATA, &cause), kInvalidOperation);
    EXPECT_EQ(cause, PRJ_UPDATE_FAILURE_CAUSE_DIRTY_METADATA);
    EXPECT_EQ(update(L"a.txt", 7, 43, PRJ_UPDATE_ALLOW_DIRTY_METADATA, &cause), S_OK);
    EXPECT_EQ(cause, PRJ_UPDATE_FAILURE_CAUSE_NONE);
    EXPECT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_PLACEHOLDER);  // local changes dropped
}

TEST_F(ItemUpdatesTest, FullFileNeedsAllowDirtyData)
{
    int fd = ::open(at("a.txt").c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "local\n", 6), 6);
    ::close(fd);
    ASSERT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_FULL);
    EXPECT_EQ(update(L"a.txt", 6, 42, PRJ_UPDATE_ALLOW_DIRTY_METADATA, &cause), kInvalidOperation);
    EXPECT_EQ(cause, PRJ_UPDATE_FAILURE_CAUSE_DIRTY_DATA);
    EXPECT_EQ(remove(L"a.txt", PRJ_UPDATE_NONE, &cause), kInvalidOperation);
    EXPECT_EQ(cause, PRJ_UPDATE_FAILURE_CAUSE_DIRTY_DATA);
    EXPECT_EQ(readFile(at("a.txt")), "hello\nlocal\n");  // refused: nothing lost
    // Allowed: back to a placeholder of the provider's content (even with the old ContentID).
    ASSERT_EQ(update(L"a.txt", 6, 42, PRJ_UPDATE_ALLOW_DIRTY_DATA, &cause), S_OK);
    EXPECT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_TRUE(eventually([&] { return readFile(at("a.txt")) == "hello\n"; }));
    EXPECT_EQ(provider.fileData, 2);
}

TEST_F(ItemUpdatesTest, DeleteOfFullFileWithAllowDirtyData)
{
    int fd = ::open(at("a.txt").c_str(), O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0);
    ::close(fd);
    ASSERT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_FULL);
    provider.removeItem(L"a.txt");
    ASSERT_EQ(remove(L"a.txt", PRJ_UPDATE_ALLOW_DIRTY_DATA, &cause), S_OK);
    EXPECT_TRUE(eventually([&] { return !exists(at("a.txt")); }));
    EXPECT_FALSE(listed(root.path(), "a.txt"));
}

TEST_F(ItemUpdatesTest, TombstoneNeedsAllowTombstone)
{
    ASSERT_EQ(::unlink(at("a.txt").c_str()), 0);  // looks it up first: placeholder, then tombstone
    ASSERT_FALSE(exists(at("a.txt")));
    EXPECT_EQ(update(L"a.txt", 6, 43, PRJ_UPDATE_ALLOW_DIRTY_DATA, &cause), kInvalidOperation);
    EXPECT_EQ(cause, PRJ_UPDATE_FAILURE_CAUSE_TOMBSTONE);
    EXPECT_EQ(remove(L"a.txt", PRJ_UPDATE_NONE, &cause), kInvalidOperation);
    EXPECT_EQ(cause, PRJ_UPDATE_FAILURE_CAUSE_TOMBSTONE);
    EXPECT_FALSE(listed(root.path(), "a.txt"));
    ASSERT_EQ(update(L"a.txt", 6, 43, PRJ_UPDATE_ALLOW_TOMBSTONE, &cause), S_OK);
    EXPECT_TRUE(exists(at("a.txt")));
    EXPECT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_EQ(readFile(at("a.txt")), "hello\n");
}

TEST_F(ItemUpdatesTest, DeletingATombstoneMakesTheItemVirtualAgain)
{
    ASSERT_EQ(::unlink(at("a.txt").c_str()), 0);
    ASSERT_EQ(remove(L"a.txt", PRJ_UPDATE_ALLOW_TOMBSTONE, &cause), S_OK);
    EXPECT_TRUE(listed(root.path(), "a.txt"));  // from the provider's enumeration
    EXPECT_EQ(readFile(at("a.txt")), "hello\n");
}

TEST_F(ItemUpdatesTest, ReadOnlyAttributeNeedsAllowReadOnly)
{
    ASSERT_TRUE(exists(at("a.txt")));
    ASSERT_EQ(update(L"a.txt", 6, 43, PRJ_UPDATE_NONE, &cause, FILE_ATTRIBUTE_READONLY), S_OK);
    struct stat st {};
    EXPECT_TRUE(eventually([&] { return ::stat(at("a.txt").c_str(), &st) == 0 && (st.st_mode & 0222) == 0; }));
    EXPECT_EQ(update(L"a.txt", 6, 44, PRJ_UPDATE_NONE, &cause), kInvalidOperation);
    EXPECT_EQ(cause, PRJ_UPDATE_FAILURE_CAUSE_READ_ONLY);
    EXPECT_EQ(remove(L"a.txt", PRJ_UPDATE_ALLOW_DIRTY_DATA, &cause), kInvalidOperation);
    EXPECT_EQ(cause, PRJ_UPDATE_FAILURE_CAUSE_READ_ONLY);
    ASSERT_EQ(update(L"a.txt", 6, 44, PRJ_UPDATE_ALLOW_READ_ONLY, &cause), S_OK);
    EXPECT_TRUE(eventually([&] { return ::stat(at("a.txt").c_str(), &st) == 0 && (st.st_mode & 0200) != 0; }));
}

TEST_F(ItemUpdatesTest, DeleteOfPlaceholderLeavesNoTombstone)
{
    ASSERT_TRUE(exists(at("a.txt")));
    ASSERT_EQ(provider.placeholderInfo, 1);
    ASSERT_EQ(remove(L"a.txt", PRJ_UPDATE_NONE, &cause), S_OK);
    // Still in the provider's store: virtual again, so listed (a tombstone would hide it) and found from the
    // new listing; its placeholder comes back when something needs it on disk (here: its state).
    EXPECT_TRUE(listed(root.path(), "a.txt"));
    EXPECT_TRUE(eventually([&] { return exists(at("a.txt")); }));
    EXPECT_EQ(provider.placeholderInfo, 1);
    EXPECT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_EQ(provider.placeholderInfo, 2);
}

TEST_F(ItemUpdatesTest, DeletedItemsTheProviderNoLongerHasAreGone)
{
    ASSERT_EQ(readFile(at("Dir/B.bin")), "bbbbbbbb");  // hydrated, and the kernel caches the entry
    ASSERT_TRUE(exists(at("a.txt")));
    provider.removeItem(L"Dir\\B.bin");
    provider.removeItem(L"a.txt");
    ASSERT_EQ(remove(L"dir\\b.BIN", PRJ_UPDATE_NONE, &cause), S_OK);  // names match case-insensitively
    ASSERT_EQ(remove(L"a.txt", PRJ_UPDATE_NONE, &cause), S_OK);
    EXPECT_TRUE(eventually([&] { return !exists(at("Dir/B.bin")) && !exists(at("a.txt")); }));
    EXPECT_FALSE(listed(at("Dir"), "B.bin"));
    EXPECT_FALSE(listed(root.path(), "a.txt"));
    EXPECT_EQ(remove(L"a.txt", PRJ_UPDATE_NONE, &cause), kNotFound);  // virtual (and not even that) now
}

TEST_F(ItemUpdatesTest, NonEmptyDirectoryIsNotDeleted)
{
    ASSERT_TRUE(exists(at("Dir/B.bin")));
    EXPECT_EQ(remove(L"Dir", PRJ_UPDATE_NONE, &cause), HRESULT_FROM_WIN32(ERROR_DIR_NOT_EMPTY));
    EXPECT_TRUE(exists(at("Dir/B.bin")));
    ASSERT_EQ(remove(L"Dir\\B.bin", PRJ_UPDATE_NONE, &cause), S_OK);
    EXPECT_EQ(remove(L"Dir", PRJ_UPDATE_NONE, &cause), S_OK);
    // The kernel's entry is dropped on the executor; then the next lookup makes a new placeholder.
    EXPECT_TRUE(eventually([&] { return fileState(at("Dir")) == PRJ_FILE_STATE_PLACEHOLDER; }));
}

TEST_F(ItemUpdatesTest, DirtyDirectoryWithOnlyTombstonesIsDeletedWithAllowDirtyMetadata)
{
    ASSERT_EQ(::unlink(at("Dir/B.bin").c_str()), 0);                     // a tombstone inside
    int fd = ::open(at("Dir/local").c_str(), O_CREAT | O_WRONLY, 0644);  // a local create makes Dir dirty
    ASSERT_GE(fd, 0);
    ::close(fd);
    ASSERT_EQ(::unlink(at("Dir/local").c_str()), 0);  // a local file leaves no tombstone
    ASSERT_EQ(fileState(at("Dir")), PRJ_FILE_STATE_PLACEHOLDER | PRJ_FILE_STATE_DIRTY_PLACEHOLDER);
    EXPECT_EQ(remove(L"Dir", PRJ_UPDATE_NONE, &cause), kInvalidOperation);
    EXPECT_EQ(cause, PRJ_UPDATE_FAILURE_CAUSE_DIRTY_METADATA);
    ASSERT_EQ(remove(L"Dir", PRJ_UPDATE_ALLOW_DIRTY_METADATA, &cause), S_OK);
    // Virtual again, tombstone and all: the provider's child shows again.
    EXPECT_TRUE(eventually([&] { return listed(at("Dir"), "B.bin"); }));
    EXPECT_EQ(readFile(at("Dir/B.bin")), "bbbbbbbb");
}

TEST_F(ItemUpdatesTest, VirtualItemsAreNotFound)
{
    EXPECT_EQ(update(L"a.txt", 6, 43, PRJ_UPDATE_NONE, &cause), kNotFound);  // only enumerable so far
    EXPECT_EQ(remove(L"a.txt", PRJ_UPDATE_NONE, &cause), kNotFound);
    EXPECT_EQ(remove(L"Dir\\B.bin", PRJ_UPDATE_NONE, &cause), kNotFound);
    EXPECT_EQ(remove(L"no\\such\\thing", PRJ_UPDATE_NONE, &cause), kNotFound);
    EXPECT_EQ(cause, PRJ_UPDATE_FAILURE_CAUSE_NONE);
    EXPECT_EQ(provider.placeholderInfo, 0);  // the provider is not asked
}

TEST_F(ItemUpdatesTest, UpdateOfADirectoryPlaceholderAndKindMismatch)
{
    ASSERT_TRUE(exists(at("Dir")));
    PRJ_PLACEHOLDER_INFO info{};
    info.FileBasicInfo.IsDirectory = TRUE;
    info.FileBasicInfo.LastWriteTime.QuadPart = ticksOf(1200000000);
    info.VersionInfo.ContentID[0] = 43;
    ASSERT_EQ(PrjUpdateFileIfNeeded(provider.context(), L"Dir", &info, sizeof(info), PRJ_UPDATE_NONE, &cause), S_OK);
    struct stat st {};
    EXPECT_TRUE(eventually([&] { return ::stat(at("Dir").c_str(), &st) == 0 && st.st_mtim.tv_sec == 1200000000; }));
    EXPECT_EQ(update(L"Dir", 6, 44, PRJ_UPDATE_NONE, &cause), E_INVALIDARG);  // a file's info for a directory
}

TEST_F(ItemUpdatesTest, ArgumentChecks)
{
    PRJ_PLACEHOLDER_INFO info{};
    auto garbage = reinterpret_cast<PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT>(0x1234);
    auto ctx = provider.context();
    EXPECT_EQ(PrjUpdateFileIfNeeded(nullptr, L"a.txt", &info, sizeof(info), PRJ_UPDATE_NONE, &cause), E_INVALIDARG);
    EXPECT_EQ(PrjUpdateFileIfNeeded(garbage, L"a.txt", &info, sizeof(info), PRJ_UPDATE_NONE, &cause), E_INVALIDARG);
    EXPECT_EQ(PrjUpdateFileIfNeeded(ctx, nullptr, &info, sizeof(info), PRJ_UPDATE_NONE, &cause), E_INVALIDARG);
    EXPECT_EQ(PrjUpdateFileIfNeeded(ctx, L"a.txt", nullptr, sizeof(info), PRJ_UPDATE_NONE, &cause), E_INVALIDARG);
    EXPECT_EQ(PrjUpdateFileIfNeeded(ctx, L"..\\x", &info, sizeof(info), PRJ_UPDATE_NONE, &cause), E_INVALIDARG);
    EXPECT_EQ(PrjUpdateFileIfNeeded(ctx, L"", &info, sizeof(info), PRJ_UPDATE_NONE, &cause), E_INVALIDARG);
    EXPECT_EQ(PrjUpdateFileIfNeeded(ctx, L"a.txt", &info, sizeof(info) - 1, PRJ_UPDATE_NONE, &cause),
              HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER));
    const wchar_t badUtf16[] = {L'a', static_cast<wchar_t>(0xD800), L'\0'};
    EXPECT_EQ(PrjUpdateFileIfNeeded(ctx, badUtf16, &info, sizeof(info), PRJ_UPDATE_NONE, &cause), E_INVALIDARG);
    EXPECT_EQ(PrjDeleteFile(nullptr, L"a.txt", PRJ_UPDATE_NONE, &cause), E_INVALIDARG);
    EXPECT_EQ(PrjDeleteFile(garbage, L"a.txt", PRJ_UPDATE_NONE, &cause), E_INVALIDARG);
    EXPECT_EQ(PrjDeleteFile(ctx, nullptr, PRJ_UPDATE_NONE, &cause), E_INVALIDARG);
    EXPECT_EQ(PrjDeleteFile(ctx, L"..\\x", PRJ_UPDATE_NONE, &cause), E_INVALIDARG);
    EXPECT_EQ(PrjDeleteFile(ctx, L"\\", PRJ_UPDATE_NONE, nullptr), E_INVALIDARG);  // the root itself
    UINT32 count = 7;
    EXPECT_EQ(PrjClearNegativePathCache(nullptr, &count), E_INVALIDARG);
    EXPECT_EQ(PrjClearNegativePathCache(garbage, &count), E_INVALIDARG);
    EXPECT_EQ(PrjClearNegativePathCache(ctx, nullptr), S_OK);  // the count is optional
    // failureReason is optional too.
    ASSERT_TRUE(exists(at("a.txt")));
    ASSERT_EQ(::unlink(at("a.txt").c_str()), 0);
    EXPECT_EQ(update(L"a.txt", 6, 43, PRJ_UPDATE_NONE, nullptr), kInvalidOperation);
}

TEST_F(ItemUpdatesTest, WithoutTheFlagEveryLookupAsksTheProvider)
{
    EXPECT_FALSE(exists(at("ghost")));
    EXPECT_FALSE(exists(at("ghost")));
    EXPECT_EQ(provider.placeholderInfo, 2);
    UINT32 count = 7;
    EXPECT_EQ(PrjClearNegativePathCache(provider.context(), &count), S_OK);
    EXPECT_EQ(count, 0u);
}

TEST_F(ItemUpdatesTest, UpdateAndDeleteFromInsideACallbackDoNotDeadlock)
{
    ASSERT_TRUE(exists(at("a.txt")));  // the kernel now caches the root's entry for it
    ASSERT_EQ(readFile(at("Dir/B.bin")), "bbbbbbbb");
    provider.replaceFile(L"Dir\\B.bin", "new");
    std::atomic<HRESULT> deleted{E_FAIL}, updated{E_FAIL};
    provider.setHook(
        provider.placeholderHook, std::function<void(const PRJ_CALLBACK_DATA*)>([&](const PRJ_CALLBACK_DATA* data) {
            if (std::wstring(data->FilePathName) != L"trigger") return;
            auto ctx = data->NamespaceVirtualizationContext;
            deleted = PrjDeleteFile(ctx, L"a.txt", PRJ_UPDATE_NONE, nullptr);
            PRJ_PLACEHOLDER_INFO info{};
            info.FileBasicInfo.FileSize = 3;
            info.VersionInfo.ContentID[0] = 43;
            updated = PrjUpdateFileIfNeeded(ctx, L"Dir\\B.bin", &info, sizeof(info), PRJ_UPDATE_NONE, nullptr);
        }));
    // A lookup in the root is in flight while the root's entry for a.txt is invalidated.
    EXPECT_FALSE(exists(at("trigger")));
    provider.setHook(provider.placeholderHook, std::function<void(const PRJ_CALLBACK_DATA*)>());
    EXPECT_EQ(deleted.load(), S_OK);
    EXPECT_EQ(updated.load(), S_OK);
    EXPECT_TRUE(eventually([&] { return readFile(at("Dir/B.bin")) == "new"; }));
    EXPECT_TRUE(
        eventually([&] { return exists(at("a.txt")) && fileState(at("a.txt")) == PRJ_FILE_STATE_PLACEHOLDER; }));
}

TEST_F(ItemUpdatesTest, DeletesAndUpdatesRaceWithReaders)
{
    std::atomic<bool> done{false};
    std::atomic<int> reads{0};
    std::thread reader([&] {
        while (!done) {
            (void)readFile(at("a.txt"));
            (void)listDirectory(root.path());
            reads++;
        }
    });
    auto ctx = provider.context();
    const auto any = static_cast<PRJ_UPDATE_TYPES>(PRJ_UPDATE_ALLOW_DIRTY_METADATA | PRJ_UPDATE_ALLOW_DIRTY_DATA |
                                                   PRJ_UPDATE_ALLOW_TOMBSTONE | PRJ_UPDATE_ALLOW_READ_ONLY);
    for (int i = 0; i < 20000 && (i < 500 || reads < 50); ++i) {  // until the reader overlapped a while
        HRESULT hr = PrjDeleteFile(ctx, L"a.txt", any, nullptr);
        EXPECT_TRUE(hr == S_OK || hr == kNotFound) << std::hex << hr;
        PRJ_PLACEHOLDER_INFO info{};
        info.FileBasicInfo.FileSize = 6;
        info.VersionInfo.ContentID[0] = static_cast<UINT8>(43 + i % 2);
        hr = PrjUpdateFileIfNeeded(ctx, L"a.txt", &info, sizeof(info), any, nullptr);
        EXPECT_TRUE(hr == S_OK || hr == kNotFound) << std::hex << hr;
    }
    EXPECT_TRUE(eventually([&] { return reads > 0; }));
    done = true;
    reader.join();
    EXPECT_TRUE(eventually([&] { return readFile(at("a.txt")) == "hello\n"; }));
}

TEST_F(ItemUpdatesTest, UpdateDuringHydrationKeepsThePlaceholder)
{
    ASSERT_TRUE(exists(at("a.txt")));
    provider.pendFileData = true;
    std::string seen;
    std::thread reader([&] { seen = readFile(at("a.txt")); });
    ASSERT_TRUE(provider.waitForPending(1));
    ASSERT_EQ(update(L"a.txt", 6, 43, PRJ_UPDATE_NONE, &cause), S_OK);  // while GetFileData is pending
    ASSERT_EQ(provider.completeFileData(0), S_OK);                      // delivers the old content
    reader.join();
    EXPECT_EQ(seen, "<cannot open>");  // that open fails rather than show content of the old version
    EXPECT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_PLACEHOLDER);  // not marked hydrated with old data
    provider.pendFileData = false;
    provider.replaceFile(L"a.txt", "HELLO\n");
    EXPECT_EQ(readFile(at("a.txt")), "HELLO\n");
    EXPECT_EQ(provider.fileData, 2);
}

TEST_F(ItemUpdatesTest, StopRightAfterADelete)
{
    ASSERT_TRUE(exists(at("a.txt")));
    auto ctx = provider.context();
    ASSERT_EQ(remove(L"a.txt", PRJ_UPDATE_NONE, &cause), S_OK);
    provider.stop();  // the queued invalidation runs or is dropped; nothing touches the ended session
    // The stopped instance's context is a closed handle now.
    PRJ_PLACEHOLDER_INFO info{};
    EXPECT_EQ(PrjDeleteFile(ctx, L"Dir", PRJ_UPDATE_NONE, &cause), E_INVALIDARG);
    EXPECT_EQ(PrjUpdateFileIfNeeded(ctx, L"Dir", &info, sizeof(info), PRJ_UPDATE_NONE, &cause), E_INVALIDARG);
    UINT32 count = 0;
    EXPECT_EQ(PrjClearNegativePathCache(ctx, &count), E_INVALIDARG);
}

class NegativePathCacheTest : public ItemUpdatesTest {
protected:
    const PRJ_STARTVIRTUALIZING_OPTIONS* options() override
    {
        startOptions.Flags = PRJ_FLAG_USE_NEGATIVE_PATH_CACHE;
        return &startOptions;
    }
    UINT32 clear()
    {
        UINT32 count = 12345;
        EXPECT_EQ(PrjClearNegativePathCache(provider.context(), &count), S_OK);
        return count;
    }
    PRJ_STARTVIRTUALIZING_OPTIONS startOptions{};
};

TEST_F(NegativePathCacheTest, NotFoundIsRememberedUntilCleared)
{
    EXPECT_FALSE(exists(at("ghost")));
    EXPECT_EQ(provider.placeholderInfo, 1);
    EXPECT_FALSE(exists(at("ghost")));
    EXPECT_FALSE(exists(at("GHOST")));  // one entry, whatever the case
    EXPECT_FALSE(exists(at("Dir/ghost")));
    EXPECT_EQ(provider.placeholderInfo, 3);  // Dir, Dir/ghost; "ghost" only once
    EXPECT_TRUE(exists(at("a.txt")));        // found items are not affected
    EXPECT_EQ(clear(), 2u);
    EXPECT_EQ(clear(), 0u);
    int before = provider.placeholderInfo;
    EXPECT_FALSE(exists(at("ghost")));  // the kernel did not cache the ENOENT either
    EXPECT_EQ(provider.placeholderInfo, before + 1);
}

TEST_F(NegativePathCacheTest, LocalCreateForgetsTheEntry)
{
    EXPECT_FALSE(exists(at("ghost")));
    ASSERT_EQ(provider.placeholderInfo, 1);
    int fd = ::open(at("Ghost").c_str(), O_CREAT | O_WRONLY | O_EXCL, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
    EXPECT_EQ(clear(), 0u);
    // Deleted again (a local file leaves no tombstone): the next lookup asks the provider again.
    ASSERT_EQ(::unlink(at("Ghost").c_str()), 0);
    EXPECT_FALSE(exists(at("ghost")));
    EXPECT_EQ(provider.placeholderInfo, 2);
}

TEST_F(NegativePathCacheTest, ProviderPlaceholderForgetsTheEntry)
{
    EXPECT_FALSE(exists(at("ghost")));
    provider.replaceFile(L"ghost", "boo");
    PRJ_PLACEHOLDER_INFO info{};
    info.FileBasicInfo.FileSize = 3;
    ASSERT_EQ(PrjWritePlaceholderInfo(provider.context(), L"GHOST", &info, sizeof(info)), S_OK);
    EXPECT_EQ(clear(), 0u);
    EXPECT_EQ(readFile(at("ghost")), "boo");
}

TEST_F(NegativePathCacheTest, DeletedItemIsLookedUpAgain)
{
    // A provider delete does not put the path into the cache: only GetPlaceholderInfo's answer does.
    ASSERT_TRUE(exists(at("a.txt")));
    ASSERT_EQ(remove(L"a.txt", PRJ_UPDATE_NONE, &cause), S_OK);
    // Until the executor drops the kernel's entry, stat may still be answered from its cache.
    EXPECT_TRUE(eventually([&] { return exists(at("a.txt")) && provider.placeholderInfo == 2; }));
    EXPECT_EQ(clear(), 0u);
}

TEST(NegativePathCache, BoundedCaseInsensitiveAndClearable)
{
    NegativePathCache cache(3);
    cache.add("a");
    cache.add("B");
    cache.add("dir/c");
    cache.add("A");  // already there
    EXPECT_EQ(cache.size(), 3u);
    EXPECT_TRUE(cache.contains("b"));
    EXPECT_TRUE(cache.contains("DIR/C"));
    cache.add("d");  // full: the oldest ("a") goes
    EXPECT_FALSE(cache.contains("a"));
    EXPECT_TRUE(cache.contains("d"));
    cache.forget("b");
    EXPECT_FALSE(cache.contains("B"));
    cache.forget("never-added");
    EXPECT_EQ(cache.clear(), 2u);
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_FALSE(cache.contains("d"));
}

}  // namespace
}  // namespace hc::projfs::test
