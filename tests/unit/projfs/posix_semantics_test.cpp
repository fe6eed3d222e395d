// POSIX behaviour programs rely on inside a virtualization root (issue 14's pjdfstest causes), each on a
// real mount: name length limits, the creator's mode and group, files used after unlink, hard links.
#include "projfs/core/executor.h"
#include "projfs/core/virtualization_instance.h"
#include "test_provider.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace hc::projfs::test {
namespace {

class PosixSemanticsTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        provider.addFile(L"projected.txt", "from the provider\n");
        provider.addDirectory(L"dir");
        ASSERT_EQ(provider.start(root.path()), S_OK);
    }
    void TearDown() override { provider.stop(); }
    std::string at(const std::string& rel) const { return root.path() + "/" + rel; }

    static void makeFile(const std::string& path, mode_t mode = 0644)
    {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode);
        ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
        ::close(fd);
    }
    static struct stat statOf(const std::string& path)
    {
        struct stat st {};
        EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
        return st;
    }

    TempRoot root;
    TestProvider provider;
};

// A name longer than NAME_MAX is ENAMETOOLONG for every call that takes one (it was ENOENT or EINVAL).
TEST_F(PosixSemanticsTest, NameLongerThanNameMaxIsNameTooLong)
{
    const std::string longName(256, 'x');
    const std::string longest(255, 'y');
    struct stat st {};
    EXPECT_EQ(::stat(at(longName).c_str(), &st), -1);
    EXPECT_EQ(errno, ENAMETOOLONG);
    EXPECT_EQ(::open(at(longName).c_str(), O_WRONLY | O_CREAT, 0644), -1);
    EXPECT_EQ(errno, ENAMETOOLONG);
    EXPECT_EQ(::mkdir(at("dir/" + longName).c_str(), 0755), -1);
    EXPECT_EQ(errno, ENAMETOOLONG);
    EXPECT_EQ(::unlink(at(longName).c_str()), -1);
    EXPECT_EQ(errno, ENAMETOOLONG);
    makeFile(at(longest));
    EXPECT_EQ(::rename(at(longest).c_str(), at(longName).c_str()), -1);
    EXPECT_EQ(errno, ENAMETOOLONG);
    EXPECT_EQ(::symlink("target", at(longName).c_str()), -1);
    EXPECT_EQ(errno, ENAMETOOLONG);
    EXPECT_EQ(::link(at(longest).c_str(), at(longName).c_str()), -1);
    EXPECT_EQ(errno, ENAMETOOLONG);
}

