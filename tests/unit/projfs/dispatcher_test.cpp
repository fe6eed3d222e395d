// The Dispatcher driven without a mount: a fake channel plays the kernel (it calls the dispatcher the way
// fuse_handlers.cpp does and keeps each answer), and a fake provider leaves every callback pending until
// the test completes it. Hydration, notifications and enumeration sessions, including the races (cancel vs
// complete, an inode forgotten while its hydration runs, a handle closed from inside a callback), are
// exercised step by step: the test triggers each completion, nothing sleeps.
#include "projfs/core/dispatcher.h"
#include "base/hresult.h"
#include "projfs/core/dir_entry_buffer.h"
#include "projfs/core/lock_rank.h"
#include "projfs/core/virtualization_instance.h"
#include "projfs/store/backing_store.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hc::projfs {
namespace {

const HRESULT kPending = HRESULT_FROM_WIN32(ERROR_IO_PENDING);

// One provider callback the fake provider received.
struct Call {
    std::string kind;  // "placeholder", "data", "start", "get", "end", "notify", "cancel"
    int32_t commandId = 0;
    std::wstring path;
    GUID stream{};
    PRJ_NOTIFICATION notification{};
};

// The provider: records every callback; by default leaves it pending (the test completes it). Callbacks
// run on the thread that called the dispatcher, or (for a hydration's next request) the executor.
class FakeProvider {
public:
    std::mutex mutex;
    std::vector<Call> calls;
    bool pend = true;  // GetPlaceholderInfo / GetFileData / Get / notifications pend
    HRESULT notificationResult = S_OK;
    std::function<void(const Call&)> onNotification;  // runs inside the notification callback

    static FakeProvider& of(const PRJ_CALLBACK_DATA* data)
    {
        return *static_cast<FakeProvider*>(data->InstanceContext);
    }

    HRESULT record(Call call, bool pends)
    {
        std::lock_guard lock(mutex);
        calls.push_back(std::move(call));
        return pends ? kPending : S_OK;
    }
    std::vector<Call> callsOf(const std::string& kind)
    {
        std::lock_guard lock(mutex);
        std::vector<Call> out;
        for (const auto& c : calls)
            if (c.kind == kind) out.push_back(c);
        return out;
    }

    static HRESULT CALLBACK placeholderInfo(const PRJ_CALLBACK_DATA* data)
    {
        auto& p = of(data);
        return p.record({"placeholder", data->CommandId, data->FilePathName, {}, {}}, p.pend);
    }
    static HRESULT CALLBACK fileData(const PRJ_CALLBACK_DATA* data, UINT64, UINT32)
    {
        auto& p = of(data);
        return p.record({"data", data->CommandId, data->FilePathName, data->DataStreamId, {}}, p.pend);
    }
    static HRESULT CALLBACK start(const PRJ_CALLBACK_DATA* data, const GUID*)
    {
        return of(data).record({"start", data->CommandId, data->FilePathName, {}, {}}, false);
    }
    static HRESULT CALLBACK get(const PRJ_CALLBACK_DATA* data, const GUID*, PCWSTR, PRJ_DIR_ENTRY_BUFFER_HANDLE buffer)
    {
        auto& p = of(data);
        if (p.pend) return p.record({"get", data->CommandId, data->FilePathName, {}, {}}, true);
        // Synchronous: two virtual entries the first time, nothing after.
        bool first = p.callsOf("get").empty();
        (void)p.record({"get", data->CommandId, data->FilePathName, {}, {}}, false);
        if (!first) return S_OK;
        PRJ_FILE_BASIC_INFO info{};
        info.FileSize = 3;
        for (const wchar_t* name : {L"v1", L"v2"}) {
            HRESULT hr =
                DirEntryBuffer::withBuffer(buffer, [&](DirEntryBuffer& b) { return b.add(name, &info, nullptr); });
            if (FAILED(hr)) return hr;
        }
        return S_OK;
    }
    static HRESULT CALLBACK end(const PRJ_CALLBACK_DATA* data, const GUID*)
    {
        return of(data).record({"end", data->CommandId, data->FilePathName, {}, {}}, false);
    }
    static HRESULT CALLBACK notify(const PRJ_CALLBACK_DATA* data, BOOLEAN, PRJ_NOTIFICATION type, PCWSTR,
                                   PRJ_NOTIFICATION_PARAMETERS*)
    {
        auto& p = of(data);
        Call call{"notify", data->CommandId, data->FilePathName, {}, type};
        bool pends = p.pend;
        (void)p.record(call, pends);
        if (p.onNotification) p.onNotification(call);
        return pends ? kPending : p.notificationResult;
    }
    static void CALLBACK cancel(const PRJ_CALLBACK_DATA* data)
    {
        (void)of(data).record({"cancel", data->CommandId, {}, {}, {}}, false);
    }
};

// One answer the fake channel is waiting for: filled exactly once by the dispatcher's completion.
template <typename T>
class Answer {
public:
    Completion<T> completion()
    {
        return [this](Result<T> result) {
            std::lock_guard lock(mutex_);
            ++times_;
            result_.emplace(std::move(result));
            cv_.notify_all();
        };
    }
    bool answered()
    {
        std::lock_guard lock(mutex_);
        return result_.has_value();
    }
    // Waits for an answer that is on its way (a continuation on the executor), never for one that may not come.
    Result<T>& get()
    {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return result_.has_value(); });
        return *result_;
    }
    int times()
    {
        std::lock_guard lock(mutex_);
        return times_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::optional<Result<T>> result_;
    int times_ = 0;
};

class DispatcherTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char dir[] = "/tmp/projfs-dispatcher-XXXXXX";
        ASSERT_NE(::mkdtemp(dir), nullptr);
        root_ = dir;
        start();
    }
    void TearDown() override
    {
        if (instance_) instance_->stop();
        dispatcher_.reset();
        instance_.reset();
        std::filesystem::remove_all(root_);
    }

    void start(bool withNotifications = false)
    {
        auto store = BackingStore::open(root_);
        ASSERT_TRUE(store.ok()) << store.error().message;
        InstanceOptions options;
        options.callbacks.GetPlaceholderInfoCallback = FakeProvider::placeholderInfo;
        options.callbacks.GetFileDataCallback = FakeProvider::fileData;
        options.callbacks.StartDirectoryEnumerationCallback = FakeProvider::start;
        options.callbacks.GetDirectoryEnumerationCallback = FakeProvider::get;
        options.callbacks.EndDirectoryEnumerationCallback = FakeProvider::end;
        options.callbacks.CancelCommandCallback = FakeProvider::cancel;
        if (withNotifications) options.callbacks.NotificationCallback = FakeProvider::notify;
        options.instanceContext = &provider_;
        options.concurrentThreadCount = 4;
        options.poolThreadCount = 8;
        // Every notification for the whole root (0x1FFE: all but SUPPRESS_NOTIFICATIONS).
        PRJ_NOTIFICATION_MAPPING everything{static_cast<PRJ_NOTIFY_TYPES>(0x1FFE), L""};
        auto mappings = parseNotificationMappings(&everything, 1);
        ASSERT_TRUE(mappings.ok());
        options.notificationMappings = *mappings;
        if (instance_) instance_->stop();
        dispatcher_.reset();
        instance_ = std::make_unique<VirtualizationInstance>(std::move(store).value(), options);
        dispatcher_ = std::make_unique<Dispatcher>(*instance_);
    }

    // The provider answers a pending GetPlaceholderInfo for `name` with a file of `size` bytes.
    void placeFile(const wchar_t* name, int64_t size)
    {
        PRJ_PLACEHOLDER_INFO info{};
        info.FileBasicInfo.FileSize = size;
        ASSERT_EQ(instance_->writePlaceholderInfo(name, &info, sizeof info, nullptr), S_OK);
    }
    std::shared_ptr<EnumerationSession> openRoot()
    {
        Answer<std::shared_ptr<EnumerationSession>> opened;
        dispatcher_->opendir(RequestContext{}, InodeMap::kRoot, opened.completion());
        EXPECT_TRUE(opened.answered());
        auto& result = opened.get();
        EXPECT_TRUE(result.ok());
        return result.ok() ? *result : nullptr;
    }
    void complete(int32_t commandId, HRESULT hr = S_OK)
    {
        ASSERT_EQ(instance_->completeCommand(commandId, hr, nullptr), S_OK);
    }
    // Looks `name` up in the root, answering the provider's GetPlaceholderInfo with a `size`-byte file.
    uint64_t lookUpFile(const std::string& name, int64_t size)
    {
        Answer<EntryAnswer> entry;
        dispatcher_->lookup(RequestContext{}, InodeMap::kRoot, name, entry.completion());
        EXPECT_FALSE(entry.answered());  // GetPlaceholderInfo is pending
        auto asked = provider_.callsOf("placeholder");
        EXPECT_FALSE(asked.empty());
        if (asked.empty()) return 0;
        placeFile(std::wstring(name.begin(), name.end()).c_str(), size);
        complete(asked.back().commandId);
        EXPECT_TRUE(entry.answered());
        auto& result = entry.get();
        EXPECT_TRUE(result.ok());
        return result.ok() ? result->ino : 0;
    }
    ItemState diskState(const std::string& rel)
    {
        auto record = instance_->store().readRecord(rel);
        EXPECT_TRUE(record.ok());
        return record.ok() ? record->state : ItemState::Full;
    }
    // Opens `ino` for reading: the open waits for the one GetFileData it caused, returned.
    Call openPending(uint64_t ino, const RequestContext& ctx, Answer<std::unique_ptr<OpenFile>>& open)
    {
        dispatcher_->open(ctx, ino, O_RDONLY, open.completion());
        EXPECT_FALSE(open.answered());
        auto requests = provider_.callsOf("data");
        EXPECT_FALSE(requests.empty());
        return requests.empty() ? Call{} : requests.back();
    }
    // Delivers all of `size` bytes for the pending GetFileData `call` and completes it.
    void deliver(const Call& call, size_t size, char fill = 'x')
    {
        std::vector<char> data(size, fill);
        ASSERT_EQ(instance_->writeFileData(&call.stream, data.data(), 0, static_cast<UINT32>(size)), S_OK);
        complete(call.commandId);
    }

    std::string root_;
    FakeProvider provider_;
    std::unique_ptr<VirtualizationInstance> instance_;
    std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, ConcurrentOpensShareOneHydration)
{
    uint64_t ino = lookUpFile("a.txt", 5);
    Answer<std::unique_ptr<OpenFile>> first, second;
    dispatcher_->open(RequestContext{}, ino, O_RDONLY, first.completion());
    dispatcher_->open(RequestContext{}, ino, O_RDONLY, second.completion());
    auto requests = provider_.callsOf("data");
    ASSERT_EQ(requests.size(), 1u);  // the second open joined the first's stream
    EXPECT_FALSE(first.answered());
    EXPECT_FALSE(second.answered());

    deliver(requests[0], 5);
    ASSERT_TRUE(first.get().ok());
    ASSERT_TRUE(second.get().ok());
    EXPECT_EQ(first.times(), 1);
    EXPECT_EQ(diskState("a.txt"), ItemState::HydratedPlaceholder);
    // The cached record was written through: another open asks nothing.
    Answer<std::unique_ptr<OpenFile>> third;
    dispatcher_->open(RequestContext{}, ino, O_RDONLY, third.completion());
    ASSERT_TRUE(third.answered());
    EXPECT_EQ(provider_.callsOf("data").size(), 1u);
    // Every open of the file holds the same Inode.
    EXPECT_EQ(&(*first.get())->inode(), &(*third.get())->inode());
}

