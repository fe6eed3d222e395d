// Symbolic link placeholders (PRJ_EXT_INFO_TYPE_SYMLINK) on real FUSE mounts: listed as links, read with
// readlink without any GetFileData, relative and absolute targets, targets outside the root, deletes that
// stay deleted — and QueryFileName, asked where Windows asks it: whether the provider has a name whose
// on-disk state cannot tell (a link, a local item), to decide if its delete leaves a tombstone.
#include "test_provider.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <string>

namespace hc::projfs::test {
namespace {

class SymlinkTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        outside = outsideDir.path() + "/outside.txt";
        std::ofstream(outside) << "from outside";
        provider.addFile(L"target.txt", "target content");
        provider.addSymlink(L"rel", L"target.txt");
        provider.addDirectory(L"dir");
        provider.addSymlink(L"dir\\up", L"../target.txt");
        provider.addSymlink(L"out", std::wstring(outside.begin(), outside.end()));
        provider.addSymlink(L"dangling", L"no/such/thing");
    }
    void start() { ASSERT_EQ(provider.start(root.path()), S_OK); }
    void TearDown() override { provider.stop(); }
    std::string at(const std::string& rel) const { return root.path() + "/" + rel; }
    std::string linkOf(const std::string& rel)
    {
        char buf[PATH_MAX];
        ssize_t n = ::readlink(at(rel).c_str(), buf, sizeof(buf));
        EXPECT_GE(n, 0) << rel << ": " << std::strerror(errno);
        return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
    }
    bool exists(const std::string& rel)
    {
        struct stat st {};
        return ::lstat(at(rel).c_str(), &st) == 0;
    }
    bool listed(const std::string& dir, const std::string& name)
    {
        auto names = listDirectory(dir.empty() ? root.path() : at(dir));
        return std::find(names.begin(), names.end(), name) != names.end();
    }

    TempRoot root;
    TempRoot outsideDir;
    std::string outside;
    TestProvider provider;
};

TEST_F(SymlinkTest, LinksAreListedAndReadWithoutHydration)
{
    start();
    auto names = listDirectory(root.path());
    EXPECT_EQ(names.size(), 5u);
    // d_type of a listed link is DT_LNK.
    DIR* dir = ::opendir(root.path().c_str());
    ASSERT_NE(dir, nullptr);
    int links = 0;
    while (dirent* entry = ::readdir(dir))
        if (entry->d_type == DT_LNK) ++links;
    ::closedir(dir);
    EXPECT_EQ(links, 3);

    struct stat st {};
    ASSERT_EQ(::lstat(at("rel").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_EQ(st.st_size, static_cast<off_t>(std::strlen("target.txt")));
    EXPECT_EQ(linkOf("rel"), "target.txt");
    EXPECT_EQ(linkOf("dir/up"), "../target.txt");
    EXPECT_EQ(linkOf("out"), outside);
    EXPECT_EQ(linkOf("dangling"), "no/such/thing");
    EXPECT_EQ(provider.fileData.load(), 0) << "readlink must not hydrate anything";
}

TEST_F(SymlinkTest, FollowingLinksReachesTheirTargetsInsideAndOutsideTheRoot)
{
    start();
    EXPECT_EQ(readFile(at("rel")), "target content");
    EXPECT_EQ(readFile(at("dir/up")), "target content");
    EXPECT_EQ(readFile(at("out")), "from outside");
    EXPECT_EQ(provider.fileData.load(), 1);  // target.txt, once
    struct stat st {};
    EXPECT_NE(::stat(at("dangling").c_str(), &st), 0);
    EXPECT_EQ(errno, ENOENT);
}

TEST_F(SymlinkTest, LinksStayOnDiskAsLinksAfterStop)
{
    start();
    EXPECT_EQ(linkOf("dir/up"), "../target.txt");
    provider.stop();
    EXPECT_EQ(linkOf("dir/up"), "../target.txt");
}

TEST_F(SymlinkTest, ADeletedLinkStaysDeletedWithoutQueryFileName)
{
    start();
    EXPECT_EQ(linkOf("rel"), "target.txt");
    ASSERT_EQ(::unlink(at("rel").c_str()), 0);
    EXPECT_FALSE(exists("rel"));
    EXPECT_FALSE(listed("", "rel"));
    provider.stop();
    start();
    EXPECT_FALSE(exists("rel")) << "the provider's link came back after a restart";
    EXPECT_FALSE(listed("", "rel"));
}

TEST_F(SymlinkTest, QueryFileNameDecidesWhetherADeleteLeavesATombstone)
{
    provider.answerQueryFileName = true;
    start();
    // A link the provider has: asked, and the delete sticks.
    EXPECT_EQ(linkOf("dir/up"), "../target.txt");
    ASSERT_EQ(::unlink(at("dir/up").c_str()), 0);
    EXPECT_EQ(provider.queryFileName.load(), 1);
    EXPECT_FALSE(listed("dir", "up"));
    // A local file the provider does not have: asked, no tombstone left behind.
    {
        std::ofstream(at("local.txt")) << "mine";
    }
    ASSERT_EQ(::unlink(at("local.txt").c_str()), 0);
    EXPECT_EQ(provider.queryFileName.load(), 2);
    // A local file made over a deleted provider name: its delete must hide the provider's item again.
    ASSERT_EQ(readFile(at("target.txt")), "target content");
    ASSERT_EQ(::unlink(at("target.txt").c_str()), 0);
    {
        std::ofstream(at("target.txt")) << "local again";
    }
    ASSERT_EQ(::unlink(at("target.txt").c_str()), 0);
    EXPECT_EQ(provider.queryFileName.load(), 3);
    EXPECT_FALSE(exists("target.txt"));
    EXPECT_FALSE(listed("", "target.txt"));
    {
        std::lock_guard lock(provider.mutex);
        EXPECT_EQ(provider.queriedPaths, (std::vector<std::wstring>{L"dir\\up", L"local.txt", L"target.txt"}));
    }
    provider.stop();
    struct stat st {};
    // On disk: tombstones for the provider's names, nothing for the local one.
    EXPECT_EQ(::lstat(at("local.txt").c_str(), &st), -1);
    EXPECT_EQ(fileState(at("dir/up")), PRJ_FILE_STATE_TOMBSTONE);
    EXPECT_EQ(fileState(at("target.txt")), PRJ_FILE_STATE_TOMBSTONE);
}

}  // namespace
}  // namespace hc::projfs::test
