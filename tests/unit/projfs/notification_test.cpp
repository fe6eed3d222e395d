// NotificationCallback on real FUSE mounts: masks and mappings, pre-operation vetoes, post-operation
// notifications, handle-close variants, masks written by the provider, pended notifications and the
// provider's own I/O.
#include "test_provider.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

namespace hc::projfs::test {
namespace {

struct Event {
    PRJ_NOTIFICATION type{};
    std::wstring path;
    bool hasDestination = false;
    std::wstring destination;
    bool isDirectory = false;
    bool fileModified = false;
    int32_t commandId = 0;
};

std::wstring typeName(PRJ_NOTIFICATION type)
{
    switch (type) {
        case PRJ_NOTIFICATION_FILE_OPENED:
            return L"OPENED";
        case PRJ_NOTIFICATION_NEW_FILE_CREATED:
            return L"CREATED";
        case PRJ_NOTIFICATION_FILE_OVERWRITTEN:
            return L"OVERWRITTEN";
        case PRJ_NOTIFICATION_PRE_DELETE:
            return L"PRE_DELETE";
        case PRJ_NOTIFICATION_PRE_RENAME:
            return L"PRE_RENAME";
        case PRJ_NOTIFICATION_PRE_SET_HARDLINK:
            return L"PRE_SET_HARDLINK";
        case PRJ_NOTIFICATION_FILE_RENAMED:
            return L"RENAMED";
        case PRJ_NOTIFICATION_HARDLINK_CREATED:
            return L"HARDLINK_CREATED";
        case PRJ_NOTIFICATION_FILE_HANDLE_CLOSED_NO_MODIFICATION:
            return L"CLOSED_NO_MODIFICATION";
        case PRJ_NOTIFICATION_FILE_HANDLE_CLOSED_FILE_MODIFIED:
            return L"CLOSED_FILE_MODIFIED";
        case PRJ_NOTIFICATION_FILE_HANDLE_CLOSED_FILE_DELETED:
            return L"CLOSED_FILE_DELETED";
        case PRJ_NOTIFICATION_FILE_PRE_CONVERT_TO_FULL:
            return L"PRE_CONVERT_TO_FULL";
    }
    return L"?";
}

// "TYPE path[ -> destination][ dir][ modified]": one line per event, easy to compare and to read.
std::string describe(const Event& e)
{
    std::wstring s = typeName(e.type) + L" " + e.path;
    if (e.hasDestination) s += L" -> " + e.destination;
    if (e.isDirectory) s += L" dir";
    if (e.fileModified) s += L" modified";
    return std::string(s.begin(), s.end());
}

// A TestProvider that records notifications and answers them through `respond` (default: S_OK).
class NotifyingProvider : public TestProvider {
public:
    using Responder = std::function<HRESULT(const Event&, PRJ_NOTIFICATION_PARAMETERS*)>;

    NotifyingProvider() { notificationCallback = onNotification; }

    void respondWith(Responder r)
    {
        std::lock_guard lock(eventsMutex);
        respond = std::move(r);
    }
    std::vector<std::string> seen()
    {
        std::lock_guard lock(eventsMutex);
        std::vector<std::string> out;
        for (const auto& e : events)
            out.push_back(describe(e));
        return out;
    }
    size_t count()
    {
        std::lock_guard lock(eventsMutex);
        return events.size();
    }
    void clear()
    {
        std::lock_guard lock(eventsMutex);
        events.clear();
    }
    Event last()
    {
        std::lock_guard lock(eventsMutex);
        return events.empty() ? Event{} : events.back();
    }

private:
    static HRESULT onNotification(const PRJ_CALLBACK_DATA* data, BOOLEAN isDirectory, PRJ_NOTIFICATION notification,
                                  PCWSTR destinationFileName, PRJ_NOTIFICATION_PARAMETERS* params)
    {
        auto* self = static_cast<NotifyingProvider*>(static_cast<TestProvider*>(data->InstanceContext));
        Event e;
        e.type = notification;
        e.path = data->FilePathName;
        e.hasDestination = destinationFileName != nullptr;
        if (destinationFileName) e.destination = destinationFileName;
        e.isDirectory = isDirectory != 0;
        e.fileModified = notification == PRJ_NOTIFICATION_FILE_HANDLE_CLOSED_FILE_DELETED &&
                         params->FileDeletedOnHandleClose.IsFileModified;
        e.commandId = data->CommandId;
        Responder r;
        {
            std::lock_guard lock(self->eventsMutex);
            self->events.push_back(e);
            r = self->respond;
        }
        return r ? r(e, params) : S_OK;
    }