TEST_F(DispatcherTest, CancelBeforeCompletionAbortsAndTheLateCompletionIsHarmless)
{
    uint64_t ino = lookUpFile("b.txt", 4096);
    RequestContext ctx;
    Answer<std::unique_ptr<OpenFile>> open;
    Call request = openPending(ino, ctx, open);

    ctx.interruption->fire();  // the only waiter leaves: the request is cancelled
    ASSERT_TRUE(open.answered());
    EXPECT_EQ(errnoForCaller(open.get().hr()), ECANCELED);
    auto cancels = provider_.callsOf("cancel");
    ASSERT_EQ(cancels.size(), 1u);
    EXPECT_EQ(cancels[0].commandId, request.commandId);

    // The provider did not see the cancellation in time: its data and completion arrive late.
    std::vector<char> data(4096, 'y');
    EXPECT_EQ(instance_->writeFileData(&request.stream, data.data(), 0, 4096),
              HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE));
    EXPECT_EQ(instance_->completeCommand(request.commandId, S_OK, nullptr), S_OK);  // a no-op
    EXPECT_EQ(open.times(), 1);
    EXPECT_EQ(diskState("b.txt"), ItemState::Placeholder);

    // The next open starts over with a new stream.
    Answer<std::unique_ptr<OpenFile>> again;
    Call retry = openPending(ino, RequestContext{}, again);
    EXPECT_EQ(provider_.callsOf("data").size(), 2u);
    EXPECT_NE(std::memcmp(&request.stream, &retry.stream, sizeof(GUID)), 0);
    deliver(retry, 4096);
    ASSERT_TRUE(again.get().ok());
}

