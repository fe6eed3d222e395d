// BackingStore on a temporary directory: placeholder attributes, states, tombstones, listing.
#include "projfs/store/backing_path.h"
#include "projfs/store/backing_store.h"
#include "projfs/store/rel_path.h"
#include "projfs/store/root_marker.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <thread>

namespace hc::projfs {
namespace {

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/projfs-store-XXXXXX";
        dir = ::mkdtemp(tmpl);
        auto opened = BackingStore::open(dir);
        ASSERT_TRUE(opened.ok());
        store = std::move(opened).value();
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    PlaceholderSpec file(int64_t size)
    {
        PlaceholderSpec spec;
        spec.size = size;
        spec.lastWriteTime = {1000000000, 0};
        spec.lastAccessTime = {1000000000, 0};
        spec.version.ContentID[0] = 9;
        return spec;
    }
    std::vector<std::string> names()
    {
        auto entries = store->listDirectory("");
        std::vector<std::string> out;
        for (auto& e : *entries)
            out.push_back(e.name + (e.tombstone ? "(T)" : ""));
        std::sort(out.begin(), out.end());
        return out;
    }

    std::string dir;
    std::unique_ptr<BackingStore> store;
};

TEST_F(StoreTest, FilePlaceholderHasSizeTimesVersionAndState)
{
    auto spec = file(12345);
    spec.originPath = "a.txt";
    spec.readOnly = true;
    ASSERT_TRUE(store->writePlaceholder("a.txt", spec).ok());
    auto st = store->statItem("a.txt");
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->st_size, 12345);
    EXPECT_EQ(st->st_mtim.tv_sec, 1000000000);
    EXPECT_EQ(st->st_mode & 0777, 0444u);
    EXPECT_LT(st->st_blocks * 512, 12345);  // sparse: no content yet (attributes may take a block)
    auto record = store->readRecord("a.txt");
    ASSERT_TRUE(record.ok());
    EXPECT_EQ(record->state, ItemState::Placeholder);
    EXPECT_TRUE(record->projected);
    EXPECT_EQ(record->originPath, "a.txt");
    ASSERT_TRUE(record->version.has_value());
    EXPECT_EQ(record->version->ContentID[0], 9);
    EXPECT_EQ(fileStateFlags(*record), PRJ_FILE_STATE_PLACEHOLDER);
}

TEST_F(StoreTest, StatesAndDirtyFlag)
{
    ASSERT_TRUE(store->writePlaceholder("f", file(1)).ok());
    ASSERT_TRUE(store->setState("f", ItemState::HydratedPlaceholder).ok());
    EXPECT_EQ(fileStateFlags(*store->readRecord("f")), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    ASSERT_TRUE(store->setDirty("f").ok());
    EXPECT_EQ(fileStateFlags(*store->readRecord("f")),
              PRJ_FILE_STATE_HYDRATED_PLACEHOLDER | PRJ_FILE_STATE_DIRTY_PLACEHOLDER);
    ASSERT_TRUE(store->setState("f", ItemState::Full).ok());
    auto record = store->readRecord("f");
    EXPECT_EQ(fileStateFlags(*record), PRJ_FILE_STATE_FULL);
    EXPECT_TRUE(record->projected);  // still known to the provider: deleting it leaves a tombstone
}

TEST_F(StoreTest, PlainFilesAreFull)
{
    int fd = ::openat(store->rootFd(), "plain", O_CREAT | O_WRONLY, 0644);
    ::close(fd);
    auto record = store->readRecord("plain");
    ASSERT_TRUE(record.ok());
    EXPECT_EQ(record->state, ItemState::Full);
    EXPECT_FALSE(record->projected);
}

TEST_F(StoreTest, ExistingItemsAndMissingParents)
{
    ASSERT_TRUE(store->writePlaceholder("f", file(1)).ok());
    EXPECT_TRUE(store->writePlaceholder("f", file(2)).ok());  // a placeholder is updated in place
    EXPECT_EQ(store->statItem("f")->st_size, 2);
    ASSERT_TRUE(store->setState("f", ItemState::HydratedPlaceholder).ok());
    EXPECT_EQ(store->writePlaceholder("f", file(3)).hr(), HRESULT_FROM_WIN32(ERROR_FILE_EXISTS));
    EXPECT_EQ(store->writePlaceholder("no/such", file(1)).hr(), HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND));
    EXPECT_EQ(names(), std::vector<std::string>{"f"});  // no temporary left behind
}