// Items deeper than PATH_MAX below the root (pjdfstest's P1: mkdir failed with ENAMETOOLONG at depth 17 of
// 250-byte names, because every request was resolved as one path from the root). A program reaches them
// relative to a directory descriptor, as pjdfstest does with chdir.
TEST_F(PosixSemanticsTest, ItemsDeeperThanPathMaxBelowTheRoot)
{
    // Local items: 20 directories of 250 bytes (5,020 bytes below the root), then every kind of call there.
    std::vector<int> dirs{::open(root.path().c_str(), O_RDONLY | O_DIRECTORY)};
    const std::string level(250, 'L');
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(::mkdirat(dirs.back(), level.c_str(), 0755), 0) << "depth " << i << ": " << std::strerror(errno);
        int next = ::openat(dirs.back(), level.c_str(), O_RDONLY | O_DIRECTORY);
        ASSERT_GE(next, 0) << std::strerror(errno);
        dirs.push_back(next);
    }
    const int here = dirs.back();
    int fd = ::openat(here, "file", O_RDWR | O_CREAT | O_EXCL, 0640);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_EQ(::write(fd, "deep\n", 5), 5);
    ::close(fd);
    struct stat st {};
    ASSERT_EQ(::fstatat(here, "file", &st, AT_SYMLINK_NOFOLLOW), 0) << std::strerror(errno);
    EXPECT_EQ(st.st_size, 5);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(::fchmodat(here, "file", 0600, 0), 0) << std::strerror(errno);
    EXPECT_EQ(::fchownat(here, "file", ::geteuid(), ::getegid(), 0), 0) << std::strerror(errno);
    timespec times[2] = {{1000, 0}, {2000, 0}};
    EXPECT_EQ(::utimensat(here, "file", times, 0), 0) << std::strerror(errno);
    ASSERT_EQ(::fstatat(here, "file", &st, 0), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, ::geteuid());
    EXPECT_EQ(st.st_mtim.tv_sec, 2000);
    EXPECT_EQ(::linkat(here, "file", here, "link", 0), 0) << std::strerror(errno);
    EXPECT_EQ(::renameat(here, "link", here, "renamed"), 0) << std::strerror(errno);
    EXPECT_EQ(::symlinkat("file", here, "symlink"), 0) << std::strerror(errno);
    char target[16] = {};
    EXPECT_EQ(::readlinkat(here, "symlink", target, sizeof(target) - 1), 4) << std::strerror(errno);
    EXPECT_STREQ(target, "file");
    EXPECT_EQ(::mkfifoat(here, "fifo", 0644), 0) << std::strerror(errno);
    EXPECT_EQ(::mkdirat(here, "sub", 0755), 0) << std::strerror(errno);
    EXPECT_EQ(::setxattr(("/proc/self/fd/" + std::to_string(here)).c_str(), "user.deep", "1", 1, 0), 0)
        << std::strerror(errno);
    DIR* listing = ::fdopendir(::dup(here));
    ASSERT_NE(listing, nullptr);
    std::vector<std::string> names;
    while (dirent* d = ::readdir(listing))
        names.push_back(d->d_name);
    ::closedir(listing);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{".", "..", "fifo", "file", "renamed", "sub", "symlink"}));
    for (const char* name : {"file", "renamed", "symlink", "fifo"})
        EXPECT_EQ(::unlinkat(here, name, 0), 0) << name << ": " << std::strerror(errno);
    EXPECT_EQ(::unlinkat(here, "sub", AT_REMOVEDIR), 0) << std::strerror(errno);
    for (size_t i = dirs.size() - 1; i > 0; --i) {
        ::close(dirs[i]);
        EXPECT_EQ(::unlinkat(dirs[i - 1], level.c_str(), AT_REMOVEDIR), 0) << std::strerror(errno);
    }
    ::close(dirs[0]);

    // A projected tree 15 directories of 240 characters down hydrates too. Deeper placeholders fail with
    // ENOSPC: their origin path (user.projfs.origin) no longer fits one ext4 extended attribute (4 KiB).
    provider.stop();
    std::wstring deep;
    const std::wstring projectedLevel(240, L'P');
    for (int i = 0; i < 15; ++i) {
        deep += (deep.empty() ? L"" : L"\\") + projectedLevel;
        provider.addDirectory(deep);
    }
    provider.addFile(deep + L"\\deep.txt", "projected deep\n");
    ASSERT_EQ(provider.start(root.path()), S_OK);
    int dir = ::open(root.path().c_str(), O_RDONLY | O_DIRECTORY);
    const std::string utf8Level(240, 'P');
    for (int i = 0; i < 15; ++i) {
        int next = ::openat(dir, utf8Level.c_str(), O_RDONLY | O_DIRECTORY);
        ASSERT_GE(next, 0) << "depth " << i << ": " << std::strerror(errno);
        ::close(dir);
        dir = next;
    }
    fd = ::openat(dir, "deep.txt", O_RDONLY);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    char buf[64] = {};
    EXPECT_EQ(::read(fd, buf, sizeof(buf)), 15);
    EXPECT_STREQ(buf, "projected deep\n");
    ::close(fd);
    ::close(dir);
    auto requests = provider.fileDataRequestsSeen();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].path, deep + L"\\deep.txt");
}