TEST_F(DispatcherTest, CompletionBeforeCancelWins)
{
    uint64_t ino = lookUpFile("c.txt", 7);
    RequestContext ctx;
    Answer<std::unique_ptr<OpenFile>> open;
    deliver(openPending(ino, ctx, open), 7);
    ASSERT_TRUE(open.get().ok());
    ctx.interruption->fire();  // too late: nothing happens
    EXPECT_EQ(open.times(), 1);
    EXPECT_TRUE(provider_.callsOf("cancel").empty());
    EXPECT_EQ(diskState("c.txt"), ItemState::HydratedPlaceholder);
}

TEST_F(DispatcherTest, InodeForgottenWhileItsHydrationRunsStaysUntilTheHandleCloses)
{
    uint64_t ino = lookUpFile("d.txt", 9);
    Answer<std::unique_ptr<OpenFile>> open;
    Call request = openPending(ino, RequestContext{}, open);
    auto inode = dispatcher_->inodes().get(ino);
    ASSERT_NE(inode, nullptr);
    dispatcher_->forget(ino, 1);                       // the kernel dropped its only lookup reference mid-hydration
    EXPECT_EQ(dispatcher_->inodes().get(ino), inode);  // pinned by the hydration

    deliver(request, 9);
    ASSERT_TRUE(open.get().ok());
    EXPECT_EQ(dispatcher_->inodes().get(ino), inode);  // now pinned by the open file
    Answer<void> released;
    dispatcher_->release(RequestContext{}, ino, std::move(open.get().value()), released.completion());
    ASSERT_TRUE(released.answered());
    EXPECT_EQ(dispatcher_->inodes().get(ino), nullptr);  // nobody holds it any more
    EXPECT_EQ(diskState("d.txt"), ItemState::HydratedPlaceholder);
}

TEST_F(DispatcherTest, RacingWritersShareOneConvertToFullNotification)
{
    start(/*withNotifications=*/true);
    provider_.pend = false;  // lookups and data answer at once
    Answer<EntryAnswer> entry;
    placeFile(L"e.txt", 0);  // already on disk: the lookup asks the provider nothing
    dispatcher_->lookup(RequestContext{}, InodeMap::kRoot, "e.txt", entry.completion());
    ASSERT_TRUE(entry.get().ok());
    uint64_t ino = entry.get()->ino;

    provider_.pend = true;  // from here notifications pend
    Answer<std::unique_ptr<OpenFile>> w1, w2;
    dispatcher_->open(RequestContext{}, ino, O_WRONLY, w1.completion());
    dispatcher_->open(RequestContext{}, ino, O_WRONLY, w2.completion());
    auto asked = provider_.callsOf("notify");
    ASSERT_EQ(asked.size(), 1u);
    EXPECT_EQ(asked[0].notification, PRJ_NOTIFICATION_FILE_PRE_CONVERT_TO_FULL);
    EXPECT_FALSE(w1.answered());
    EXPECT_FALSE(w2.answered());

    provider_.pend = false;  // the FILE_OPENED notifications that follow answer at once
    complete(asked[0].commandId);
    ASSERT_TRUE(w1.get().ok());
    ASSERT_TRUE(w2.get().ok());
    EXPECT_EQ(diskState("e.txt"), ItemState::Full);
    size_t converts = 0;
    for (const auto& call : provider_.callsOf("notify"))
        converts += call.notification == PRJ_NOTIFICATION_FILE_PRE_CONVERT_TO_FULL;
    EXPECT_EQ(converts, 1u);
}

