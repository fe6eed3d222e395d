// Renaming directory placeholders (issue 14 item 5): the subtree's items are written to disk as
// placeholders first (no content fetched), the moved directories stop being the provider's, and their files
// still hydrate from the provider by the path they were created under, with their VersionInfo.
#include "test_provider.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

namespace hc::projfs::test {
namespace {

class DirectoryRenameTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        provider.addFile(L"a.txt", "hello\n");
        provider.addDirectory(L"Dir");
        provider.addFile(L"Dir\\one.txt", "one\n");
        provider.addFile(L"Dir\\two.txt", "two\n");
        provider.addDirectory(L"Dir\\Sub");
        provider.addFile(L"Dir\\Sub\\deep.txt", "deep\n");
        provider.addDirectory(L"Dir\\Sub\\Empty");
        provider.addDirectory(L"Other");
    }
    void start() { ASSERT_EQ(provider.start(root.path()), S_OK); }
    void TearDown() override { provider.stop(); }
    std::string at(const std::string& rel) const { return root.path() + "/" + rel; }
    bool exists(const std::string& rel) const
    {
        struct stat st {};
        return ::lstat(at(rel).c_str(), &st) == 0;
    }

    TempRoot root;
    TestProvider provider;
};

TEST_F(DirectoryRenameTest, NeverExpandedDirectoryMovesWithoutFetchingContent)
{
    start();
    ASSERT_EQ(::rename(at("Dir").c_str(), at("Moved").c_str()), 0) << std::strerror(errno);
    EXPECT_EQ(provider.fileData, 0);
    EXPECT_FALSE(exists("Dir"));
    EXPECT_EQ(listDirectory(root.path()), (std::vector<std::string>{"a.txt", "Moved", "Other"}));
    EXPECT_EQ(listDirectory(at("Moved")), (std::vector<std::string>{"one.txt", "Sub", "two.txt"}));
    EXPECT_EQ(listDirectory(at("Moved/Sub")), (std::vector<std::string>{"deep.txt", "Empty"}));
    // The moved directories are full (no longer the provider's); the files are placeholders still.
    EXPECT_EQ(fileState(at("Moved")), PRJ_FILE_STATE_FULL);
    EXPECT_EQ(fileState(at("Moved/Sub")), PRJ_FILE_STATE_FULL);
    EXPECT_EQ(fileState(at("Moved/Sub/deep.txt")), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_EQ(provider.fileData, 0);

    // Content comes from the provider by the path the placeholder was created under, with its VersionInfo.
    EXPECT_EQ(readFile(at("Moved/Sub/deep.txt")), "deep\n");
    auto requests = provider.fileDataRequestsSeen();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].path, L"Dir\\Sub\\deep.txt");
    EXPECT_TRUE(requests[0].hadVersionInfo);
    EXPECT_EQ(fileState(at("Moved/Sub/deep.txt")), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
}

TEST_F(DirectoryRenameTest, PartlyExpandedDirectoryKeepsEveryLocalChange)
{
    start();
    EXPECT_EQ(readFile(at("Dir/one.txt")), "one\n");    // hydrated
    ASSERT_EQ(::unlink(at("Dir/two.txt").c_str()), 0);  // a tombstone
    {
        int fd = ::open(at("Dir/Sub/local.txt").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::write(fd, "local\n", 6), 6);
        ::close(fd);
    }
    const int fetchedBefore = provider.fileData;
    ASSERT_EQ(::rename(at("Dir").c_str(), at("Other/Moved").c_str()), 0) << std::strerror(errno);
    EXPECT_EQ(provider.fileData, fetchedBefore);
    EXPECT_EQ(listDirectory(at("Other/Moved")), (std::vector<std::string>{"one.txt", "Sub"}));  // two.txt stays gone
    EXPECT_EQ(listDirectory(at("Other/Moved/Sub")), (std::vector<std::string>{"deep.txt", "Empty", "local.txt"}));
    EXPECT_EQ(readFile(at("Other/Moved/one.txt")), "one\n");
    EXPECT_EQ(readFile(at("Other/Moved/Sub/local.txt")), "local\n");
    EXPECT_EQ(readFile(at("Other/Moved/Sub/deep.txt")), "deep\n");
    EXPECT_EQ(provider.fileData, fetchedBefore + 1);
    EXPECT_EQ(listDirectory(root.path()), (std::vector<std::string>{"a.txt", "Other"}));
}

