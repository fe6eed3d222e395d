// Listed items on real FUSE mounts: `ls -l` of a never-touched directory is answered from the provider's
// enumeration (READDIRPLUS with the listing's attributes, lookups of listed names), and the placeholder is
// written only when something needs the item on disk — an open, a change, its state. Also: node ids are
// never reused, so a directory that gets a just-deleted directory's inode number is not taken for it.
#include "projfs/core/executor.h"
#include "projfs/core/virtualization_instance.h"
#include "test_provider.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace hc::projfs::test {
namespace {

constexpr int kFiles = 300;  // several READDIRPLUS replies

std::string fileName(int i)
{
    return "f" + std::to_string(i) + ".txt";
}

std::string contentOf(int i)
{
    return std::string(static_cast<size_t>(i % 50) + 1, static_cast<char>('a' + i % 26));
}

class ListedItemsTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        for (int i = 0; i < kFiles; ++i) {
            std::string name = fileName(i);
            provider.addFile(std::wstring(name.begin(), name.end()), contentOf(i));
        }
        provider.addDirectory(L"Dir");
        provider.addFile(L"Dir\\inner.txt", "inner");
        ASSERT_EQ(provider.start(root.path()), S_OK);
    }
    void TearDown() override { provider.stop(); }
    std::string at(const std::string& rel) const { return root.path() + "/" + rel; }

    // `ls -l`: a listing, then lstat of every name. Returns the sizes by name.
    std::vector<std::pair<std::string, struct stat>> listLong(const std::string& dir)
    {
        std::vector<std::pair<std::string, struct stat>> out;
        for (const std::string& name : listDirectory(dir)) {
            struct stat st {};
            EXPECT_EQ(::lstat((dir + "/" + name).c_str(), &st), 0) << name << ": " << std::strerror(errno);
            out.emplace_back(name, st);
        }
        return out;
    }

    TempRoot root;
    TestProvider provider;
};

TEST_F(ListedItemsTest, LongListingOfANeverTouchedDirectoryWritesNoPlaceholder)
{
    auto entries = listLong(root.path());
    ASSERT_EQ(entries.size(), static_cast<size_t>(kFiles + 1));
    for (const auto& [name, st] : entries) {
        if (name == "Dir") {
            EXPECT_TRUE(S_ISDIR(st.st_mode));
            continue;
        }
        int i = std::stoi(name.substr(1));
        EXPECT_TRUE(S_ISREG(st.st_mode)) << name;
        EXPECT_EQ(st.st_size, static_cast<off_t>(contentOf(i).size())) << name;
        EXPECT_EQ(st.st_mode & 0777, 0644u & ~0022u) << name;  // what its placeholder will have (umask 022)
    }
    EXPECT_EQ(provider.placeholderInfo, 0) << "ls -l asked for placeholders";
    // A second `ls -l` and a lookup of a listed name in another case: still nothing.
    listLong(root.path());
    struct stat st {};
    EXPECT_EQ(::stat(at("F7.TXT").c_str(), &st), 0);
    EXPECT_EQ(provider.placeholderInfo, 0);

    // Nothing was written: after a stop, the root holds no item.
    provider.stop();
    EXPECT_EQ(listDirectory(root.path()), std::vector<std::string>{});
}