TEST_F(StoreTest, DirectoryPlaceholders)
{
    PlaceholderSpec spec;
    spec.isDirectory = true;
    ASSERT_TRUE(store->writePlaceholder("d", spec).ok());
    ASSERT_TRUE(store->writePlaceholder("d/inner", file(5)).ok());
    auto record = store->readRecord("d");
    EXPECT_TRUE(record->isDirectory);
    EXPECT_EQ(record->state, ItemState::Placeholder);
}

// Writing placeholders into the root or into a directory placeholder nobody changed leaves the
// directory's times as they were, also when threads write into it at once (docs/projfs-design.md,
// "Stable attributes"); a directory a user changed (dirty) shows the real times.
TEST_F(StoreTest, PlaceholdersLeaveTheTimesOfTheirProviderDirectory)
{
    PlaceholderSpec directory;
    directory.isDirectory = true;
    directory.lastWriteTime = {1000000000, 0};
    directory.lastAccessTime = {1000000000, 0};
    ASSERT_TRUE(store->writePlaceholder("d", directory).ok());
    auto mtimeOf = [&](const std::string& rel) {
        auto st = store->statItem(rel);
        return st.ok() ? st->st_mtim.tv_sec * 1000000000ll + st->st_mtim.tv_nsec : -1;
    };
    const long long rootTime = mtimeOf("");
    const long long providerTime = 1000000000ll * 1000000000ll;
    EXPECT_EQ(mtimeOf("d"), providerTime);
    ::usleep(15000);  // a new tick of the file system's clock

    ASSERT_TRUE(store->writePlaceholder("top", file(1)).ok());
    EXPECT_EQ(mtimeOf(""), rootTime);
    ASSERT_TRUE(store->writePlaceholder("d/sub", directory).ok());
    PlaceholderSpec link = file(0);
    link.extras.symlinkTarget = "sub";
    ASSERT_TRUE(store->writePlaceholder("d/link", link).ok());
    ::usleep(15000);
    ASSERT_TRUE(store->findChild("d", "MISSING").ok());  // indexes the directory
    const uint64_t listed = store->nameIndex().listings();
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
        writers.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i)
                EXPECT_TRUE(store->writePlaceholder("d/f" + std::to_string(t) + "-" + std::to_string(i), file(i)).ok());
        });
    }
    for (auto& writer : writers)
        writer.join();
    EXPECT_EQ(mtimeOf("d"), providerTime);
    EXPECT_EQ(mtimeOf("d/sub"), providerTime);
    EXPECT_EQ(store->listDirectory("d")->size(), 2u + 4 * 50);

    // The index knows every new name without listing the directory again: putting the times back is
    // the runtime's own change (ctime moves, the index is re-stamped).
    auto found = store->findChild("d", "F3-49");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->value_or("<none>"), "f3-49");
    EXPECT_EQ(store->nameIndex().listings(), listed);

    ASSERT_TRUE(store->setDirty("d").ok());
    ASSERT_TRUE(store->writePlaceholder("d/after", file(1)).ok());
    EXPECT_GT(mtimeOf("d"), providerTime);
}

// Two programs opening one listed directory make two lookups write the same placeholder at once: both
// succeed (the second updates the first's), neither gets ERROR_FILE_EXISTS.
TEST_F(StoreTest, SamePlaceholderWrittenByThreadsAtOnceSucceedsForAll)
{
    PlaceholderSpec directory;
    directory.isDirectory = true;
    for (int round = 0; round < 20; ++round) {
        std::vector<std::thread> writers;
        std::atomic<int> failures{0};
        for (int t = 0; t < 4; ++t) {
            writers.emplace_back([&, t] {
                const std::string rel = "same" + std::to_string(round);
                if (!store->writePlaceholder(t % 2 ? rel + "d" : rel, t % 2 ? directory : file(7)).ok()) ++failures;
            });
        }
        for (auto& writer : writers)
            writer.join();
        EXPECT_EQ(failures.load(), 0) << "round " << round;
    }
}

