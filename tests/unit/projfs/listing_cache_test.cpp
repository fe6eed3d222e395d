// The kernel's cache of projected directory listings (FOPEN_CACHE_DIR) on real FUSE mounts: a second listing
// of an unchanged directory does not reach the provider, and every way a listing can change drops the cache.
#include "projfs/core/executor.h"
#include "projfs/core/virtualization_instance.h"
#include "test_provider.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace hc::projfs::test {
namespace {

using Names = std::vector<std::string>;

class ListingCacheTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        provider.addFile(L"a.txt", "hello\n");
        provider.addDirectory(L"Dir");
        provider.addFile(L"Dir\\B.bin", "bbbb");
        ASSERT_EQ(provider.start(root.path()), S_OK);
    }
    void TearDown() override { provider.stop(); }
    std::string at(const std::string& rel) const { return root.path() + "/" + rel; }

    // After a change (or the first time): the next listing of `dir` is a new enumeration showing `expected`.
    void expectFreshListing(const std::string& dir, const Names& expected)
    {
        provider.settleInvalidations();
        const int before = provider.startEnum;
        EXPECT_EQ(listDirectory(dir), expected);
        EXPECT_EQ(provider.startEnum, before + 1) << "the listing did not come from a new enumeration";
    }
    // Nothing changed since the last listing: the kernel answers from its cache.
    void expectCachedListing(const std::string& dir, const Names& expected)
    {
        provider.settleInvalidations();
        const int before = provider.startEnum;
        EXPECT_EQ(listDirectory(dir), expected);
        EXPECT_EQ(provider.startEnum, before) << "the listing of an unchanged directory enumerated";
    }
    void listTwiceFromCache(const std::string& dir, const Names& expected)
    {
        expectFreshListing(dir, expected);
        expectCachedListing(dir, expected);
    }
    HRESULT updateSize(const wchar_t* path, int64_t size)
    {
        PRJ_PLACEHOLDER_INFO info{};
        info.FileBasicInfo.FileSize = size;
        info.VersionInfo.ContentID[0] = 9;
        PRJ_UPDATE_FAILURE_CAUSES cause{};
        return PrjUpdateFileIfNeeded(provider.context(), path, &info, sizeof info, PRJ_UPDATE_NONE, &cause);
    }

    TempRoot root;
    TestProvider provider;
};

TEST_F(ListingCacheTest, SecondListingOfAnUnchangedDirectoryIsServedByTheKernel)
{
    listTwiceFromCache(root.path(), {"a.txt", "Dir"});
    EXPECT_EQ(provider.placeholderInfo, 0);
    listTwiceFromCache(at("Dir"), {"B.bin"});
    // Opening Dir wrote its placeholder; stat-ing a.txt is answered from the listing (no placeholder); asking
    // for a.txt's state writes its placeholder. Names the provider enumerates anyway, so the root's cached
    // listing stays valid.
    EXPECT_EQ(provider.placeholderInfo, 1);
    struct stat st {};
    ASSERT_EQ(::stat(at("a.txt").c_str(), &st), 0);
    EXPECT_EQ(provider.placeholderInfo, 1);
    EXPECT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_EQ(provider.placeholderInfo, 2);
    expectCachedListing(root.path(), {"a.txt", "Dir"});
    expectCachedListing(at("Dir"), {"B.bin"});
}

TEST_F(ListingCacheTest, PrjDeleteFileDropsTheParentsListing)
{
    listTwiceFromCache(at("Dir"), {"B.bin"});
    ASSERT_EQ(fileState(at("Dir/B.bin")), PRJ_FILE_STATE_PLACEHOLDER);  // its placeholder, for PrjDeleteFile
    expectCachedListing(at("Dir"), {"B.bin"});
    provider.removeItem(L"Dir\\B.bin");
    PRJ_UPDATE_FAILURE_CAUSES cause{};
    ASSERT_EQ(PrjDeleteFile(provider.context(), L"Dir\\B.bin", PRJ_UPDATE_NONE, &cause), S_OK);
    expectFreshListing(at("Dir"), {});
}

