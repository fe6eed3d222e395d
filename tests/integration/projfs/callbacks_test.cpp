// Synchronous provider behaviour through a real FUSE mount: on-disk states, enumeration sessions,
// placeholder creation per path component, hydration, and provider errors reaching programs.
#include "fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

using namespace projfs_test;
using namespace std::chrono_literals;

namespace {

int statErrno(const std::string& path, struct stat* st = nullptr)
{
    struct stat local {};
    return ::stat(path.c_str(), st ? st : &local) == 0 ? 0 : errno;
}

bool sortedByPrjFileNameCompare(const std::vector<std::string>& names)
{
    return std::is_sorted(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
        return PrjFileNameCompare(wide(a).c_str(), wide(b).c_str()) < 0;
    });
}

std::string numbered(const char* prefix, int i)
{
    char name[64];
    std::snprintf(name, sizeof(name), "%s%04d-a-fairly-long-name-to-fill-buffers.txt", prefix, i);
    return name;
}

}  // namespace

TEST_F(ProjfsTest, StateFollowsEachStepAndSurvivesRestart)
{
    provider.addFile("a.txt", "hello");
    provider.addFile("dir/b.txt", "bee");
    provider.addFile("c.txt", "placeholder only");
    provider.addFile("never.txt", "never touched");
    start();

    // Virtual: listed, nothing on disk, so no placeholder was asked for.
    auto listed = listDirectory(root.path());
    std::sort(listed.begin(), listed.end());
    EXPECT_EQ(listed, (std::vector<std::string>{"a.txt", "c.txt", "dir", "never.txt"}));
    EXPECT_EQ(provider.count(Callback::PlaceholderInfo), 0) << "enumeration alone creates no placeholder";

    HRESULT hr = S_OK;
    struct stat st {};
    ASSERT_EQ(statErrno(root.path("a.txt"), &st), 0);
    EXPECT_EQ(st.st_size, 5);
    // A listed item's attributes come from the listing (Windows' `dir`): still no placeholder.
    EXPECT_EQ(provider.placeholderRequests("a.txt"), 0);
    EXPECT_EQ(fileState(root.path("a.txt"), &hr), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_EQ(hr, S_OK);
    EXPECT_EQ(provider.placeholderRequests("a.txt"), 1);
    // As on Windows, asking for the state of a virtual item goes through the file system and so
    // makes it a placeholder first (microsoft/ProjFS-Managed-API#49).
    EXPECT_EQ(fileState(root.path("c.txt"), &hr), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_EQ(hr, S_OK);
    EXPECT_EQ(fileState(root.path("missing.txt"), &hr), 0);
    EXPECT_EQ(hr, HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));

    EXPECT_EQ(readFile(root.path("a.txt")).data, "hello");
    PRJ_FILE_STATE state = fileState(root.path("a.txt"));
    EXPECT_TRUE(state & PRJ_FILE_STATE_HYDRATED_PLACEHOLDER) << "state " << state;
    EXPECT_FALSE(state & PRJ_FILE_STATE_FULL);
    EXPECT_EQ(provider.count(Callback::FileData), 1);

    int fd = open(root.path("a.txt").c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0) << strerror(errno);
    ASSERT_EQ(write(fd, " world", 6), 6);
    close(fd);
    EXPECT_EQ(fileState(root.path("a.txt")), PRJ_FILE_STATE_FULL);
    EXPECT_EQ(readFile(root.path("a.txt")).data, "hello world");
    EXPECT_EQ(readFile(root.path("dir/b.txt")).data, "bee");

    root.stop();
    ASSERT_FALSE(isMounted(root.path()));
    // What was hydrated or written is plain data in the root now.
    EXPECT_EQ(readFile(root.path("a.txt")).data, "hello world");
    EXPECT_EQ(readFile(root.path("dir/b.txt")).data, "bee");
    EXPECT_EQ(statErrno(root.path("never.txt")), ENOENT) << "virtual items leave nothing behind";
    EXPECT_EQ(fileState(root.path("a.txt")), PRJ_FILE_STATE_FULL) << "state is readable without the provider";
    EXPECT_EQ(fileState(root.path("c.txt")), PRJ_FILE_STATE_PLACEHOLDER);

    // Start again with a provider whose content changed: local state wins, the rest is projected.
    second.addFile("a.txt", "CHANGED");
    second.addFile("dir/b.txt", "CHANGED");
    second.addFile("c.txt", "placeholder only");
    second.addFile("never.txt", "never touched");
    ASSERT_EQ(root.start(second), S_OK);
    EXPECT_EQ(readFile(root.path("a.txt")).data, "hello world");
    EXPECT_EQ(readFile(root.path("dir/b.txt")).data, "bee");
    EXPECT_EQ(second.count(Callback::FileData), 0);
    EXPECT_EQ(readFile(root.path("c.txt")).data, "placeholder only");
    EXPECT_EQ(readFile(root.path("never.txt")).data, "never touched");
    auto names = listDirectory(root.path());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"a.txt", "c.txt", "dir", "never.txt"}));
}