TEST_F(DispatcherTest, PendingPreDeleteVetoAnswersAccessDenied)
{
    start(/*withNotifications=*/true);
    ASSERT_EQ(::close(::open((root_ + "/local.txt").c_str(), O_CREAT | O_WRONLY, 0644)), 0);
    Answer<EntryAnswer> entry;
    dispatcher_->lookup(RequestContext{}, InodeMap::kRoot, "local.txt", entry.completion());
    ASSERT_TRUE(entry.get().ok());

    Answer<void> removed;
    dispatcher_->unlink(RequestContext{}, InodeMap::kRoot, "local.txt", removed.completion());
    auto asked = provider_.callsOf("notify");
    ASSERT_EQ(asked.size(), 1u);
    EXPECT_EQ(asked[0].notification, PRJ_NOTIFICATION_PRE_DELETE);
    EXPECT_FALSE(removed.answered());
    complete(asked[0].commandId, E_FAIL);  // the provider vetoes
    ASSERT_TRUE(removed.answered());
    EXPECT_EQ(errnoForCaller(removed.get().hr()), EACCES);
    EXPECT_TRUE(std::filesystem::exists(root_ + "/local.txt"));
}

TEST_F(DispatcherTest, HandleClosedFromInsideANotificationCallback)
{
    start(/*withNotifications=*/true);
    provider_.pend = false;
    ASSERT_EQ(::close(::open((root_ + "/f.txt").c_str(), O_CREAT | O_WRONLY, 0644)), 0);
    Answer<EntryAnswer> entry;
    dispatcher_->lookup(RequestContext{}, InodeMap::kRoot, "f.txt", entry.completion());
    ASSERT_TRUE(entry.get().ok());
    uint64_t ino = entry.get()->ino;
    Answer<std::unique_ptr<OpenFile>> first;
    dispatcher_->open(RequestContext{}, ino, O_RDONLY, first.completion());
    ASSERT_TRUE(first.get().ok());

    // While the provider handles the second open's FILE_OPENED, the first handle is released.
    Answer<void> released;
    bool closedInside = false;
    provider_.onNotification = [&](const Call& call) {
        if (call.notification != PRJ_NOTIFICATION_FILE_OPENED || closedInside) return;
        closedInside = true;
        dispatcher_->release(RequestContext{}, ino, std::move(first.get().value()), released.completion());
    };
    Answer<std::unique_ptr<OpenFile>> second;
    dispatcher_->open(RequestContext{}, ino, O_RDONLY, second.completion());
    ASSERT_TRUE(closedInside);
    ASSERT_TRUE(released.answered());
    ASSERT_TRUE(second.get().ok());
    std::vector<PRJ_NOTIFICATION> order;
    for (const auto& call : provider_.callsOf("notify"))
        order.push_back(call.notification);
    EXPECT_EQ(order, (std::vector<PRJ_NOTIFICATION>{PRJ_NOTIFICATION_FILE_OPENED, PRJ_NOTIFICATION_FILE_OPENED,
                                                    PRJ_NOTIFICATION_FILE_HANDLE_CLOSED_NO_MODIFICATION}));
    // The file's notification state survived the nested close: the second handle is still counted.
    {
        auto inode = dispatcher_->inodes().get(ino);
        ASSERT_NE(inode, nullptr);
        std::lock_guard lock(inode->mutex);
        EXPECT_EQ(inode->notify.handles, 1u);
    }
    Answer<void> closed;
    dispatcher_->release(RequestContext{}, ino, std::move(second.get().value()), closed.completion());
    ASSERT_TRUE(closed.answered());
}

