// Real FUSE mounts driven by the in-memory TestProvider: the synchronous path end to end.
#include "test_provider.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

namespace hc::projfs::test {
namespace {

std::string pattern(size_t size)
{
    std::string s(size, '\0');
    for (size_t i = 0; i < size; ++i)
        s[i] = static_cast<char>('a' + (i * 7) % 26);
    return s;
}

class MountTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        provider.addFile(L"a.txt", "hello\n");
        provider.addDirectory(L"Dir");
        provider.addFile(L"Dir\\B.bin", pattern(10000));
        provider.addFile(L"empty", "");
        ASSERT_EQ(provider.start(root.path()), S_OK);
    }
    void TearDown() override { provider.stop(); }
    std::string at(const std::string& rel) const { return root.path() + "/" + rel; }

    TempRoot root;
    TestProvider provider;
};

TEST_F(MountTest, EnumeratesProviderEntriesInCollationOrder)
{
    EXPECT_EQ(listDirectory(root.path()), (std::vector<std::string>{"a.txt", "Dir", "empty"}));
    EXPECT_EQ(provider.startEnum, 1);
    EXPECT_TRUE(eventually([&] { return provider.endEnum == 1; }));
    EXPECT_GE(provider.getEnum, 2);  // the last Get adds nothing: the end
    EXPECT_EQ(provider.placeholderInfo, 0);
}