TEST_F(ListingCacheTest, PrjUpdateFileIfNeededDropsTheParentsListing)
{
    listTwiceFromCache(root.path(), {"a.txt", "Dir"});
    ASSERT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_PLACEHOLDER);  // its placeholder, for the update
    expectCachedListing(root.path(), {"a.txt", "Dir"});
    ASSERT_EQ(updateSize(L"a.txt", 3), S_OK);
    struct stat st {};
    expectFreshListing(root.path(), {"a.txt", "Dir"});
    ASSERT_EQ(::stat(at("a.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 3);
}

TEST_F(ListingCacheTest, PrjWritePlaceholderInfoOfANewChildDropsTheParentsListing)
{
    listTwiceFromCache(root.path(), {"a.txt", "Dir"});
    provider.replaceFile(L"c.txt", "cc");  // the provider's source gains c.txt ...
    PRJ_PLACEHOLDER_INFO info{};
    info.FileBasicInfo.FileSize = 2;
    ASSERT_EQ(PrjWritePlaceholderInfo(provider.context(), L"c.txt", &info, sizeof info), S_OK);  // ... and says so
    expectFreshListing(root.path(), {"a.txt", "c.txt", "Dir"});
}

TEST_F(ListingCacheTest, ExtensionCallDropsAListingTheProviderChangedWithoutTouchingTheDisk)
{
    listTwiceFromCache(root.path(), {"a.txt", "Dir"});
    provider.replaceFile(L"c.txt", "cc");
    provider.settleInvalidations();
    EXPECT_EQ(listDirectory(root.path()), (Names{"a.txt", "Dir"}));  // nothing told the runtime yet
    ASSERT_EQ(PrjInvalidateDirectoryListing(provider.context(), L""), S_OK);
    expectFreshListing(root.path(), {"a.txt", "c.txt", "Dir"});

    struct stat st {};
    ASSERT_EQ(::stat(at("Dir").c_str(), &st), 0);
    listTwiceFromCache(at("Dir"), {"B.bin"});
    provider.replaceFile(L"Dir\\D.txt", "d");
    ASSERT_EQ(PrjInvalidateDirectoryListing(provider.context(), L"dir\\"), S_OK);  // any case, any separator
    expectFreshListing(at("Dir"), {"B.bin", "D.txt"});
}

TEST_F(ListingCacheTest, ExtensionCallArgumentChecks)
{
    EXPECT_EQ(PrjInvalidateDirectoryListing(nullptr, L""), E_INVALIDARG);
    EXPECT_EQ(PrjInvalidateDirectoryListing(provider.context(), nullptr), E_INVALIDARG);
    EXPECT_EQ(PrjInvalidateDirectoryListing(provider.context(), L"Dir\\..\\a.txt"), E_INVALIDARG);
    struct stat st {};
    ASSERT_EQ(::stat(at("a.txt").c_str(), &st), 0);
    EXPECT_EQ(PrjInvalidateDirectoryListing(provider.context(), L"a.txt"), HRESULT_FROM_WIN32(ERROR_DIRECTORY));
    EXPECT_EQ(PrjInvalidateDirectoryListing(provider.context(), L"Dir"), S_OK);  // virtual: nothing cached
    EXPECT_EQ(PrjInvalidateDirectoryListing(provider.context(), L"Nowhere\\Deeper"), S_OK);
}

TEST_F(ListingCacheTest, LocalChangesThroughTheMountShowInTheNextListing)
{
    // The kernel drops its cached listing itself when a change goes through the mount (it bumps the
    // directory's version); these prove it for each kind of change.
    listTwiceFromCache(root.path(), {"a.txt", "Dir"});
    int fd = ::open(at("new.txt").c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
    listTwiceFromCache(root.path(), {"a.txt", "Dir", "new.txt"});
    ASSERT_EQ(::rename(at("new.txt").c_str(), at("renamed.txt").c_str()), 0);
    listTwiceFromCache(root.path(), {"a.txt", "Dir", "renamed.txt"});
    ASSERT_EQ(::unlink(at("renamed.txt").c_str()), 0);
    listTwiceFromCache(root.path(), {"a.txt", "Dir"});
    ASSERT_EQ(::mkdir(at("Sub").c_str(), 0755), 0);
    listTwiceFromCache(root.path(), {"a.txt", "Dir", "Sub"});
    ASSERT_EQ(::unlink(at("a.txt").c_str()), 0);  // a projected item: leaves a tombstone
    listTwiceFromCache(root.path(), {"Dir", "Sub"});
}

}  // namespace
}  // namespace hc::projfs::test