TEST_F(DispatcherTest, EnumerationListsProviderAndDiskEntries)
{
    provider_.pend = false;
    ASSERT_EQ(::close(::open((root_ + "/local").c_str(), O_CREAT | O_WRONLY, 0644)), 0);
    auto session = openRoot();
    Answer<void> listed;
    dispatcher_->readdir(RequestContext{}, *session, 0, 64 * 1024, listed.completion());
    ASSERT_TRUE(listed.get().ok());
    std::vector<std::string> names;
    for (size_t i = 0; i < session->entries().size(); ++i) {
        DirEntryAnswer e = dispatcher_->directoryEntry(InodeMap::kRoot, *session, i, /*plus=*/false);
        names.push_back(e.name);
        EXPECT_EQ(e.ino, 0u) << e.name;  // plain readdir: the kernel caches no entry
        EXPECT_NE(e.attr.st_ino, 0u);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"local", "v1", "v2"}));
    EXPECT_FALSE(std::filesystem::exists(root_ + "/v1"));
    session->close();
    EXPECT_EQ(provider_.callsOf("end").size(), 1u);
}

// READDIRPLUS answers the provider's entries from the listing: a listed node with the listing's attributes,
// no GetPlaceholderInfo and nothing on disk until something opens the item.
TEST_F(DispatcherTest, ListedItemsNeedNoPlaceholderUntilOpened)
{
    provider_.pend = false;
    auto session = openRoot();
    Answer<void> listed;
    dispatcher_->readdir(RequestContext{}, *session, 0, 64 * 1024, listed.completion());
    ASSERT_TRUE(listed.get().ok());
    ASSERT_EQ(session->entries().size(), 2u);
    DirEntryAnswer v1 = dispatcher_->directoryEntry(InodeMap::kRoot, *session, 0, /*plus=*/true);
    ASSERT_EQ(v1.name, "v1");
    ASSERT_NE(v1.ino, 0u);
    EXPECT_TRUE(S_ISREG(v1.attr.st_mode));
    EXPECT_EQ(v1.attr.st_size, 3);
    auto attr = dispatcher_->getattr(v1.ino, nullptr);
    ASSERT_TRUE(attr.ok());
    EXPECT_EQ(attr->st_size, 3);
    EXPECT_EQ(attr->st_ino, v1.attr.st_ino);
    // A lookup of a listed name (any case) answers from the listing.
    Answer<EntryAnswer> v2;
    dispatcher_->lookup(RequestContext{}, InodeMap::kRoot, "V2", v2.completion());
    ASSERT_TRUE(v2.answered());
    ASSERT_TRUE(v2.get().ok());
    EXPECT_EQ(v2.get()->attr.st_size, 3);
    Answer<XattrAnswer> noXattr;
    dispatcher_->getxattr(RequestContext{}, v1.ino, "user.x", 0, noXattr.completion());
    ASSERT_TRUE(noXattr.answered());
    EXPECT_EQ(errnoForCaller(noXattr.get().hr()), ENODATA);
    EXPECT_TRUE(provider_.callsOf("placeholder").empty());
    EXPECT_FALSE(std::filesystem::exists(root_ + "/v1"));
    EXPECT_FALSE(std::filesystem::exists(root_ + "/v2"));
    session->close();

    // Opening writes the placeholder (the provider now says 5 bytes); the node id stays, and the transport
    // is told to drop the listed attributes it gave the kernel.
    std::vector<uint64_t> materialized;
    dispatcher_->setMaterializedListener([&](uint64_t ino) { materialized.push_back(ino); });
    provider_.pend = true;
    Answer<std::unique_ptr<OpenFile>> open;
    dispatcher_->open(RequestContext{}, v1.ino, O_RDONLY, open.completion());
    auto asked = provider_.callsOf("placeholder");
    ASSERT_EQ(asked.size(), 1u);
    EXPECT_EQ(asked[0].path, L"v1");
    placeFile(L"v1", 5);
    complete(asked[0].commandId);
    auto data = provider_.callsOf("data");
    ASSERT_EQ(data.size(), 1u);
    deliver(data[0], 5);
    ASSERT_TRUE(open.get().ok());
    EXPECT_EQ(materialized, std::vector<uint64_t>{v1.ino});
    EXPECT_TRUE(std::filesystem::exists(root_ + "/v1"));
    auto now = dispatcher_->getattr(v1.ino, nullptr);
    ASSERT_TRUE(now.ok());
    EXPECT_EQ(now->st_size, 5);
    EXPECT_FALSE(dispatcher_->inodes().listedAttributes(v1.ino).has_value());
    Answer<void> released;
    dispatcher_->release(RequestContext{}, v1.ino, std::move(open.get().value()), released.completion());
    ASSERT_TRUE(released.answered());
}