    std::mutex eventsMutex;
    std::vector<Event> events;
    Responder respond;
};

class NotificationTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        provider.addFile(L"a.txt", "hello\n");
        provider.addFile(L"other.txt", "other\n");
        provider.addDirectory(L"Dir");
        provider.addFile(L"Dir\\B.bin", std::string(10000, 'b'));
        provider.addDirectory(L"Sub");
        provider.addFile(L"Sub\\c.txt", "c\n");
        provider.addDirectory(L"Sub\\Inner");
        provider.addFile(L"Sub\\Inner\\d.txt", "d\n");
    }
    void TearDown() override { provider.stop(); }
    // Starts with these mappings (none: the default mask).
    void start(std::vector<PRJ_NOTIFICATION_MAPPING> mappings = {})
    {
        PRJ_STARTVIRTUALIZING_OPTIONS options{};
        options.NotificationMappings = mappings.empty() ? nullptr : mappings.data();
        options.NotificationMappingsCount = static_cast<UINT32>(mappings.size());
        ASSERT_EQ(provider.start(root.path(), &options), S_OK);
    }
    void startWithMask(uint32_t mask) { start({{static_cast<PRJ_NOTIFY_TYPES>(mask), L""}}); }
    std::string at(const std::string& rel) const { return root.path() + "/" + rel; }
    int open(const std::string& rel, int flags, mode_t mode = 0644) { return ::open(at(rel).c_str(), flags, mode); }
    bool writeNew(const std::string& rel, const std::string& content)
    {
        int fd = open(rel, O_CREAT | O_WRONLY | O_TRUNC);
        if (fd < 0) return false;
        bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
        return ::close(fd) == 0 && ok;
    }
    // Waits for the events the kernel sends in the background (RELEASE) to arrive.
    bool seenCount(size_t n)
    {
        return eventually([&] { return provider.count() >= n; });
    }

    TempRoot root;
    NotifyingProvider provider;
};

using Events = std::vector<std::string>;