// The caller's umask is applied once (by the kernel), not again with the provider process's umask.
TEST_F(PosixSemanticsTest, CreatesKeepTheCallersModeWhateverTheProvidersUmask)
{
    mode_t old = ::umask(002);  // the provider runs in this process: its umask is 002 too ...
    makeFile(at("file"), 0666);
    ASSERT_EQ(::mkdir(at("sub").c_str(), 0777), 0);
    ASSERT_EQ(::mkfifo(at("fifo").c_str(), 0666), 0);
    ::umask(0);  // ... and the caller asks for exact modes, set-ID bits included
    makeFile(at("setid"), 06777);
    ASSERT_EQ(::mkdir(at("sticky").c_str(), 01777), 0);
    ::umask(old);
    EXPECT_EQ(statOf(at("file")).st_mode & 07777, 0664u);
    EXPECT_EQ(statOf(at("sub")).st_mode & 07777, 0775u);
    EXPECT_EQ(statOf(at("fifo")).st_mode & 07777, 0664u);
    EXPECT_EQ(statOf(at("setid")).st_mode & 07777, 06777u);
    EXPECT_EQ(statOf(at("sticky")).st_mode & 07777, 01777u);
}

// In a set-group-ID directory new items take the directory's group and new directories stay set-group-ID.
TEST_F(PosixSemanticsTest, SetgidDirectoryGivesItsGroupToNewItems)
{
    ASSERT_EQ(::mkdir(at("project").c_str(), 0755), 0);
    ASSERT_EQ(::chown(at("project").c_str(), 0, 4242), 0);
    ASSERT_EQ(::chmod(at("project").c_str(), 02775), 0);
    mode_t old = ::umask(022);
    makeFile(at("project/file"), 0664);
    ASSERT_EQ(::mkdir(at("project/sub").c_str(), 0775), 0);
    ::umask(old);
    struct stat file = statOf(at("project/file"));
    struct stat sub = statOf(at("project/sub"));
    EXPECT_EQ(file.st_gid, 4242u);
    EXPECT_EQ(file.st_mode & 07777, 0644u);
    EXPECT_EQ(sub.st_gid, 4242u);
    EXPECT_EQ(sub.st_mode & 07777, 02755u);
}

// The create-unlink-use temporary-file pattern: fstat, ftruncate, fchmod, fchown and futimens keep working.
TEST_F(PosixSemanticsTest, UnlinkedOpenFileKeepsWorking)
{
    for (const char* name : {"local", "projected.txt"}) {
        SCOPED_TRACE(name);
        if (std::string(name) == "local") makeFile(at(name));
        int fd = ::open(at(name).c_str(), O_RDWR);
        ASSERT_GE(fd, 0) << std::strerror(errno);
        ASSERT_EQ(::unlink(at(name).c_str()), 0);
        struct stat st {};
        EXPECT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
        EXPECT_EQ(::ftruncate(fd, 12345), 0) << std::strerror(errno);
        EXPECT_EQ(::fchmod(fd, 0600), 0) << std::strerror(errno);
        EXPECT_EQ(::fchown(fd, 0, 4243), 0) << std::strerror(errno);
        timespec times[2] = {{1000000000, 0}, {1100000000, 0}};
        EXPECT_EQ(::futimens(fd, times), 0) << std::strerror(errno);
        ASSERT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
        EXPECT_EQ(st.st_size, 12345);
        EXPECT_EQ(st.st_mode & 07777, 0600u);
        EXPECT_EQ(st.st_gid, 4243u);
        EXPECT_EQ(st.st_mtim.tv_sec, 1100000000);
        EXPECT_EQ(st.st_nlink, 0u);
        ::close(fd);
    }
}