// Deleting a listed item writes its placeholder first, so the delete leaves a tombstone and the name stays
// gone from later listings and lookups.
TEST_F(DispatcherTest, DeletingAListedItemLeavesATombstone)
{
    provider_.pend = false;
    auto session = openRoot();
    Answer<void> listed;
    dispatcher_->readdir(RequestContext{}, *session, 0, 64 * 1024, listed.completion());
    ASSERT_TRUE(listed.get().ok());
    DirEntryAnswer v2 = dispatcher_->directoryEntry(InodeMap::kRoot, *session, 1, /*plus=*/true);
    ASSERT_EQ(v2.name, "v2");
    ASSERT_NE(v2.ino, 0u);
    session->close();
    provider_.pend = true;
    Answer<void> removed;
    dispatcher_->unlink(RequestContext{}, InodeMap::kRoot, "v2", removed.completion());
    auto asked = provider_.callsOf("placeholder");
    ASSERT_EQ(asked.size(), 1u);
    placeFile(L"v2", 3);
    complete(asked[0].commandId);
    ASSERT_TRUE(removed.get().ok());
    EXPECT_EQ(diskState("v2"), ItemState::Tombstone);
    Answer<EntryAnswer> again;
    dispatcher_->lookup(RequestContext{}, InodeMap::kRoot, "v2", again.completion());
    ASSERT_TRUE(again.answered());
    EXPECT_EQ(errnoForCaller(again.get().hr()), ENOENT);
}

// A listing the provider changed (PrjInvalidateDirectoryListing and the other provider calls) is not used
// for lookups any more: the next lookup asks the provider.
TEST_F(DispatcherTest, AChangedListingIsNotUsedForLookups)
{
    provider_.pend = false;
    auto session = openRoot();
    Answer<void> listed;
    dispatcher_->readdir(RequestContext{}, *session, 0, 64 * 1024, listed.completion());
    ASSERT_TRUE(listed.get().ok());
    session->close();
    ASSERT_TRUE(instance_->listedChild("", "v1").has_value());
    instance_->notifyListingChanged("");
    EXPECT_FALSE(instance_->listedChild("", "v1").has_value());
    provider_.pend = true;
    Answer<EntryAnswer> entry;
    dispatcher_->lookup(RequestContext{}, InodeMap::kRoot, "v1", entry.completion());
    EXPECT_FALSE(entry.answered());
    auto asked = provider_.callsOf("placeholder");
    ASSERT_EQ(asked.size(), 1u);
    complete(asked[0].commandId, HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));  // the provider removed it
    ASSERT_TRUE(entry.answered());
    EXPECT_EQ(errnoForCaller(entry.get().hr()), ENOENT);
}

// Node ids are never reused while the map lives: a backing inode number that comes back for a new file
// (ext4 reuses freed inodes) gets a new node id, so the kernel never takes the new file for the old one.
TEST(InodeMapTest, AReusedBackingInodeGetsANewNodeId)
{
    InodeMap map(2);
    uint64_t dir = map.remember(InodeMap::kRoot, "old", 100);
    EXPECT_NE(dir, InodeMap::kRoot);
    EXPECT_NE(dir, 100u);                 // not the backing number
    map.removed(InodeMap::kRoot, "old");  // rmdir; the kernel still holds its lookup
    uint64_t reused = map.remember(InodeMap::kRoot, "new", 100);
    EXPECT_NE(reused, dir);
    map.forget(dir, 1);
    map.forget(reused, 1);
    // Forgotten entirely, then seen again: still a new id.
    uint64_t again = map.remember(InodeMap::kRoot, "new", 100);
    EXPECT_NE(again, reused);
    EXPECT_NE(again, dir);
    // The same file under a second name (a hard link) keeps its node while attached.
    EXPECT_EQ(map.remember(InodeMap::kRoot, "link", 100), again);
    // The root's backing inode is the root.
    EXPECT_EQ(map.remember(InodeMap::kRoot, "..", 2), InodeMap::kRoot);
}