TEST_F(ProjfsTest, LargeDirectoryNeedsSeveralGetsAndComesOutSorted)
{
    std::vector<std::string> expected;
    for (int i = 0; i < 1000; ++i) {
        const std::string name = numbered(i % 2 ? "File" : "file_", i);
        provider.addFile("big/" + name, "x");
        expected.push_back(name);
    }
    std::sort(expected.begin(), expected.end(), [](const std::string& a, const std::string& b) {
        return PrjFileNameCompare(wide(a).c_str(), wide(b).c_str()) < 0;
    });
    start();
    int error = 0;
    auto names = listDirectory(root.path("big"), &error);
    EXPECT_EQ(error, 0);
    EXPECT_EQ(names, expected);
    EXPECT_GE(provider.count(Callback::GetEnum), 3) << "1,000 entries should not fit one buffer";
    EXPECT_EQ(provider.count(Callback::StartEnum), 1);
    EXPECT_TRUE(eventually([&] { return provider.count(Callback::EndEnum) == 1; }));
}

TEST_F(ProjfsTest, RewinddirRestartsTheScan)
{
    for (int i = 0; i < 300; ++i)
        provider.addFile(numbered("r", i), "");
    start();
    DIR* dir = opendir(root.path().c_str());
    ASSERT_NE(dir, nullptr);
    for (int i = 0; i < 5; ++i)
        ASSERT_NE(readdir(dir), nullptr);
    const int restartsBefore = provider.restartScans();
    rewinddir(dir);
    std::vector<std::string> names;
    while (dirent* entry = readdir(dir)) {
        std::string name = entry->d_name;
        if (name != "." && name != "..") names.push_back(name);
    }
    closedir(dir);
    EXPECT_EQ(names.size(), 300u);
    EXPECT_TRUE(sortedByPrjFileNameCompare(names));
    EXPECT_EQ(restartsBefore, 0) << "the first Get of a session is not a restart";
    EXPECT_GE(provider.restartScans(), 1) << "rewinddir must reach the provider as RESTART_SCAN";
}

TEST_F(ProjfsTest, LocalFilesMergeWithProjectedOnesAndWin)
{
    // Plain files put in the root before virtualizing are local items.
    ASSERT_EQ(writeFile(root.path("b.txt"), "local b"), 0);
    ASSERT_EQ(writeFile(root.path("d-local.txt"), "local d"), 0);
    provider.addFile("a.txt", "projected a");
    provider.addFile("B.TXT", "projected B");
    provider.addFile("c.txt", "projected c");
    provider.addFile("_under.txt", "projected _");
    start();
    auto names = listDirectory(root.path());
    EXPECT_EQ(names, (std::vector<std::string>{"a.txt", "b.txt", "c.txt", "d-local.txt", "_under.txt"}))
        << "local wins once, the whole listing in PrjFileNameCompare order ('_' after letters)";
    EXPECT_EQ(readFile(root.path("b.txt")).data, "local b");
    EXPECT_EQ(readFile(root.path("B.TXT")).data, "local b") << "case-insensitive lookup finds the local file";
    EXPECT_EQ(provider.count(Callback::FileData), 0);
}

TEST_F(ProjfsTest, TelldirSeekdirPositionsAreStable)
{
    for (int i = 0; i < 400; ++i)
        provider.addFile(numbered("s", i), "");
    start();
    DIR* dir = opendir(root.path().c_str());
    ASSERT_NE(dir, nullptr);
    std::vector<std::pair<long, std::string>> positions;
    for (;;) {
        long position = telldir(dir);
        dirent* entry = readdir(dir);
        if (!entry) break;
        positions.emplace_back(position, entry->d_name);
    }
    ASSERT_GE(positions.size(), 400u);
    for (size_t k : {size_t{0}, size_t{7}, positions.size() / 2, positions.size() - 1, size_t{3}}) {
        seekdir(dir, positions[k].first);
        dirent* entry = readdir(dir);
        ASSERT_NE(entry, nullptr) << "seekdir to entry " << k;
        EXPECT_EQ(entry->d_name, positions[k].second) << "entry " << k;
    }
    closedir(dir);
}