// Every name of a hard-linked file keeps working when another one is unlinked or replaced.
TEST_F(PosixSemanticsTest, HardLinkNamesSurviveUnlinkAndReplaceOfOthers)
{
    makeFile(at("a"));
    ASSERT_EQ(::link(at("a").c_str(), at("b").c_str()), 0);
    ASSERT_EQ(::link(at("b").c_str(), at("dir/c").c_str()), 0);
    EXPECT_EQ(statOf(at("a")).st_nlink, 3u);
    ASSERT_EQ(::unlink(at("dir/c").c_str()), 0);  // the name looked up last
    struct stat a = statOf(at("a"));
    struct stat b = statOf(at("b"));
    EXPECT_EQ(a.st_nlink, 2u);
    EXPECT_EQ(b.st_nlink, 2u);
    EXPECT_EQ(a.st_ino, b.st_ino);
    makeFile(at("other"));
    ASSERT_EQ(::rename(at("other").c_str(), at("b").c_str()), 0);  // replaces one name
    a = statOf(at("a"));
    EXPECT_EQ(a.st_nlink, 1u);
    EXPECT_EQ(::chmod(at("a").c_str(), 0600), 0) << std::strerror(errno);
    EXPECT_EQ(statOf(at("a")).st_mode & 07777, 0600u);
    int fd = ::open(at("a").c_str(), O_RDONLY);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    if (fd >= 0) ::close(fd);
}

// The ctime every name shows moves with a change made through any other name.
TEST_F(PosixSemanticsTest, HardLinkNamesShareCtime)
{
    makeFile(at("a"));
    ASSERT_EQ(::link(at("a").c_str(), at("b").c_str()), 0);
    struct stat before = statOf(at("a"));
    (void)statOf(at("b"));
    ::usleep(20000);
    ASSERT_EQ(::link(at("b").c_str(), at("c").c_str()), 0);
    ASSERT_EQ(::unlink(at("c").c_str()), 0);
    struct stat a = statOf(at("a"));
    struct stat b = statOf(at("b"));
    EXPECT_EQ(a.st_ctim.tv_sec, b.st_ctim.tv_sec);
    EXPECT_EQ(a.st_ctim.tv_nsec, b.st_ctim.tv_nsec);
    EXPECT_TRUE(a.st_ctim.tv_sec > before.st_ctim.tv_sec ||
                (a.st_ctim.tv_sec == before.st_ctim.tv_sec && a.st_ctim.tv_nsec > before.st_ctim.tv_nsec));
}

// Every name readdir() returns, and the errno it ended with (0: the real end of the directory).
std::pair<std::vector<std::string>, int> readAll(const std::string& path)
{
    std::vector<std::string> names;
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return {names, errno};
    errno = 0;
    while (dirent* entry = ::readdir(dir)) {
        names.emplace_back(entry->d_name);
        errno = 0;
    }
    int err = errno;
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return {names, err};
}

// A provider that cannot list a directory makes listing it fail with EIO — not ENOENT, which glibc's
// readdir takes for the end, so `ls` printed an empty directory and succeeded — and what is on disk
// (hydrated and local files) is still listed before the error.
TEST_F(PosixSemanticsTest, ProviderListingFailureIsAnErrorNotAnEmptyDirectory)
{
    EXPECT_EQ(readFile(at("projected.txt")), "from the provider\n");
    makeFile(at("mine"));
    for (std::atomic<bool>* failure : {&provider.failStartEnum, &provider.failGetEnum}) {
        SCOPED_TRACE(failure == &provider.failStartEnum ? "Start fails" : "Get fails");
        *failure = true;
        ASSERT_EQ(PrjInvalidateDirectoryListing(provider.context(), L""), S_OK);
        provider.settleInvalidations();
        auto [names, err] = readAll(root.path());
        EXPECT_EQ(err, EIO);
        EXPECT_EQ(names, (std::vector<std::string>{".", "..", "mine", "projected.txt"}));
        *failure = false;
        ASSERT_EQ(PrjInvalidateDirectoryListing(provider.context(), L""), S_OK);
        provider.settleInvalidations();
        auto [again, againErr] = readAll(root.path());
        EXPECT_EQ(againErr, 0);
        EXPECT_EQ(again, (std::vector<std::string>{".", "..", "dir", "mine", "projected.txt"}));
    }
}