TEST(InodeMapTest, AListedNodeKeepsItsIdWhenItsFileAppears)
{
    InodeMap map(2);
    struct stat attr {};
    attr.st_mode = S_IFREG | 0644;
    attr.st_size = 7;
    auto listed = map.rememberListed(InodeMap::kRoot, "f", attr);
    ASSERT_TRUE(listed.has_value());
    EXPECT_EQ(map.rememberListed(InodeMap::kRoot, "f", attr), listed);
    ASSERT_TRUE(map.listedAttributes(*listed).has_value());
    EXPECT_EQ(map.listedAttributes(*listed)->st_size, 7);
    // A lookup that found the placeholder on disk adopts the listed node.
    EXPECT_EQ(map.remember(InodeMap::kRoot, "f", 300), *listed);
    EXPECT_FALSE(map.listedAttributes(*listed).has_value());
    // An on-disk item holds the name: no listed node there.
    EXPECT_FALSE(map.rememberListed(InodeMap::kRoot, "f", attr).has_value());
    // The listing changed: listed children are detached and named for the kernel to drop.
    auto other = map.rememberListed(InodeMap::kRoot, "g", attr);
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ(map.detachListedChildren(InodeMap::kRoot), std::vector<std::string>{"g"});
    EXPECT_FALSE(map.child(InodeMap::kRoot, "g").has_value());
    EXPECT_TRUE(map.child(InodeMap::kRoot, "f").has_value());
}

TEST_F(DispatcherTest, InterruptedEnumerationIsCancelledAndEndedOnce)
{
    auto session = openRoot();
    RequestContext ctx;
    Answer<void> listed;
    dispatcher_->readdir(ctx, *session, 0, 64 * 1024, listed.completion());
    auto gets = provider_.callsOf("get");
    ASSERT_EQ(gets.size(), 1u);
    EXPECT_FALSE(listed.answered());

    ctx.interruption->fire();
    ASSERT_TRUE(listed.answered());
    EXPECT_EQ(errnoForCaller(listed.get().hr()), ECANCELED);
    ASSERT_EQ(provider_.callsOf("cancel").size(), 1u);
    session->close();  // releasedir after the interrupted readdir
    session->close();  // idempotent
    EXPECT_EQ(provider_.callsOf("end").size(), 1u);
    EXPECT_EQ(instance_->completeCommand(gets[0].commandId, S_OK, nullptr), S_OK);  // late: a no-op
    EXPECT_EQ(listed.times(), 1);
}

TEST(DispatcherErrnoTest, SystemCallErrorsKeepTheirErrno)
{
    for (int err : {EPERM, ERANGE, ENODATA, ENOTEMPTY, EXDEV, E2BIG}) {
        EXPECT_EQ(errnoCarriedBy(errnoHresult(err)), err);
        EXPECT_EQ(errnoForCaller(errnoHresult(err)), err);
    }
    EXPECT_EQ(errnoCarriedBy(E_ACCESSDENIED), 0);
    EXPECT_EQ(errnoForCaller(E_ACCESSDENIED), EACCES);
    EXPECT_EQ(errnoForCaller(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)), ENOENT);
    EXPECT_EQ(errnoForCaller(static_cast<HRESULT>(0x80041234)), EIO);  // unknown failures are EIO
}

TEST(LockRankTest, InOrderAcquisitionIsAllowed)
{
    RankedMutex<LockRank::Inode> inode;
    RankedMutex<LockRank::InodeMap> map;
    std::lock_guard outer(inode);
    std::lock_guard inner(map);
    EXPECT_TRUE(lock_rank::holds(LockRank::Inode));
}

#ifndef NDEBUG
TEST(LockRankDeathTest, OutOfOrderAcquisitionAssertsInDebugBuilds)
{
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            RankedMutex<LockRank::InodeMap> map;
            RankedMutex<LockRank::Inode> inode;
            std::lock_guard outer(map);
            std::lock_guard inner(inode);  // an Inode lock under the map's: the order says no
        },
        "lock order");
}
#endif

}  // namespace
}  // namespace hc::projfs