TEST_F(ProjfsTest, EndFollowsEverySuccessfulStartAndNoFailedOne)
{
    for (int i = 0; i < 200; ++i)
        provider.addFile("d1/" + numbered("e", i), "");
    provider.addFile("d2/one.txt", "1");
    provider.addFile("bad/x.txt", "x");
    provider.failPath(Callback::StartEnum, "bad", E_OUTOFMEMORY);
    start();
    listDirectory(root.path());
    {  // abandoned half way (before the complete listing: a complete one would be cached by the kernel)
        DIR* dir = opendir(root.path("d1").c_str());
        ASSERT_NE(dir, nullptr);
        readdir(dir);
        closedir(dir);
    }
    listDirectory(root.path("d1"));
    listDirectory(root.path("d2"));
    int error = 0;
    listDirectory(root.path("bad"), &error);
    EXPECT_NE(error, 0) << "a failed Start fails the listing";
    EXPECT_TRUE(eventually([&] { return provider.endedEnumerations() == provider.startedEnumerations(); }))
        << provider.startedEnumerations().size() << " started, " << provider.endedEnumerations().size() << " ended";
    EXPECT_GE(provider.startedEnumerations().size(), 4u);
    EXPECT_EQ(provider.count(Callback::EndEnum), static_cast<int>(provider.endedEnumerations().size()))
        << "End once per session, never for the failed Start";
}

TEST_F(ProjfsTest, PlaceholderInfoOncePerMissingPathComponent)
{
    provider.addFile("a/b/c/file.txt", "deep");
    start();
    ASSERT_EQ(statErrno(root.path("a/b/c/file.txt")), 0);
    EXPECT_EQ(provider.placeholderLog(), (std::vector<std::string>{"a", "a/b", "a/b/c", "a/b/c/file.txt"}));
    ASSERT_EQ(statErrno(root.path("a/b/c/file.txt")), 0);
    ASSERT_EQ(statErrno(root.path("a/b")), 0);
    EXPECT_EQ(provider.count(Callback::PlaceholderInfo), 4) << "placeholders on disk need no more callbacks";
    EXPECT_EQ(readFile(root.path("A/B/C/FILE.TXT")).data, "deep") << "case-insensitive like the file system";
}

TEST_F(ProjfsTest, PlaceholderWrittenUnderTheProviderSpelling)
{
    provider.addFile("MixedCase.txt", "m");
    start();
    ASSERT_EQ(statErrno(root.path("mixedcase.TXT")), 0);
    EXPECT_EQ(listDirectory(root.path()), std::vector<std::string>{"MixedCase.txt"});
}

TEST_F(ProjfsTest, ConcurrentReadersCauseExactlyOneGetFileData)
{
    provider.addGeneratedFile("shared.bin", 3 << 20, 7);
    start();
    ASSERT_EQ(statErrno(root.path("shared.bin")), 0);
    provider.setCallbackDelay(100ms);  // keep the first hydration in flight while the others arrive
    const std::string expected = provider.contentOf("shared.bin");
    std::vector<std::thread> readers;
    std::atomic<int> good{0};
    for (int i = 0; i < 8; ++i) {
        readers.emplace_back([&] {
            if (readFile(root.path("shared.bin")).data == expected) ++good;
        });
    }
    for (auto& reader : readers)
        reader.join();
    EXPECT_EQ(good.load(), 8);
    EXPECT_EQ(provider.count(Callback::FileData), 1);
}

TEST_F(ProjfsTest, PlaceholderNotFoundReachesProgramsAsEnoent)
{
    provider.addFile("hidden.txt", "h");
    provider.failPath(Callback::PlaceholderInfo, "hidden.txt", HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    start();
    EXPECT_EQ(statErrno(root.path("ghost.txt")), ENOENT);
    EXPECT_EQ(statErrno(root.path("hidden.txt")), ENOENT);
    EXPECT_EQ(readFile(root.path("hidden.txt")).error, ENOENT);
}

TEST_F(ProjfsTest, GetFileDataFailingMidFileIsEioAndTheNextReadRetries)
{
    provider.addGeneratedFile("flaky.bin", 4 << 20, 3);
    provider.failFileDataAt("flaky.bin", 1 << 20, 1);
    start();
    auto first = readFile(root.path("flaky.bin"));
    EXPECT_EQ(first.error, EIO);
    PRJ_FILE_STATE state = fileState(root.path("flaky.bin"));
    EXPECT_EQ(state, PRJ_FILE_STATE_PLACEHOLDER) << "half-written data is not presented as hydrated";
    auto second = readFile(root.path("flaky.bin"));
    EXPECT_EQ(second.error, 0);
    EXPECT_TRUE(second.data == provider.contentOf("flaky.bin")) << "size " << second.data.size();
    EXPECT_TRUE(fileState(root.path("flaky.bin")) & PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    EXPECT_EQ(provider.count(Callback::FileData), 2);
}