TEST_F(StoreTest, TombstonesHideAndGiveWay)
{
    ASSERT_TRUE(store->writePlaceholder("gone", file(10)).ok());
    ASSERT_TRUE(store->makeTombstone("gone").ok());
    EXPECT_EQ(store->readRecord("gone")->state, ItemState::Tombstone);
    EXPECT_EQ(fileStateFlags(*store->readRecord("gone")), PRJ_FILE_STATE_TOMBSTONE);
    EXPECT_EQ(names(), std::vector<std::string>{"gone(T)"});
    // A new placeholder replaces a tombstone; clearTombstone removes one.
    ASSERT_TRUE(store->writePlaceholder("gone", file(1)).ok());
    EXPECT_EQ(store->readRecord("gone")->state, ItemState::Placeholder);
    ASSERT_TRUE(store->makeTombstone("gone").ok());
    ASSERT_TRUE(store->clearTombstone("gone").ok());
    EXPECT_TRUE(names().empty());
}

TEST_F(StoreTest, ClearTombstonesInDirectory)
{
    ASSERT_EQ(::mkdirat(store->rootFd(), "d", 0755), 0);
    ASSERT_TRUE(store->makeTombstone("d/x").ok());
    ASSERT_TRUE(store->clearTombstonesIn("d").ok());
    EXPECT_EQ(::unlinkat(store->rootFd(), "d", AT_REMOVEDIR), 0);
}

TEST_F(StoreTest, FindChildIgnoresCase)
{
    ASSERT_TRUE(store->writePlaceholder("README.txt", file(1)).ok());
    auto found = store->findChild("", "readme.TXT");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->value_or(""), "README.txt");
    EXPECT_FALSE(store->findChild("", "other")->has_value());
}

TEST_F(StoreTest, RootMarker)
{
    GUID id{0x12345678, 1, 2, {3, 4, 5, 6, 7, 8, 9, 10}};
    ASSERT_TRUE(markVirtualizationRoot(dir, id, nullptr).ok());
    EXPECT_EQ(markVirtualizationRoot(dir, id, nullptr).hr(), HRESULT_FROM_WIN32(ERROR_REPARSE_POINT_ENCOUNTERED));
    auto read = readRootInstanceId(store->rootFd());
    ASSERT_TRUE(read.ok() && read->has_value());
    EXPECT_EQ((*read)->Data1, 0x12345678u);
}

TEST(RelPathTest, ProviderPathsAndComponents)
{
    EXPECT_EQ(*relFromProviderPath(L"a\\b/c\\", "p"), "a/b/c");
    EXPECT_EQ(*relFromProviderPath(L"\\", "p"), "");
    EXPECT_EQ(relFromProviderPath(L"a\\..\\b", "p").hr(), E_INVALIDARG);
    EXPECT_EQ(relFromProviderPath(L".projfs~x", "p").hr(), E_INVALIDARG);
    EXPECT_EQ(relFromProviderPath(nullptr, "p").hr(), E_INVALIDARG);
    EXPECT_EQ(providerPathFromRel("a/b"), L"a\\b");
    EXPECT_FALSE(isValidComponent(""));
    EXPECT_FALSE(isValidComponent(".."));
    EXPECT_FALSE(isValidComponent("a/b"));
    EXPECT_TRUE(isValidComponent("a b"));
    EXPECT_EQ(splitRel("a/b/c"), std::make_pair(std::string("a/b"), std::string("c")));
}

// The case-insensitive lookup goes through a per-directory index; it must follow every create, rename
// and delete, also several within one clock tick, and also in a directory the index saw before.
TEST_F(StoreTest, FindChildFollowsCreatesRenamesAndDeletes)
{
    auto touch = [&](const std::string& name) {
        int fd = ::open((dir + "/" + name).c_str(), O_WRONLY | O_CREAT, 0644);
        ASSERT_GE(fd, 0);
        ::close(fd);
    };
    auto find = [&](const std::string& name) {
        auto r = store->findChild("", name);
        EXPECT_TRUE(r.ok());
        return r.ok() && r->has_value() ? **r : std::string("<none>");
    };
    touch("Alpha.txt");
    EXPECT_EQ(find("ALPHA.TXT"), "Alpha.txt");
    EXPECT_EQ(find("beta"), "<none>");
    for (int round = 0; round < 3; ++round) {  // changes right after a lookup, in the same tick
        touch("Beta");
        EXPECT_EQ(find("BETA"), "Beta");
        ASSERT_EQ(::rename((dir + "/Beta").c_str(), (dir + "/Gamma").c_str()), 0);
        EXPECT_EQ(find("beta"), "<none>");
        EXPECT_EQ(find("gAmMa"), "Gamma");
        ASSERT_EQ(::unlink((dir + "/Gamma").c_str()), 0);
        EXPECT_EQ(find("GAMMA"), "<none>");
        ::usleep(15000);  // and after the directory settled (the index is then cached)
        EXPECT_EQ(find("alpha.TXT"), "Alpha.txt");
    }
    EXPECT_FALSE(store->findChild("missing-dir", "x").ok());
}