// A deleted projected item is a tombstone while the provider runs too (it was "not found" until the stop).
TEST_F(PosixSemanticsTest, TombstoneStateIsVisibleWhileTheProviderRuns)
{
    auto stateOf = [](const std::string& path, PRJ_FILE_STATE* state) {
        std::wstring wide(path.begin(), path.end());
        return PrjGetOnDiskFileState(wide.c_str(), state);
    };
    PRJ_FILE_STATE state{};
    ASSERT_EQ(stateOf(at("projected.txt"), &state), S_OK);
    EXPECT_EQ(state, PRJ_FILE_STATE_PLACEHOLDER);
    ASSERT_EQ(::unlink(at("projected.txt").c_str()), 0);
    ASSERT_EQ(::rmdir(at("dir").c_str()), 0);
    ASSERT_EQ(stateOf(at("projected.txt"), &state), S_OK);
    EXPECT_EQ(state, PRJ_FILE_STATE_TOMBSTONE);
    ASSERT_EQ(stateOf(at("DIR"), &state), S_OK);  // names match case-insensitively, as lookups do
    EXPECT_EQ(state, PRJ_FILE_STATE_TOMBSTONE);
    makeFile(at("local"));
    ASSERT_EQ(::unlink(at("local").c_str()), 0);  // never projected: no tombstone
    EXPECT_EQ(stateOf(at("local"), &state), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    EXPECT_EQ(stateOf(at("never-there"), &state), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    provider.stop();
    ASSERT_EQ(stateOf(at("projected.txt"), &state), S_OK);
    EXPECT_EQ(state, PRJ_FILE_STATE_TOMBSTONE);
    ASSERT_EQ(provider.start(root.path()), S_OK);
}

// fallocate(2) reserves space, punches holes and zeroes ranges of full files; on a placeholder the open for
// writing hydrates it first (it was EOPNOTSUPP for every mode).
TEST_F(PosixSemanticsTest, FallocateWorksOnFullFilesAndHydratedPlaceholders)
{
    makeFile(at("new.bin"));
    int fd = ::open(at("new.bin").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::fallocate(fd, 0, 0, 1 << 20), 0) << std::strerror(errno);
    struct stat st = statOf(at("new.bin"));
    EXPECT_EQ(st.st_size, 1 << 20);
    EXPECT_GE(st.st_blocks, (1 << 20) / 512);
    const std::string data(8192, 'x');
    ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
    ASSERT_EQ(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), 0) << std::strerror(errno);
    ASSERT_EQ(::fallocate(fd, FALLOC_FL_ZERO_RANGE, 6144, 1024), 0) << std::strerror(errno);
    ::close(fd);
    std::string expected = data;
    std::fill(expected.begin(), expected.begin() + 4096, '\0');
    std::fill(expected.begin() + 6144, expected.begin() + 7168, '\0');
    EXPECT_EQ(readFile(at("new.bin")).substr(0, 8192), expected);
    fd = ::open(at("new.bin").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(::posix_fallocate(fd, 0, 2 << 20), 0);
    ::close(fd);
    EXPECT_EQ(statOf(at("new.bin")).st_size, 2 << 20);

    fd = ::open(at("projected.txt").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 16), 0) << std::strerror(errno);
    ::close(fd);
    EXPECT_EQ(readFile(at("projected.txt")), "from the provider\n");
    EXPECT_EQ(provider.fileData, 1);
    EXPECT_EQ(fileState(at("projected.txt")), PRJ_FILE_STATE_FULL);
}

}  // namespace
}  // namespace hc::projfs::test