TEST_F(DirectoryRenameTest, MovedDirectoryIsNoLongerAskedAbout)
{
    start();
    ASSERT_EQ(::rename(at("Dir").c_str(), at("Moved").c_str()), 0) << std::strerror(errno);
    provider.addFile(L"Dir\\three.txt", "three\n");  // the provider changes the old directory
    const int enumerations = provider.startEnum;
    const int lookups = provider.placeholderInfo;
    EXPECT_FALSE(exists("Moved/three.txt"));
    EXPECT_FALSE(exists("Moved/nothing"));
    EXPECT_EQ(listDirectory(at("Moved")), (std::vector<std::string>{"one.txt", "Sub", "two.txt"}));
    EXPECT_EQ(provider.startEnum, enumerations);
    EXPECT_EQ(provider.placeholderInfo, lookups);
    // The old name is a tombstone: gone although the provider still lists it.
    EXPECT_FALSE(exists("Dir"));
    EXPECT_FALSE(exists("Dir/three.txt"));
}

TEST_F(DirectoryRenameTest, MovedTreeSurvivesARestartAndCanMoveBack)
{
    start();
    ASSERT_EQ(::rename(at("Dir").c_str(), at("Moved").c_str()), 0) << std::strerror(errno);
    provider.stop();
    start();
    EXPECT_EQ(listDirectory(root.path()), (std::vector<std::string>{"a.txt", "Moved", "Other"}));
    EXPECT_EQ(readFile(at("Moved/two.txt")), "two\n");
    ASSERT_EQ(::rename(at("Moved").c_str(), at("Dir").c_str()), 0) << std::strerror(errno);  // onto its tombstone
    EXPECT_EQ(listDirectory(at("Dir")), (std::vector<std::string>{"one.txt", "Sub", "two.txt"}));
    EXPECT_EQ(readFile(at("Dir/Sub/deep.txt")), "deep\n");
    EXPECT_EQ(fileState(at("Dir")), PRJ_FILE_STATE_FULL);
}

TEST_F(DirectoryRenameTest, ExchangeMovesBothDirectories)
{
    start();
    ASSERT_EQ(::renameat2(AT_FDCWD, at("Dir").c_str(), AT_FDCWD, at("Other").c_str(), RENAME_EXCHANGE), 0)
        << std::strerror(errno);
    EXPECT_EQ(listDirectory(at("Other")), (std::vector<std::string>{"one.txt", "Sub", "two.txt"}));
    EXPECT_TRUE(listDirectory(at("Dir")).empty());
    EXPECT_EQ(readFile(at("Other/one.txt")), "one\n");
    EXPECT_EQ(provider.fileData, 1);
}