// The store's own creations, removals and renames keep the index current: filling a directory with
// placeholders lists it once, not once per placeholder. A change made behind the store's back (after
// the directory settled) is still noticed.
TEST_F(StoreTest, OwnChangesKeepTheIndexWithoutRelisting)
{
    ASSERT_EQ(::mkdir((dir + "/d").c_str(), 0755), 0);
    for (int i = 0; i < 500; ++i) {
        int fd = ::open((dir + "/d/Old" + std::to_string(i)).c_str(), O_WRONLY | O_CREAT, 0644);
        ASSERT_GE(fd, 0);
        ::close(fd);
    }
    ::usleep(15000);
    auto find = [&](const std::string& name) {
        auto r = store->findChild("d", name);
        EXPECT_TRUE(r.ok());
        return r.ok() && r->has_value() ? **r : std::string("<none>");
    };
    EXPECT_EQ(find("missing"), "<none>");
    const uint64_t listed = store->nameIndex().listings();
    for (int i = 0; i < 300; ++i) {
        std::string name = "New" + std::to_string(i);
        ASSERT_TRUE(store->writePlaceholder("d/" + name, file(1)).ok());
        EXPECT_EQ(find("NEW" + std::to_string(i)), name);
        EXPECT_EQ(find("NEW" + std::to_string(i) + "x"), "<none>");
    }
    ASSERT_TRUE(store->makeTombstone("d/Old1").ok());
    EXPECT_EQ(find("OLD1"), "Old1");  // tombstones count; callers check the record
    ASSERT_TRUE(store->clearTombstone("d/Old1").ok());
    EXPECT_EQ(find("OLD1"), "<none>");
    ASSERT_TRUE(store->removeEntry("d/Old2", false).ok());
    EXPECT_EQ(find("old2"), "<none>");
    ASSERT_TRUE(store->renameEntry("d/Old3", "d/Moved3", 0).ok());
    EXPECT_EQ(find("OLD3"), "<none>");
    EXPECT_EQ(find("moved3"), "Moved3");
    ASSERT_TRUE(
        store->createEntry("d/Made", [](int root, const char* rel) { return ::mkdirat(root, rel, 0755); }).ok());
    EXPECT_EQ(find("MADE"), "Made");
    ASSERT_TRUE(store->openItem("d/Opened", O_WRONLY | O_CREAT, 0644).ok());
    EXPECT_EQ(find("OPENED"), "Opened");
    EXPECT_EQ(store->nameIndex().listings(), listed);

    ::usleep(15000);  // a new tick, then a change the store does not know of
    int fd = ::open((dir + "/d/Outside").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
    EXPECT_EQ(find("OUTSIDE"), "Outside");
    EXPECT_GT(store->nameIndex().listings(), listed);
}

// Not a timing assertion (the machine is shared): records the first case-insensitive lookup of a missing
// name and a second one, in a 10,000-entry directory.
TEST_F(StoreTest, FindChildInLargeDirectoryUsesTheIndex)
{
    ASSERT_EQ(::mkdir((dir + "/big").c_str(), 0755), 0);
    for (int i = 0; i < 10000; ++i) {
        int fd = ::open((dir + "/big/File" + std::to_string(i)).c_str(), O_WRONLY | O_CREAT, 0644);
        ASSERT_GE(fd, 0);
        ::close(fd);
    }
    ::usleep(15000);
    auto time = [&](const std::string& name) {
        auto begin = std::chrono::steady_clock::now();
        auto r = store->findChild("big", name);
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - begin);
        EXPECT_TRUE(r.ok());
        return std::make_pair(r.ok() && r->has_value() ? **r : std::string("<none>"), us.count());
    };
    auto first = time("nothere");
    auto second = time("FILE9999");
    auto third = time("absent");
    EXPECT_EQ(first.first, "<none>");
    EXPECT_EQ(second.first, "File9999");
    EXPECT_EQ(third.first, "<none>");
    std::printf("findChild at 10,000 entries: first %lld us (builds the index), then %lld us, %lld us\n",
                static_cast<long long>(first.second), static_cast<long long>(second.second),
                static_cast<long long>(third.second));
    RecordProperty("first_us", static_cast<int>(first.second));
    RecordProperty("cached_us", static_cast<int>(third.second));
}

