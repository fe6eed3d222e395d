// Renaming projected directories with `prjfs mirror` in its own process (issue 14 item 5). The mirror's
// source keeps its files under their OLD paths, so the moved files must be hydrated by the path their
// placeholders were created under (docs/projfs-design.md, "Renaming a directory placeholder"), and a
// provider killed in the middle of a rename must leave a tree that is consistent: the directory is either
// still where it was, fully listed, or completely at its new name, and every file reads the source's bytes.
#include "provider_process.h"
#include "virtualization_root.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

using namespace projfs_test;
using namespace std::chrono_literals;

namespace {

std::string fileName(int i)
{
    return "file-" + std::to_string(i) + ".txt";
}

std::string contentOf(int i)
{
    return "content of " + std::to_string(i) + "\n";
}

// Entries of a directory opened relative to `dirFd` (the backing directory, under the mount), or -1.
int countEntries(int dirFd, const char* rel)
{
    int fd = openat(dirFd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    DIR* dir = fdopendir(fd);
    if (dir == nullptr) {
        close(fd);
        return -1;
    }
    int count = 0;
    while (dirent* entry = readdir(dir)) {
        if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) ++count;
    }
    closedir(dir);
    return count;
}

class DirectoryRenameMirrorTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        scratch_ = makeTempDir("projfs-rename");
        source_ = scratch_ + "/source";
        root_ = scratch_ + "/root";
        ASSERT_EQ(mkdir(source_.c_str(), 0755), 0);
        ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    }
    void TearDown() override
    {
        for (int i = 0; i < 3 && isMounted(root_); ++i)
            umount2(root_.c_str(), MNT_DETACH);
        removeTree(scratch_);
    }
    // d/ with `files` files in d/sub-N/ directories of 1,000 each, plus d/top.txt.
    void makeSource(int files)
    {
        ASSERT_EQ(mkdir((source_ + "/d").c_str(), 0755), 0);
        ASSERT_EQ(writeFile(source_ + "/d/top.txt", "top\n"), 0);
        for (int i = 0; i < files; ++i) {
            const std::string dir = source_ + "/d/sub-" + std::to_string(i / 1000);
            if (i % 1000 == 0) {
                ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
            }
            ASSERT_EQ(writeFile(dir + "/" + fileName(i), contentOf(i)), 0);
        }
    }
    std::string prjfs() const { return buildDir() + "/tools/prjfs/prjfs"; }
    std::vector<std::string> mirror() const { return {prjfs(), "mirror", source_, root_}; }
    // Every name of the source's d/ is at `dir` and a sample of the files read the source's bytes.
    void expectTheSourcesTree(const std::string& dir, int files)
    {
        EXPECT_EQ(readFile(dir + "/top.txt").data, "top\n");
        for (int s = 0; s * 1000 < files; ++s) {
            const std::string sub = dir + "/sub-" + std::to_string(s);
            int error = 0;
            auto names = listDirectory(sub, &error);
            ASSERT_EQ(error, 0) << sub;
            EXPECT_EQ(names.size(), static_cast<size_t>(std::min(1000, files - s * 1000))) << sub;
        }
        for (int i = 0; i < files; i += std::max(1, files / 50)) {
            const std::string path = dir + "/sub-" + std::to_string(i / 1000) + "/" + fileName(i);
            EXPECT_EQ(readFile(path).data, contentOf(i)) << path;
        }
    }

    std::string scratch_, source_, root_;
};

TEST_F(DirectoryRenameMirrorTest, MvOfANeverListedDirectoryIsARenameAndReadsTheOldPath)
{
    makeSource(1500);
    ProviderProcess process(mirror(), root_);
    ASSERT_TRUE(process.waitForLine("mirroring", 10s)) << process.output();
    const std::string command = "mv " + root_ + "/d " + root_ + "/moved 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0);
    EXPECT_EQ(fileState(root_ + "/moved"), PRJ_FILE_STATE_FULL);  // no longer the provider's directory
    EXPECT_EQ(fileState(root_ + "/moved/sub-1/" + fileName(1234)), PRJ_FILE_STATE_PLACEHOLDER);  // not copied
    struct stat st {};
    EXPECT_EQ(stat((root_ + "/d").c_str(), &st), -1);
    expectTheSourcesTree(root_ + "/moved", 1500);
    // The source is untouched: the move happened in the root only.
    EXPECT_EQ(readFile(source_ + "/d/top.txt").data, "top\n");
    auto stopped = process.stop();
    ASSERT_TRUE(stopped);
    EXPECT_TRUE(WIFEXITED(*stopped) && WEXITSTATUS(*stopped) == 0);
}

// SIGKILL of the provider while the rename writes the subtree's placeholders. Consistent means: no
// directory is half moved — d is still the provider's placeholder at its old name (the placeholders
// written so far are what lookups would have written) or it is complete at the new name and d is gone —
// every name of the source is listed, every file reads the source's bytes, and the next start serves it.
TEST_F(DirectoryRenameMirrorTest, ProviderKilledMidRenameLeavesAConsistentTree)
{
    constexpr int kFiles = 10000;
    makeSource(kFiles);
    // The backing directory, opened before the mount covers it: the test watches the walk through it.
    int backing = open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(backing, 0);
    bool renamed = false;
    {
        ProviderProcess process(mirror(), root_);
        ASSERT_TRUE(process.waitForLine("mirroring", 10s)) << process.output();
        std::atomic<int> renameResult{1};
        std::thread renamer([&] {
            int rc = rename((root_ + "/d").c_str(), (root_ + "/moved").c_str());
            renameResult = rc == 0 ? 0 : errno;
        });
        // Kill once the walk wrote some placeholders (sub-0 is walked first, its 1,000 names one by one).
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (renameResult == 1 && countEntries(backing, "d/sub-0") < 50 &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(1ms);
        }
        process.crash();
        renamer.join();
        renamed = renameResult == 0;
        std::printf("rename %s when the provider was killed (%d entries in d/sub-0 on disk)\n",
                    renamed ? "had finished" : "was cut short", countEntries(backing, "d/sub-0"));
    }
    close(backing);
    ProviderProcess again(mirror(), root_);
    ASSERT_TRUE(again.waitForLine("mirroring", 10s)) << again.output();
    struct stat st {};
    if (renamed) {
        EXPECT_EQ(stat((root_ + "/d").c_str(), &st), -1);
        expectTheSourcesTree(root_ + "/moved", kFiles);
    } else {
        EXPECT_EQ(stat((root_ + "/moved").c_str(), &st), -1);
        EXPECT_EQ(fileState(root_ + "/d"), PRJ_FILE_STATE_PLACEHOLDER);
        expectTheSourcesTree(root_ + "/d", kFiles);
        // And the rename can be made now.
        ASSERT_EQ(rename((root_ + "/d").c_str(), (root_ + "/moved").c_str()), 0) << strerror(errno);
        expectTheSourcesTree(root_ + "/moved", kFiles);
    }
    auto stopped = again.stop();
    ASSERT_TRUE(stopped);
    EXPECT_TRUE(WIFEXITED(*stopped) && WEXITSTATUS(*stopped) == 0);
}

}  // namespace