TEST_F(ListedItemsTest, OpeningAListedItemWritesItsPlaceholder)
{
    listLong(root.path());
    ASSERT_EQ(provider.placeholderInfo, 0);
    EXPECT_EQ(readFile(at(fileName(3))), contentOf(3));
    EXPECT_EQ(provider.placeholderInfo, 1);
    EXPECT_EQ(fileState(at(fileName(3))), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    // Its state is asked for through the file system, which writes a listed item's placeholder (as on Windows).
    EXPECT_EQ(fileState(at(fileName(4))), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_EQ(provider.placeholderInfo, 2);
    // A listed directory is written when it is opened; its own listing is again from the enumeration.
    auto inner = listLong(at("Dir"));
    ASSERT_EQ(inner.size(), 1u);
    EXPECT_EQ(inner[0].second.st_size, 5);
    EXPECT_EQ(provider.placeholderInfo, 3);
    EXPECT_EQ(readFile(at("Dir/inner.txt")), "inner");
    EXPECT_EQ(provider.placeholderInfo, 4);
}

TEST_F(ListedItemsTest, DeleteAndRenameOfListedItems)
{
    listLong(root.path());
    ASSERT_EQ(::unlink(at(fileName(1)).c_str()), 0) << std::strerror(errno);
    ASSERT_EQ(::rename(at(fileName(2)).c_str(), at("renamed.txt").c_str()), 0) << std::strerror(errno);
    EXPECT_EQ(readFile(at("renamed.txt")), contentOf(2));
    auto names = listDirectory(root.path());
    EXPECT_EQ(std::count(names.begin(), names.end(), fileName(1)), 0);
    EXPECT_EQ(std::count(names.begin(), names.end(), fileName(2)), 0);
    EXPECT_EQ(std::count(names.begin(), names.end(), "renamed.txt"), 1);
    struct stat st {};
    EXPECT_EQ(::stat(at(fileName(1)).c_str(), &st), -1);
    EXPECT_EQ(errno, ENOENT);
    // The deleted and the moved-away names stay gone (tombstones), also after a restart.
    provider.stop();
    ASSERT_EQ(provider.start(root.path()), S_OK);
    names = listDirectory(root.path());
    EXPECT_EQ(std::count(names.begin(), names.end(), fileName(1)), 0);
    EXPECT_EQ(std::count(names.begin(), names.end(), fileName(2)), 0);
    EXPECT_EQ(readFile(at("renamed.txt")), contentOf(2));
}

TEST_F(ListedItemsTest, TheProviderChangesAListedItemMeanwhile)
{
    listLong(root.path());
    // The source changes without a word to the runtime: the kernel still shows the listed size, but opening
    // writes the placeholder from the provider's current answer, and the read sees all of it.
    std::string longer = "a much longer content than before\n";
    provider.replaceFile(L"f5.txt", longer);
    EXPECT_EQ(readFile(at("f5.txt")), longer);
    struct stat st {};
    ASSERT_EQ(::stat(at("f5.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, static_cast<off_t>(longer.size()));

    // The provider says so for a listed item (not on disk: ERROR_FILE_NOT_FOUND, as for any virtual item):
    // the listing and the kernel's listed entries are dropped, the next stat asks the provider.
    provider.replaceFile(L"f6.txt", longer);
    PRJ_PLACEHOLDER_INFO info{};
    info.FileBasicInfo.FileSize = static_cast<INT64>(longer.size());
    PRJ_UPDATE_FAILURE_CAUSES cause{};
    EXPECT_EQ(PrjUpdateFileIfNeeded(provider.context(), L"f6.txt", &info, sizeof info, PRJ_UPDATE_NONE, &cause),
              HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    provider.settleInvalidations();
    ASSERT_EQ(::stat(at("f6.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, static_cast<off_t>(longer.size()));

    // Deleted at the provider, said with PrjDeleteFile: gone from the kernel too.
    provider.removeItem(L"f8.txt");
    EXPECT_EQ(PrjDeleteFile(provider.context(), L"f8.txt", PRJ_UPDATE_NONE, &cause),
              HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    provider.settleInvalidations();
    EXPECT_EQ(::stat(at("f8.txt").c_str(), &st), -1);
    EXPECT_EQ(errno, ENOENT);
}

// ext4 hands a just-freed inode number to the next new item. The kernel still holds the deleted directory
// (a descriptor keeps it); the new directory must get its own node, not the old one's (that was ESTALE).
TEST_F(ListedItemsTest, ADirectoryReusingADeletedDirectorysInodeIsANewNode)
{
    ASSERT_EQ(::mkdir(at("p").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(at("p/old").c_str(), 0755), 0);
    ASSERT_EQ(::close(::open(at("p/old/file").c_str(), O_CREAT | O_WRONLY, 0644)), 0);
    struct stat old {};
    ASSERT_EQ(::stat(at("p/old").c_str(), &old), 0);
    int held = ::open(at("p/old").c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(held, 0);
    ASSERT_EQ(::unlink(at("p/old/file").c_str()), 0);
    ASSERT_EQ(::rmdir(at("p/old").c_str()), 0);
    bool reused = false;
    std::string dir;
    for (int i = 0; i < 50 && !reused; ++i) {
        dir = at("p/new" + std::to_string(i));
        ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << std::strerror(errno);
        struct stat st {};
        ASSERT_EQ(::stat(dir.c_str(), &st), 0) << std::strerror(errno);
        reused = st.st_ino == old.st_ino;
    }
    ASSERT_TRUE(reused) << "ext4 did not reuse the inode number; the test cannot show anything";
    ASSERT_EQ(::close(::open((dir + "/x").c_str(), O_CREAT | O_WRONLY, 0644)), 0) << std::strerror(errno);
    EXPECT_EQ(listDirectory(dir), std::vector<std::string>{"x"});
    struct stat st {};
    EXPECT_EQ(::stat((dir + "/x").c_str(), &st), 0) << std::strerror(errno);
    ::close(held);
}

}  // namespace
}  // namespace hc::projfs::test