TEST_F(DirectoryRenameTest, ProviderListingFailureRefusesTheRenameAndChangesNothing)
{
    start();
    provider.failStartEnum = true;
    EXPECT_EQ(::rename(at("Dir").c_str(), at("Moved").c_str()), -1);
    EXPECT_EQ(errno, EIO);
    provider.failStartEnum = false;
    EXPECT_FALSE(exists("Moved"));
    EXPECT_EQ(fileState(at("Dir")), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_EQ(listDirectory(at("Dir")), (std::vector<std::string>{"one.txt", "Sub", "two.txt"}));
}

// A directory placeholder whose provider entries are not on disk is not empty: rmdir of it, or a rename of
// a directory onto it, fails with ENOTEMPTY (the rename replaced it before, dropping its provider entries).
// Empty for its users — nothing listed, or everything listed deleted — it goes.
TEST_F(DirectoryRenameTest, PlaceholderDirectoryWithProviderEntriesIsNotEmpty)
{
    start();
    ASSERT_EQ(::mkdir(at("New").c_str(), 0755), 0);
    EXPECT_EQ(::rmdir(at("Dir").c_str()), -1);
    EXPECT_EQ(errno, ENOTEMPTY);
    EXPECT_EQ(::rename(at("New").c_str(), at("Dir").c_str()), -1);
    EXPECT_EQ(errno, ENOTEMPTY);
    // Never listed nor looked up below: the kernel knows Dir/Sub only by the lookup the rename makes.
    EXPECT_EQ(::rename(at("New").c_str(), at("Dir/Sub").c_str()), -1);
    EXPECT_EQ(errno, ENOTEMPTY);
    EXPECT_EQ(listDirectory(at("Dir")), (std::vector<std::string>{"one.txt", "Sub", "two.txt"}));
    EXPECT_EQ(listDirectory(at("Dir/Sub")), (std::vector<std::string>{"deep.txt", "Empty"}));
    EXPECT_EQ(fileState(at("Dir")), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_EQ(provider.fileData, 0);

    // Once everything it lists is deleted, a placeholder directory is empty, and stays deleted.
    ASSERT_EQ(::rmdir(at("Dir/Sub/Empty").c_str()), 0) << std::strerror(errno);
    ASSERT_EQ(::unlink(at("Dir/Sub/deep.txt").c_str()), 0);
    ASSERT_EQ(::rmdir(at("Dir/Sub").c_str()), 0) << std::strerror(errno);
    EXPECT_FALSE(exists("Dir/Sub"));
    EXPECT_EQ(listDirectory(at("Dir")), (std::vector<std::string>{"one.txt", "two.txt"}));
    ASSERT_EQ(::rmdir(at("Other").c_str()), 0) << std::strerror(errno);  // never had provider entries
    EXPECT_EQ(listDirectory(root.path()), (std::vector<std::string>{"a.txt", "Dir", "New"}));
}

TEST_F(DirectoryRenameTest, ProviderListingFailureRefusesTheRmdir)
{
    start();
    provider.failStartEnum = true;
    EXPECT_EQ(::rmdir(at("Other").c_str()), -1);
    EXPECT_EQ(errno, EIO);
    provider.failStartEnum = false;
    EXPECT_TRUE(exists("Other"));
    EXPECT_EQ(::rmdir(at("Other").c_str()), 0) << std::strerror(errno);
}

// The brief's measure: a 10,000-file subtree moves without one GetFileData call.
TEST_F(DirectoryRenameTest, TenThousandFilesMoveWithoutFetchingContent)
{
    constexpr int kFiles = 10000;
    provider.addDirectory(L"Big");
    for (int i = 0; i < kFiles; ++i) {
        wchar_t name[64];
        std::swprintf(name, 64, L"Big\\d%02d", i / 1000);
        if (i % 1000 == 0) provider.addDirectory(name);
        std::swprintf(name, 64, L"Big\\d%02d\\file-%05d.txt", i / 1000, i);
        provider.addFile(name, "content " + std::to_string(i) + "\n");
    }
    start();
    const int lookupsBefore = provider.placeholderInfo;
    auto began = std::chrono::steady_clock::now();
    ASSERT_EQ(::rename(at("Big").c_str(), at("Moved").c_str()), 0) << std::strerror(errno);
    auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    std::printf("rename of a never-expanded 10,000-file tree: %.2f s, %d GetPlaceholderInfo\n", took,
                provider.placeholderInfo - lookupsBefore);
    EXPECT_EQ(provider.fileData, 0);
    // The files, their 10 directories, and the kernel's lookups of Big and of the new name.
    EXPECT_EQ(provider.placeholderInfo - lookupsBefore, kFiles + 10 + 2);
    EXPECT_EQ(listDirectory(at("Moved/d07")).size(), 1000u);
    EXPECT_EQ(readFile(at("Moved/d07/file-07777.txt")), "content 7777\n");
    EXPECT_EQ(provider.fileData, 1);
}

}  // namespace
}  // namespace hc::projfs::test