// Items deeper than PATH_MAX below the root (issue 14, pjdfstest's P1): every store operation reaches them
// through the directories on their way, and none leaves a descriptor open.
size_t openDescriptors()
{
    size_t count = 0;
    DIR* fds = ::opendir("/proc/self/fd");
    while (fds != nullptr && ::readdir(fds) != nullptr)
        ++count;
    if (fds != nullptr) ::closedir(fds);
    return count;
}

TEST_F(StoreTest, ItemsDeeperThanPathMaxBelowTheRoot)
{
    const size_t before = openDescriptors();
    // 24 directories of 250-byte names: 6,024 bytes, as deep as ext4 lets pjdfstest go.
    std::string deep;
    for (int i = 0; i < 24; ++i) {
        std::string name = std::to_string(i) + std::string(248, 'd');
        deep = joinRel(deep, name.substr(0, 250));
        ASSERT_TRUE(
            store->createEntry(deep, [](int dirFd, const char* path) { return ::mkdirat(dirFd, path, 0755); }).ok())
            << "depth " << i;
    }
    ASSERT_GT(deep.size(), static_cast<size_t>(PATH_MAX));
    auto st = store->statItem(deep);
    ASSERT_TRUE(st.ok()) << st.error().message;
    EXPECT_TRUE(S_ISDIR(st->st_mode));

    // A placeholder, its record, a case-insensitive lookup, a dirty mark, a tombstone, a rename.
    auto spec = file(10);
    spec.originPath = "x";
    ASSERT_TRUE(store->writePlaceholder(joinRel(deep, "File.txt"), spec).ok());
    auto record = store->readRecord(joinRel(deep, "File.txt"));
    ASSERT_TRUE(record.ok()) << record.error().message;
    EXPECT_EQ(record->state, ItemState::Placeholder);
    ASSERT_TRUE(record->version.has_value());
    EXPECT_EQ(record->version->ContentID[0], 9);
    auto found = store->findChild(deep, "FILE.TXT");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->value_or("<none>"), "File.txt");
    ASSERT_TRUE(store->setDirty(joinRel(deep, "File.txt")).ok());
    EXPECT_TRUE(store->readRecord(joinRel(deep, "File.txt"))->dirty);
    auto listed = store->listDirectory(deep);
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->size(), 1u);
    ASSERT_TRUE(store->renameEntry(joinRel(deep, "File.txt"), joinRel(deep, "Moved.txt"), 0).ok());
    ASSERT_TRUE(store->makeTombstone(joinRel(deep, "Moved.txt")).ok());
    EXPECT_EQ(store->readRecord(joinRel(deep, "Moved.txt"))->state, ItemState::Tombstone);
    ASSERT_TRUE(store->clearTombstone(joinRel(deep, "Moved.txt")).ok());
    EXPECT_FALSE(store->statItem(joinRel(deep, "Moved.txt")).ok());

    // A directory placeholder (made under a temporary name), a file opened and written at depth.
    PlaceholderSpec directory;
    directory.isDirectory = true;
    ASSERT_TRUE(store->writePlaceholder(joinRel(deep, "Sub"), directory).ok());
    auto opened = store->openItem(joinRel(deep, "Sub/new.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ(::write(opened->get(), "deep", 4), 4);
    opened->reset();
    ASSERT_TRUE(store->removeEntry(joinRel(deep, "Sub/new.txt"), false).ok());
    ASSERT_TRUE(store->removeEntry(joinRel(deep, "Sub"), true).ok());

    // A missing directory on the way is the error of that directory (ENOENT), not ENAMETOOLONG.
    auto absent = store->statItem(joinRel(deep, std::string(250, 'z')));
    EXPECT_EQ(absent.hr(), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    const std::string underMissing = joinRel("absent", deep);
    BackingPath unreachable(store->rootFd(), underMissing);
    EXPECT_EQ(unreachable.error(), ENOENT);
    EXPECT_EQ(store->statItem(underMissing).hr(), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    EXPECT_EQ(openDescriptors(), before);
}

}  // namespace
}  // namespace hc::projfs