TEST_F(MountTest, StatCreatesPlaceholderAndReadHydrates)
{
    struct stat st {};
    ASSERT_EQ(::stat(at("Dir/B.bin").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 10000);
    EXPECT_EQ(provider.placeholderInfo, 2);  // Dir, then Dir\B.bin
    EXPECT_EQ(fileState(at("Dir/B.bin")), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_EQ(readFile(at("Dir/B.bin")), pattern(10000));
    EXPECT_EQ(provider.fileData, 1);
    EXPECT_EQ(fileState(at("Dir/B.bin")), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    EXPECT_EQ(readFile(at("Dir/B.bin")), pattern(10000));
    EXPECT_EQ(provider.fileData, 1);  // served from disk afterwards
}

TEST_F(MountTest, LookupIsCaseInsensitiveAndUsesProviderSpelling)
{
    EXPECT_EQ(readFile(at("dir/b.BIN")), pattern(10000));
    auto names = listDirectory(at("Dir"));
    EXPECT_EQ(names, std::vector<std::string>{"B.bin"});
}

TEST_F(MountTest, MissingNameIsNotFound)
{
    struct stat st {};
    EXPECT_EQ(::stat(at("nope").c_str(), &st), -1);
    EXPECT_EQ(errno, ENOENT);
}

TEST_F(MountTest, WritesMakeFilesFullAndNewFilesFull)
{
    {
        int fd = ::open(at("a.txt").c_str(), O_WRONLY | O_APPEND);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::write(fd, "more\n", 5), 5);
        ::close(fd);
    }
    EXPECT_EQ(readFile(at("a.txt")), "hello\nmore\n");
    EXPECT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_FULL);
    {
        int fd = ::open(at("new.txt").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
        ASSERT_GE(fd, 0);
        ::close(fd);
    }
    EXPECT_EQ(fileState(at("new.txt")), PRJ_FILE_STATE_FULL);
    auto names = listDirectory(root.path());
    EXPECT_EQ(names, (std::vector<std::string>{"a.txt", "Dir", "empty", "new.txt"}));
}

TEST_F(MountTest, DeletedProjectedFileStaysGone)
{
    ASSERT_EQ(::unlink(at("a.txt").c_str()), 0);
    struct stat st {};
    EXPECT_EQ(::stat(at("a.txt").c_str(), &st), -1);
    EXPECT_EQ(listDirectory(root.path()), (std::vector<std::string>{"Dir", "empty"}));
    // Creating the name again replaces the tombstone.
    int fd = ::open(at("a.txt").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
    EXPECT_EQ(readFile(at("a.txt")), "");
}

TEST_F(MountTest, StateSurvivesStopAndRestart)
{
    EXPECT_EQ(readFile(at("Dir/B.bin")), pattern(10000));
    ASSERT_EQ(::unlink(at("a.txt").c_str()), 0);
    provider.stop();
    // Unmounted: the hydrated file is a plain file on disk, the tombstone is a marked file.
    EXPECT_EQ(readFile(at("Dir/B.bin")), pattern(10000));
    EXPECT_EQ(fileState(at("Dir/B.bin")), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    EXPECT_EQ(fileState(at("a.txt")), PRJ_FILE_STATE_TOMBSTONE);
    ASSERT_EQ(provider.start(root.path()), S_OK);
    EXPECT_EQ(readFile(at("Dir/B.bin")), pattern(10000));
    EXPECT_EQ(provider.fileData, 1);
    EXPECT_EQ(listDirectory(root.path()), (std::vector<std::string>{"Dir", "empty"}));
}

TEST_F(MountTest, StartRefusesRunningNestedAndUnmarkedRoots)
{
    TestProvider second;
    EXPECT_EQ(second.start(root.path()), HRESULT_FROM_WIN32(ERROR_ALREADY_INITIALIZED));
    TempRoot unmarked;
    PRJ_CALLBACKS callbacks{};
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT ctx = nullptr;
    EXPECT_EQ(PrjStartVirtualizing(unmarked.wide().c_str(), &callbacks, nullptr, nullptr, &ctx), E_INVALIDARG);
}

TEST_F(MountTest, RewindRestartsTheScan)
{
    // Rewound before the end: the kernel has no complete listing cached (after a complete pass it would
    // answer the rewind itself, see listing_cache_test.cpp), so the offset-0 read reaches the session.
    DIR* dir = ::opendir(root.path().c_str());
    ASSERT_NE(dir, nullptr);
    ASSERT_NE(::readdir(dir), nullptr);
    const int first = 5;  // ".", "..", a.txt, Dir, empty
    ::rewinddir(dir);
    int second = 0;
    while (::readdir(dir))
        ++second;
    ::closedir(dir);
    EXPECT_EQ(first, second);
    EXPECT_EQ(provider.restartScans, 1);
    EXPECT_TRUE(eventually([&] { return provider.endEnum == 1; }));
}

TEST(MountLargeTest, LargeDirectoryTakesSeveralGets)
{
    TempRoot root;
    TestProvider provider;
    for (int i = 0; i < 1000; ++i)
        provider.addFile(L"file" + std::to_wstring(i), "x");
    ASSERT_EQ(provider.start(root.path()), S_OK);
    auto names = listDirectory(root.path());
    EXPECT_EQ(names.size(), 1000u);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(std::unique(names.begin(), names.end()), names.end());
    EXPECT_GT(provider.getEnum, 4);
    provider.stop();
}

}  // namespace
}  // namespace hc::projfs::test

namespace hc::projfs::test {
namespace {

TEST_F(MountTest, ProviderIoInsideItsRootFromACallbackDoesNotRecurse)
{
    std::vector<int> results;
    std::mutex resultsMutex;
    provider.setHook(provider.fileDataHook, std::function<void()>([&] {
                         struct stat st {};
                         int statResult =
                             ::stat(at("empty").c_str(), &st);  // virtual, not on disk: served from disk only
                         int listed = static_cast<int>(listDirectory(root.path()).size());
                         std::lock_guard lock(resultsMutex);
                         results = {statResult, listed};
                     }));
    EXPECT_EQ(readFile(at("a.txt")), "hello\n");
    EXPECT_EQ(provider.placeholderInfo, 1);  // a.txt only; nothing for the provider's own stat
    std::lock_guard lock(resultsMutex);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0], -1);
    EXPECT_EQ(results[1], 1);  // the provider's own listing sees the disk: a.txt only
    EXPECT_EQ(provider.startEnum, 0);
}

TEST_F(MountTest, RewrittenPlaceholderIsSeenWithItsNewSize)
{
    struct stat st {};
    ASSERT_EQ(::stat(at("a.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 6);
    PRJ_PLACEHOLDER_INFO info{};
    info.FileBasicInfo.FileSize = 1234;
    ASSERT_EQ(PrjWritePlaceholderInfo(provider.context(), L"a.txt", &info, sizeof(info)), S_OK);
    EXPECT_TRUE(eventually([&] { return ::stat(at("a.txt").c_str(), &st) == 0 && st.st_size == 1234; }));
    EXPECT_EQ(PrjWritePlaceholderInfo(provider.context(), L"a.txt", &info, sizeof(info) - 1),
              HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER));
    EXPECT_EQ(PrjWritePlaceholderInfo(provider.context(), L"..\\x", &info, sizeof(info)), E_INVALIDARG);
}

// Directory placeholders move too: directory_rename_test.cpp.
TEST_F(MountTest, RenamesLeaveTombstones)
{
    ASSERT_EQ(::rename(at("a.txt").c_str(), at("renamed.txt").c_str()), 0);
    EXPECT_EQ(readFile(at("renamed.txt")), "hello\n");  // hydrated by its original path
    struct stat st {};
    EXPECT_EQ(::stat(at("a.txt").c_str(), &st), -1);
    EXPECT_EQ(listDirectory(root.path()), (std::vector<std::string>{"Dir", "empty", "renamed.txt"}));
}

TEST_F(MountTest, RemovedProjectedDirectoryStaysGone)
{
    EXPECT_EQ(fileState(at("Dir")) & PRJ_FILE_STATE_DIRTY_PLACEHOLDER, 0);
    ASSERT_EQ(::unlink(at("Dir/B.bin").c_str()), 0);
    EXPECT_NE(fileState(at("Dir")) & PRJ_FILE_STATE_DIRTY_PLACEHOLDER, 0);  // a child deleted locally
    EXPECT_TRUE(listDirectory(at("Dir")).empty());
    ASSERT_EQ(::rmdir(at("Dir").c_str()), 0);
    EXPECT_EQ(listDirectory(root.path()), (std::vector<std::string>{"a.txt", "empty"}));
    ASSERT_EQ(::mkdir(at("Dir").c_str(), 0755), 0);  // a new, local directory: nothing projected in it
    EXPECT_TRUE(listDirectory(at("Dir")).empty());
    EXPECT_EQ(fileState(at("Dir")), PRJ_FILE_STATE_FULL);
}

TEST(MountLimitsTest, ConcurrentThreadCountLimitsRunningCallbacks)
{
    TempRoot root;
    TestProvider provider;
    for (int i = 0; i < 4; ++i)
        provider.addFile(L"f" + std::to_wstring(i), std::string(100, 'x'));
    std::atomic<int> running{0}, peak{0};
    provider.setHook(provider.fileDataHook, std::function<void()>([&] {
                         int now = ++running;
                         int seen = peak;
                         while (now > seen && !peak.compare_exchange_weak(seen, now)) {
                         }
                         std::this_thread::sleep_for(std::chrono::milliseconds(50));
                         --running;
                     }));
    PRJ_STARTVIRTUALIZING_OPTIONS options{};
    options.ConcurrentThreadCount = 1;
    options.PoolThreadCount = 4;
    ASSERT_EQ(provider.start(root.path(), &options), S_OK);
    for (int i = 0; i < 4; ++i) {  // placeholders first, so only GetFileData overlaps
        struct stat st {};
        ASSERT_EQ(::stat((root.path() + "/f" + std::to_string(i)).c_str(), &st), 0);
    }
    std::vector<std::thread> readers;
    for (int i = 0; i < 4; ++i) {
        readers.emplace_back(
            [&, i] { EXPECT_EQ(readFile(root.path() + "/f" + std::to_string(i)), std::string(100, 'x')); });
    }
    for (auto& t : readers)
        t.join();
    EXPECT_EQ(provider.fileData, 4);
    EXPECT_EQ(peak, 1);
    provider.stop();
}

// Stop with a file still open must force down its own connection promptly (the open file would keep it
// alive forever) and touch no other mount: the abort goes through the file opened at mount time, never
// through a connection number that another mount may have taken over since.
//
// What the open file sees afterwards depends on FUSE passthrough: served by this process, its reads fail
// with the connection; in passthrough mode the kernel reads the on-disk (hydrated) content directly, as
// for a file opened before an unmount. Both modes are checked (passthrough can be turned off per mount).
// Whether this kernel can do FUSE passthrough at all (Linux 6.9+ built with CONFIG_FUSE_PASSTHROUGH): its
// symbol is in /proc/kallsyms. Where it can, the runtime must be using it.
bool kernelHasFusePassthrough()
{
    std::ifstream symbols("/proc/kallsyms");
    std::string line;
    while (std::getline(symbols, line)) {
        // "<address> T fuse_passthrough_open", with "\t[fuse]" after it when FUSE is a module.
        auto at = line.find(" fuse_passthrough_open");
        if (at == std::string::npos) continue;
        size_t end = at + std::strlen(" fuse_passthrough_open");
        if (end == line.size() || line[end] == '\t' || line[end] == ' ') return true;
    }
    return false;
}

class StopWithOpenFileTest : public MountTest, public ::testing::WithParamInterface<bool> {
protected:
    void SetUp() override
    {
        if (!GetParam()) ::setenv("HOSTCOMPUTE_PROJFS_PASSTHROUGH", "0", 1);
        MountTest::SetUp();
    }
    void TearDown() override
    {
        MountTest::TearDown();
        ::unsetenv("HOSTCOMPUTE_PROJFS_PASSTHROUGH");
    }
};

INSTANTIATE_TEST_SUITE_P(Passthrough, StopWithOpenFileTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "on" : "off"; });

TEST_P(StopWithOpenFileTest, EndsOnlyItsOwnConnectionPromptly)
{
    TempRoot otherRoot;
    TestProvider other;
    other.addFile(L"x.txt", "other\n");
    ASSERT_EQ(other.start(otherRoot.path()), S_OK);
    int fd = ::open(at("a.txt").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    auto begin = std::chrono::steady_clock::now();
    provider.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
    char c = 0;
    if (GetParam() && kernelHasFusePassthrough()) {
        EXPECT_EQ(::read(fd, &c, 1), 1);  // the kernel reads the hydrated backing file itself
        EXPECT_EQ(c, 'h');
    } else {
        EXPECT_EQ(::read(fd, &c, 1), -1);  // the aborted connection answers nothing any more
    }
    struct stat st {};
    EXPECT_NE(::stat(at("empty").c_str(), &st), 0);  // nothing new is served: the mount is gone
    ::close(fd);
    // The other mount is untouched and still serves requests, also after a restart of the first.
    EXPECT_EQ(readFile(otherRoot.path() + "/x.txt"), "other\n");
    ASSERT_EQ(provider.start(root.path()), S_OK);
    provider.stop();
    EXPECT_EQ(readFile(otherRoot.path() + "/x.txt"), "other\n");
    other.stop();
}

size_t openDescriptorCount()
{
    return static_cast<size_t>(
        std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator{}));
}

// Files still open at Stop get no RELEASE; their backing descriptors must not stay open in the provider
// process (a provider that restarts its instance would run out of descriptors).
TEST(MountStopTest, FilesOpenAtStopLeaveNoDescriptorBehind)
{
    TempRoot root;
    const size_t before = openDescriptorCount();
    std::vector<int> fds;
    for (int round = 0; round < 3; ++round) {
        TestProvider provider;
        provider.addFile(L"a.txt", "hello\n");
        ASSERT_EQ(provider.start(root.path()), S_OK);
        for (int i = 0; i < 5; ++i) {
            int fd = ::open((root.path() + "/a.txt").c_str(), O_RDONLY);
            ASSERT_GE(fd, 0);
            fds.push_back(fd);
        }
        provider.stop();
        for (int fd : fds)
            ::close(fd);
        fds.clear();
    }
    EXPECT_EQ(openDescriptorCount(), before);
}

// A directory still open at Stop gets no RELEASEDIR (the connection is gone): its handle and enumeration
// are freed by the unmount (the ASan build checks nothing leaks), and no End callback runs after Stop began.
TEST_F(MountTest, StopWithDirectoryOpenFreesItsEnumeration)
{
    DIR* dir = ::opendir(root.path().c_str());
    ASSERT_NE(dir, nullptr);
    ASSERT_NE(::readdir(dir), nullptr);
    EXPECT_EQ(provider.startEnum, 1);
    provider.stop();
    EXPECT_EQ(provider.endEnum, 0);
    ::closedir(dir);
    EXPECT_EQ(provider.endEnum, 0);
}

// "." and ".." come first, once each, in the root and in a provider directory; they are not provider
// entries, and offsets stay stable (seekdir back to an entry after the dots returns that entry again).
TEST_F(MountTest, ListingsHaveDotEntries)
{
    for (const std::string& path : {root.path(), at("Dir")}) {
        DIR* dir = ::opendir(path.c_str());
        ASSERT_NE(dir, nullptr);
        std::vector<std::string> names;
        long afterDots = -1;
        while (dirent* entry = ::readdir(dir)) {
            names.push_back(entry->d_name);
            if (names.size() == 2) afterDots = ::telldir(dir);
        }
        ASSERT_GE(names.size(), 3u) << path;
        EXPECT_EQ(names[0], ".");
        EXPECT_EQ(names[1], "..");
        EXPECT_EQ(std::count(names.begin(), names.end(), "."), 1);
        EXPECT_EQ(std::count(names.begin(), names.end(), ".."), 1);
        ::seekdir(dir, afterDots);
        dirent* again = ::readdir(dir);
        ASSERT_NE(again, nullptr);
        EXPECT_EQ(again->d_name, names[2]);
        ::closedir(dir);
    }
    EXPECT_EQ(provider.restartScans, 0);
}

}  // namespace
}  // namespace hc::projfs::test