TEST_F(NotificationTest, DefaultMaskIsOpenedCreatedOverwrittenOnly)
{
    start();
    EXPECT_EQ(readFile(at("a.txt")), "hello\n");
    ASSERT_TRUE(writeNew("new.txt", "x"));
    int fd = open("other.txt", O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_EQ(::close(fd), 0);
    ASSERT_EQ(::mkdir(at("newdir").c_str(), 0755), 0);
    ASSERT_EQ(::rename(at("new.txt").c_str(), at("renamed.txt").c_str()), 0);
    ASSERT_EQ(::unlink(at("renamed.txt").c_str()), 0);
    ASSERT_EQ(::rmdir(at("newdir").c_str()), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // any late (release) notification
    EXPECT_EQ(provider.seen(),
              (Events{"OPENED a.txt", "CREATED new.txt", "OVERWRITTEN other.txt", "CREATED newdir dir"}));
}

TEST_F(NotificationTest, DeepestMappingDecidesCaseInsensitively)
{
    start({{PRJ_NOTIFY_NONE, L"sub\\INNER"},
           {static_cast<PRJ_NOTIFY_TYPES>(PRJ_NOTIFY_FILE_OPENED), L"SUB"},
           {PRJ_NOTIFY_NEW_FILE_CREATED, L""}});
    EXPECT_EQ(readFile(at("a.txt")), "hello\n");        // root: only NEW_FILE_CREATED
    EXPECT_EQ(readFile(at("Sub/Inner/d.txt")), "d\n");  // deepest: NONE
    EXPECT_EQ(readFile(at("sub/c.txt")), "c\n");        // Sub: OPENED
    ASSERT_TRUE(writeNew("Sub/new.txt", "n"));          // Sub has no NEW_FILE_CREATED
    ASSERT_TRUE(writeNew("top.txt", "t"));
    EXPECT_EQ(provider.seen(), (Events{"OPENED Sub\\c.txt", "CREATED top.txt"}));
}

TEST_F(NotificationTest, InvalidMappingsAreRejected)
{
    PRJ_STARTVIRTUALIZING_OPTIONS options{};
    PRJ_NOTIFICATION_MAPPING bad[1] = {{PRJ_NOTIFY_FILE_OPENED, nullptr}};
    options.NotificationMappings = bad;
    options.NotificationMappingsCount = 1;
    EXPECT_EQ(provider.start(root.path(), &options), E_INVALIDARG);
    bad[0].NotificationRoot = L"..\\outside";
    EXPECT_EQ(provider.start(root.path(), &options), E_INVALIDARG);
    bad[0].NotificationRoot = L"Sub";
    bad[0].NotificationBitMask = PRJ_NOTIFY_USE_EXISTING_MASK;
    EXPECT_EQ(provider.start(root.path(), &options), E_INVALIDARG);
    options.NotificationMappings = nullptr;
    EXPECT_EQ(provider.start(root.path(), &options), E_INVALIDARG);
    bad[0].NotificationBitMask = PRJ_NOTIFY_FILE_OPENED;
    options.NotificationMappings = bad;
    EXPECT_EQ(provider.start(root.path(), &options), S_OK);  // and the root is usable afterwards
    EXPECT_EQ(readFile(at("Sub/c.txt")), "c\n");
    EXPECT_EQ(provider.seen(), (Events{"OPENED Sub\\c.txt"}));
}

TEST_F(NotificationTest, PreDeleteVetoKeepsTheItem)
{
    startWithMask(PRJ_NOTIFY_PRE_DELETE);
    provider.respondWith([](const Event& e, PRJ_NOTIFICATION_PARAMETERS*) {
        return e.path == L"a.txt" || e.path == L"Sub" ? E_FAIL : S_OK;
    });
    EXPECT_EQ(::unlink(at("a.txt").c_str()), -1);
    EXPECT_EQ(errno, EACCES);
    EXPECT_EQ(readFile(at("a.txt")), "hello\n");
    ASSERT_EQ(::mkdir(at("Sub/empty").c_str(), 0755), 0);
    ASSERT_EQ(::unlink(at("Sub/Inner/d.txt").c_str()), 0);
    ASSERT_EQ(::rmdir(at("Sub/Inner").c_str()), 0);
    ASSERT_EQ(::rmdir(at("Sub/empty").c_str()), 0);
    ASSERT_EQ(::unlink(at("Sub/c.txt").c_str()), 0);
    EXPECT_EQ(::rmdir(at("Sub").c_str()), -1);
    EXPECT_EQ(errno, EACCES);
    struct stat st {};
    EXPECT_EQ(::stat(at("Sub").c_str(), &st), 0);
    ASSERT_EQ(::unlink(at("other.txt").c_str()), 0);
    EXPECT_EQ(::stat(at("other.txt").c_str(), &st), -1);
    EXPECT_EQ(provider.seen(), (Events{"PRE_DELETE a.txt", "PRE_DELETE Sub\\Inner\\d.txt", "PRE_DELETE Sub\\Inner dir",
                                       "PRE_DELETE Sub\\empty dir", "PRE_DELETE Sub\\c.txt", "PRE_DELETE Sub dir",
                                       "PRE_DELETE other.txt"}));
}

TEST_F(NotificationTest, PreRenameVetoAndFileRenamed)
{
    startWithMask(PRJ_NOTIFY_PRE_RENAME | PRJ_NOTIFY_FILE_RENAMED);
    provider.respondWith([](const Event& e, PRJ_NOTIFICATION_PARAMETERS*) {
        return e.type == PRJ_NOTIFICATION_PRE_RENAME && e.destination == L"vetoed.txt" ? E_ACCESSDENIED : S_OK;
    });
    EXPECT_EQ(::rename(at("a.txt").c_str(), at("vetoed.txt").c_str()), -1);
    EXPECT_EQ(errno, EACCES);
    EXPECT_EQ(readFile(at("a.txt")), "hello\n");
    ASSERT_EQ(::rename(at("a.txt").c_str(), at("Sub/moved.txt").c_str()), 0);
    EXPECT_EQ(readFile(at("Sub/moved.txt")), "hello\n");
    EXPECT_EQ(provider.seen(), (Events{"PRE_RENAME a.txt -> vetoed.txt", "PRE_RENAME a.txt -> Sub\\moved.txt",
                                       "RENAMED a.txt -> Sub\\moved.txt"}));
}

// A directory placeholder's rename: PRE_RENAME (with the directory flag) comes before anything is written, so
// a veto leaves the subtree untouched; FILE_RENAMED follows the move.
TEST_F(NotificationTest, DirectoryRenameVetoAndRenamed)
{
    startWithMask(PRJ_NOTIFY_PRE_RENAME | PRJ_NOTIFY_FILE_RENAMED);
    provider.respondWith([](const Event& e, PRJ_NOTIFICATION_PARAMETERS*) {
        return e.type == PRJ_NOTIFICATION_PRE_RENAME && e.destination == L"Vetoed" ? E_ACCESSDENIED : S_OK;
    });
    EXPECT_EQ(::rename(at("Sub").c_str(), at("Vetoed").c_str()), -1);
    EXPECT_EQ(errno, EACCES);
    EXPECT_EQ(provider.placeholderInfo, 2);  // the kernel's lookups of Sub and Vetoed: nothing walked
    EXPECT_EQ(fileState(at("Sub")), PRJ_FILE_STATE_PLACEHOLDER);
    ASSERT_EQ(::rename(at("Sub").c_str(), at("Dir/Moved").c_str()), 0) << std::strerror(errno);
    EXPECT_EQ(readFile(at("Dir/Moved/Inner/d.txt")), "d\n");
    EXPECT_EQ(provider.seen(), (Events{"PRE_RENAME Sub -> Vetoed dir", "PRE_RENAME Sub -> Dir\\Moved dir",
                                       "RENAMED Sub -> Dir\\Moved dir"}));
}

TEST_F(NotificationTest, HardlinkVetoAndCreated)
{
    startWithMask(PRJ_NOTIFY_PRE_SET_HARDLINK | PRJ_NOTIFY_HARDLINK_CREATED);
    ASSERT_TRUE(writeNew("full.txt", "full"));
    provider.respondWith([](const Event& e, PRJ_NOTIFICATION_PARAMETERS*) {
        return e.type == PRJ_NOTIFICATION_PRE_SET_HARDLINK && e.destination == L"no.txt" ? E_FAIL : S_OK;
    });
    EXPECT_EQ(::link(at("full.txt").c_str(), at("no.txt").c_str()), -1);
    EXPECT_EQ(errno, EACCES);
    struct stat st {};
    EXPECT_EQ(::stat(at("no.txt").c_str(), &st), -1);
    ASSERT_EQ(::link(at("full.txt").c_str(), at("yes.txt").c_str()), 0) << std::strerror(errno);
    EXPECT_EQ(readFile(at("yes.txt")), "full");
    EXPECT_EQ(provider.seen(), (Events{"PRE_SET_HARDLINK full.txt -> no.txt", "PRE_SET_HARDLINK full.txt -> yes.txt",
                                       "HARDLINK_CREATED full.txt -> yes.txt"}));
}

TEST_F(NotificationTest, PreConvertToFullOnceUnderRacingWriters)
{
    startWithMask(PRJ_NOTIFY_FILE_PRE_CONVERT_TO_FULL);
    EXPECT_EQ(readFile(at("Dir/B.bin")).size(), 10000u);  // hydrated placeholder
    provider.respondWith([](const Event&, PRJ_NOTIFICATION_PARAMETERS*) {
        std::this_thread::sleep_for(std::chrono::milliseconds(150));  // let the other writers arrive
        return S_OK;
    });
    std::vector<std::thread> writers;
    std::atomic<int> failures{0};
    for (int i = 0; i < 4; ++i) {
        writers.emplace_back([&, i] {
            int fd = open("Dir/B.bin", O_WRONLY);
            if (fd < 0 || ::pwrite(fd, "W", 1, i * 100) != 1) failures++;
            if (fd >= 0) ::close(fd);
        });
    }
    for (auto& w : writers)
        w.join();
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(provider.seen(), (Events{"PRE_CONVERT_TO_FULL Dir\\B.bin"}));
    EXPECT_EQ(fileState(at("Dir/B.bin")), PRJ_FILE_STATE_FULL);
    std::string content = readFile(at("Dir/B.bin"));
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(content[static_cast<size_t>(i) * 100], 'W');
}

TEST_F(NotificationTest, PreConvertToFullVetoFailsTheWrite)
{
    startWithMask(PRJ_NOTIFY_FILE_PRE_CONVERT_TO_FULL);
    EXPECT_EQ(readFile(at("Dir/B.bin")).size(), 10000u);
    provider.respondWith([](const Event&, PRJ_NOTIFICATION_PARAMETERS*) { return E_FAIL; });
    EXPECT_EQ(open("Dir/B.bin", O_WRONLY), -1);
    EXPECT_EQ(errno, EACCES);
    EXPECT_EQ(::truncate(at("Dir/B.bin").c_str(), 10), -1);
    EXPECT_EQ(errno, EACCES);
    EXPECT_EQ(readFile(at("Dir/B.bin")), std::string(10000, 'b'));
    EXPECT_EQ(fileState(at("Dir/B.bin")), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    EXPECT_EQ(provider.seen(), (Events{"PRE_CONVERT_TO_FULL Dir\\B.bin", "PRE_CONVERT_TO_FULL Dir\\B.bin"}));
}

TEST_F(NotificationTest, HandleClosedVariants)
{
    startWithMask(PRJ_NOTIFY_FILE_HANDLE_CLOSED_NO_MODIFICATION | PRJ_NOTIFY_FILE_HANDLE_CLOSED_FILE_MODIFIED |
                  PRJ_NOTIFY_FILE_HANDLE_CLOSED_FILE_DELETED);
    EXPECT_EQ(readFile(at("a.txt")), "hello\n");
    ASSERT_TRUE(seenCount(1));
    ASSERT_TRUE(writeNew("w.txt", "written"));
    ASSERT_TRUE(seenCount(2));
    // Deleted while open by two handles: the first close is a plain close, the last one reports the delete.
    int first = open("w.txt", O_RDWR);
    int second = open("w.txt", O_RDONLY);
    ASSERT_GE(first, 0);
    ASSERT_GE(second, 0);
    ASSERT_EQ(::pwrite(first, "more", 4, 7), 4);
    ASSERT_EQ(::unlink(at("w.txt").c_str()), 0);
    ASSERT_EQ(::close(second), 0);
    ASSERT_TRUE(seenCount(3));
    ASSERT_EQ(::close(first), 0);
    ASSERT_TRUE(seenCount(4));
    EXPECT_EQ(provider.seen(), (Events{"CLOSED_NO_MODIFICATION a.txt", "CLOSED_FILE_MODIFIED w.txt",
                                       "CLOSED_NO_MODIFICATION w.txt", "CLOSED_FILE_DELETED w.txt modified"}));
}

TEST_F(NotificationTest, MaskFromParametersLastsUntilHandlesClose)
{
    startWithMask(PRJ_NOTIFY_FILE_OPENED);
    std::atomic<bool> widen{true};
    provider.respondWith([&](const Event& e, PRJ_NOTIFICATION_PARAMETERS* params) {
        if (e.type == PRJ_NOTIFICATION_FILE_OPENED && widen.exchange(false)) {
            params->PostCreate.NotificationMask =
                static_cast<PRJ_NOTIFY_TYPES>(PRJ_NOTIFY_FILE_OPENED | PRJ_NOTIFY_FILE_HANDLE_CLOSED_NO_MODIFICATION);
        }
        return S_OK;
    });
    int fd1 = open("a.txt", O_RDONLY);
    int fd2 = open("a.txt", O_RDONLY);  // the provider leaves the mask as it is (0)
    ASSERT_GE(fd1, 0);
    ASSERT_GE(fd2, 0);
    ASSERT_EQ(::close(fd2), 0);
    ASSERT_TRUE(seenCount(3));
    ASSERT_EQ(::close(fd1), 0);
    ASSERT_TRUE(seenCount(4));
    // All handles closed: back to the mapping's mask (no close notification).
    int fd3 = open("a.txt", O_RDONLY);
    ASSERT_GE(fd3, 0);
    ASSERT_EQ(::close(fd3), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(provider.seen(), (Events{"OPENED a.txt", "OPENED a.txt", "CLOSED_NO_MODIFICATION a.txt",
                                       "CLOSED_NO_MODIFICATION a.txt", "OPENED a.txt"}));
}

TEST_F(NotificationTest, SuppressOverridesEverything)
{
    startWithMask(PRJ_NOTIFY_FILE_OPENED | PRJ_NOTIFY_FILE_HANDLE_CLOSED_NO_MODIFICATION | PRJ_NOTIFY_PRE_DELETE);
    std::atomic<bool> suppress{true};
    provider.respondWith([&](const Event& e, PRJ_NOTIFICATION_PARAMETERS* params) {
        if (e.type == PRJ_NOTIFICATION_FILE_OPENED && suppress.exchange(false)) {
            params->PostCreate.NotificationMask =
                static_cast<PRJ_NOTIFY_TYPES>(PRJ_NOTIFY_SUPPRESS_NOTIFICATIONS | PRJ_NOTIFY_FILE_OPENED |
                                              PRJ_NOTIFY_FILE_HANDLE_CLOSED_NO_MODIFICATION | PRJ_NOTIFY_PRE_DELETE);
        }
        return S_OK;
    });
    ASSERT_TRUE(writeNew("s.txt", "s"));  // NEW_FILE_CREATED is not in the mask
    int fd1 = open("s.txt", O_RDONLY);
    ASSERT_GE(fd1, 0);
    int fd2 = open("s.txt", O_RDONLY);
    ASSERT_GE(fd2, 0);
    ASSERT_EQ(::unlink(at("s.txt").c_str()), 0);  // no PRE_DELETE while suppressed
    ASSERT_EQ(::close(fd2), 0);
    ASSERT_EQ(::close(fd1), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(readFile(at("a.txt")), "hello\n");  // another file: not suppressed
    ASSERT_TRUE(seenCount(3));
    EXPECT_EQ(provider.seen(), (Events{"OPENED s.txt", "OPENED a.txt", "CLOSED_NO_MODIFICATION a.txt"}));
}

TEST_F(NotificationTest, PendedNotificationCompletedFromAnotherThreadWithNewMask)
{
    startWithMask(PRJ_NOTIFY_FILE_OPENED | PRJ_NOTIFY_PRE_DELETE);
    provider.respondWith(
        [](const Event&, PRJ_NOTIFICATION_PARAMETERS*) { return HRESULT_FROM_WIN32(ERROR_IO_PENDING); });
    std::atomic<int> opened{-2};
    std::thread opener([&] { opened = open("a.txt", O_RDONLY); });
    ASSERT_TRUE(seenCount(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(opened, -2);  // the open waits for the provider
    PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS ext{};
    ext.CommandType = PRJ_COMPLETE_COMMAND_TYPE_NOTIFICATION;
    ext.Notification.NotificationMask = PRJ_NOTIFY_FILE_HANDLE_CLOSED_NO_MODIFICATION;
    std::thread completer(
        [&] { EXPECT_EQ(PrjCompleteCommand(provider.context(), provider.last().commandId, S_OK, &ext), S_OK); });
    completer.join();
    opener.join();
    ASSERT_GE(opened, 0);
    provider.respondWith({});
    ASSERT_EQ(::close(opened), 0);
    ASSERT_TRUE(seenCount(2));
    EXPECT_EQ(provider.seen(), (Events{"OPENED a.txt", "CLOSED_NO_MODIFICATION a.txt"}));

    // A pended PRE_DELETE completed with a failure vetoes the delete.
    provider.clear();
    provider.respondWith(
        [](const Event&, PRJ_NOTIFICATION_PARAMETERS*) { return HRESULT_FROM_WIN32(ERROR_IO_PENDING); });
    std::atomic<int> unlinked{1}, unlinkErrno{0};
    std::thread remover([&] {
        unlinked = ::unlink(at("other.txt").c_str());
        unlinkErrno = errno;
    });
    ASSERT_TRUE(seenCount(1));
    EXPECT_EQ(PrjCompleteCommand(provider.context(), provider.last().commandId, E_FAIL, nullptr), S_OK);
    remover.join();
    EXPECT_EQ(unlinked, -1);
    EXPECT_EQ(unlinkErrno, EACCES);
    provider.respondWith({});  // the read below sends FILE_OPENED
    EXPECT_EQ(readFile(at("other.txt")), "other\n");
}

TEST_F(NotificationTest, ProviderOwnIoIsNotNotified)
{
    startWithMask(PRJ_NOTIFY_FILE_OPENED | PRJ_NOTIFY_NEW_FILE_CREATED | PRJ_NOTIFY_FILE_HANDLE_CLOSED_FILE_MODIFIED |
                  PRJ_NOTIFY_FILE_HANDLE_CLOSED_NO_MODIFICATION | PRJ_NOTIFY_PRE_DELETE);
    std::string path = at("own.txt");
    std::atomic<bool> ownIoOk{false};
    provider.respondWith([&](const Event& e, PRJ_NOTIFICATION_PARAMETERS*) {
        if (e.type != PRJ_NOTIFICATION_FILE_OPENED) return S_OK;
        // The provider's own I/O in its root, from inside the callback: create, reopen, delete.
        FILE* f = std::fopen(path.c_str(), "w");
        bool ok = f != nullptr && std::fputs("own", f) >= 0;
        if (f) ok = std::fclose(f) == 0 && ok;
        ok = ok && readFile(path) == "own" && ::unlink(path.c_str()) == 0;
        ownIoOk = ok;
        return S_OK;
    });
    EXPECT_EQ(readFile(at("a.txt")), "hello\n");
    EXPECT_TRUE(ownIoOk);
    ASSERT_TRUE(seenCount(2));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(provider.seen(), (Events{"OPENED a.txt", "CLOSED_NO_MODIFICATION a.txt"}));
}

}  // namespace
}  // namespace hc::projfs::test
