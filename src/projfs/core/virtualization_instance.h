// VirtualizationInstance: one running provider (PrjStartVirtualizing .. PrjStopVirtualizing). It gives
// the file system its ProjFS meaning — which names exist (GetPlaceholderInfo), what a file contains
// (GetFileData, via Hydrator), what a directory lists (EnumerationSession) and what deleting leaves
// behind (tombstones) — and serves the provider's calls back into ProjFS (PrjWritePlaceholderInfo,
// PrjWriteFileData, PrjCompleteCommand). It never sees a FUSE type: the transport calls it with
// root-relative paths and a RequestContext, and gets answers through continuations.
//
// Threads: the transport's threads call in; provider callbacks run on them (at most
// ConcurrentThreadCount at once); asynchronous completions arrive on the provider's threads; a
// SerialExecutor runs continuations that must not run on a provider thread. Lifecycle: constructed by
// PrjStartVirtualizing before the mount, stop() before the unmount, destroyed after it.
#pragma once

#include "base/result.h"
#include "projfs/core/callback_slots.h"
#include "projfs/core/command_table.h"
#include "projfs/core/executor.h"
#include "projfs/core/inode.h"
#include "projfs/core/lock_rank.h"
#include "projfs/core/negative_path_cache.h"
#include "projfs/core/notifications.h"
#include "projfs/core/request_context.h"
#include "projfs/core/shared_lookups.h"
#include "projfs/core/triggering_process.h"
#include "projfs/names/names.h"
#include "projfs/store/backing_store.h"

#include <projectedfslib.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace hc::projfs {

class Hydrator;
class EnumerationSession;

struct InstanceOptions {
    PRJ_CALLBACKS callbacks{};
    void* instanceContext = nullptr;
    GUID instanceId{};
    unsigned concurrentThreadCount = 0;  // resolved (never 0)
    unsigned poolThreadCount = 0;        // resolved (never 0)
    PRJ_STARTVIRTUALIZING_FLAGS flags = PRJ_FLAG_NONE;
    std::vector<NotificationMapping> notificationMappings;  // validated (parseNotificationMappings)
    uint32_t maxFileDataRequest = 0;  // internal: longest GetFileData length; 0 = 4 GiB - 4 KiB (tests set less)
};

inline constexpr uint32_t kWriteAlignment = 4096;

// One provider callback to make: what goes into PRJ_CALLBACK_DATA besides the common fields.
struct Invocation {
    CommandKind kind = CommandKind::GetPlaceholderInfo;
    std::wstring filePathName;
    PRJ_CALLBACK_DATA_FLAGS flags = static_cast<PRJ_CALLBACK_DATA_FLAGS>(0);
    GUID dataStreamId{};
    std::optional<PRJ_PLACEHOLDER_VERSION_INFO> versionInfo;
    PRJ_DIR_ENTRY_BUFFER_HANDLE enumBuffer = nullptr;
    bool cancellable = true;  // End callbacks are not
};

class VirtualizationInstance {
public:
    VirtualizationInstance(std::unique_ptr<BackingStore> store, InstanceOptions options);
    ~VirtualizationInstance();

    BackingStore& store() { return *store_; }
    const InstanceOptions& options() const { return options_; }
    void setHandle(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT handle) { handle_ = handle; }
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT handle() const { return handle_; }

    // ---- the file system's questions ----
    // True when the directory's children come (partly) from the provider: the root and directory
    // placeholders. The provider's own I/O from inside a callback is served from disk only (no
    // callback re-entry, no deadlock): requests from such threads are never provider-backed.
    bool isProviderBacked(const RequestContext& ctx, const std::string& dirRel);
    // True for the provider's own I/O (a request from a thread inside one of its callbacks).
    bool isProviderRequest(const RequestContext& ctx) { return threadIsInCallback(ctx.tid); }
    Notifications& notifications() { return *notifications_; }
    // Finds `name` in `dirRel`, asking the provider (GetPlaceholderInfo) when it is not on disk.
    // done(on-disk spelling) or done(nullopt) when there is no such item; errors as HRESULT.
    void resolveChild(const RequestContext& ctx, const std::string& dirRel, const std::string& name,
                      std::function<void(Result<std::optional<std::string>>)> done);
    // Makes sure the file's content is on disk (hydrates a placeholder once; concurrent callers share it).
    void ensureHydrated(const RequestContext& ctx, const std::shared_ptr<Inode>& inode, const std::string& rel,
                        std::function<void(HRESULT)> done);
    // Before content changes: hydrate unless `truncating`, then mark the file full.
    void prepareForWrite(const RequestContext& ctx, const std::shared_ptr<Inode>& inode, const std::string& rel,
                         bool truncating, std::function<void(HRESULT)> done);
    // After a local metadata change (chmod, chown, utimes): a placeholder becomes dirty.
    Status metadataChanged(Inode* inode, const std::string& rel);
    // Before a new item takes `rel`: drop a tombstone there, mark the parent placeholder dirty.
    Status prepareNewItem(const std::string& rel);
    // Deletes an item; a projected item — or one the provider has (`providerHasIt`, providerHasItem's
    // answer for items whose state cannot say) — leaves a tombstone so it stays gone.
    Status removeItem(const std::string& rel, bool isDirectory, bool providerHasIt = false);
    // Renames within the root; the source of a projected item leaves a tombstone. A directory
    // placeholder must be detached first (core/subtree_detach.h); one that was not is ERROR_NOT_SAME_DEVICE.
    Status renameItem(const std::string& fromRel, const std::string& toRel, unsigned flags);
    std::shared_ptr<EnumerationSession> openEnumeration(const RequestContext& ctx, const std::string& dirRel);

    // ---- the items (inode.h) ----
    InodeMap& inodes() { return inodes_; }
    // The record of the item at `rel`: the cached copy on `inode` (nullptr: the map's Inode for `rel`, if
    // any), read from disk and cached there when it has none. Items the kernel does not know are read
    // from disk every time.
    Result<ItemRecord> record(Inode* inode, const std::string& rel);
    Result<ItemRecord> record(const std::string& rel) { return record(nullptr, rel); }
    // Changes an item's state on disk and in its cached record (write-through).
    Status setItemState(Inode* inode, const std::string& rel, ItemState state);
    Status setItemDirty(Inode* inode, const std::string& rel);
    // Someone else changed the item at `rel` on disk (the provider's calls): its next question re-reads it.
    void forgetRecord(const std::string& rel);

    // ---- the provider's calls ----
    HRESULT writePlaceholderInfo(PCWSTR destinationFileName, const PRJ_PLACEHOLDER_INFO* info, UINT32 size,
                                 const PRJ_EXTENDED_INFO* extended);
    HRESULT writeFileData(const GUID* dataStreamId, const void* buffer, UINT64 byteOffset, UINT32 length);
    HRESULT completeCommand(INT32 commandId, HRESULT result, const PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS* ext);

    // ---- calling the provider ----
    // Registers a PendingCommand, waits for a callback slot, calls `call` with filled callback data and
    // routes the result (or the later PrjCompleteCommand, or a cancellation) to `done` exactly once.
    // With `hookInterrupt`, interrupting the request cancels the command; `onRegistered` learns the id.
    void invoke(const RequestContext& ctx, const Invocation& invocation,
                const std::function<HRESULT(const PRJ_CALLBACK_DATA&)>& call, PendingCommand::Handler done,
                bool hookInterrupt = true, const std::function<void(int32_t)>& onRegistered = {});
    // Whether the provider has `rel`, for an item whose on-disk state cannot say (a symbolic link, a local
    // file): QueryFileNameCallback, as Windows asks it; a provider without one is taken to have it when
    // `fallback` (Windows would enumerate the directory instead). Errors reach `done`.
    void providerHasItem(const RequestContext& ctx, const std::string& rel, bool fallback,
                         std::function<void(Result<bool>)> done);
    // Cancels a command (interrupt): its request fails and the provider's CancelCommandCallback runs.
    void cancelCommand(int32_t commandId);
    // True on a thread that is delivering the provider's PrjCompleteCommand.
    static bool onProviderCompletionThread();
    // On that thread: the extended parameters PrjCompleteCommand was given (nullptr if none).
    static const PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS* completionParameters();
    SerialExecutor& executor() { return executor_; }
    // The transport's hook for dropping cached attributes when the provider changes an existing item.
    // After setItemChangedListener(nullptr) returns, the old listener is not running and never runs again.
    void setItemChangedListener(std::function<void(const std::string& rel)> listener)
    {
        std::lock_guard lock(itemListenersMutex_);
        itemChanged_ = std::move(listener);
    }
    // The same for an item the provider removed (PrjDeleteFile): the transport drops the cached entry.
    void setItemRemovedListener(std::function<void(const std::string& rel)> listener)
    {
        std::lock_guard lock(itemListenersMutex_);
        itemRemoved_ = std::move(listener);
    }
    // The same for a directory whose listing may have changed: the transport drops the kernel's cached
    // listing of `dirRel` (see FOPEN_CACHE_DIR in docs/projfs-design.md).
    void setListingChangedListener(std::function<void(const std::string& dirRel)> listener)
    {
        std::lock_guard lock(itemListenersMutex_);
        listingChanged_ = std::move(listener);
    }
    // Each also reports the parent's listing as changed.
    void notifyItemChanged(const std::string& rel);
    void notifyItemRemoved(const std::string& rel);
    void notifyListingChanged(const std::string& dirRel);
    // True while a GetPlaceholderInfo for `rel` is in flight (its placeholder does not change the listing).
    bool answersLookup(const std::string& rel);

    // ---- listed items (docs/projfs-design.md, "Listed items") ----
    // An entry of the provider's enumeration that is not on disk.
    struct ListedItem {
        std::string name;  // UTF-8, as the provider spelled it
        PRJ_FILE_BASIC_INFO info{};
        ProviderExtras extras;
    };
    // What the provider's last complete enumeration of `dirRel` said about `name` (case-insensitively),
    // while no provider call changed that listing since; nullopt otherwise. The disk is not consulted.
    std::optional<ListedItem> listedChild(const std::string& dirRel, const std::string& name);
    // A complete enumeration of `dirRel` that began at listingGeneration() == `generation`: kept for
    // listedChild unless a listing changed since it began.
    void rememberListing(const std::string& dirRel, uint64_t generation, const std::vector<ListedItem>& items);
    uint64_t listingGeneration();
    // The kept listings of `dirRel` and every directory below it are dropped (it moved away).
    void forgetListingsUnder(const std::string& dirRel);
    // Paths the provider said do not exist (used only with PRJ_FLAG_USE_NEGATIVE_PATH_CACHE).
    NegativePathCache& negativePathCache() { return negativePaths_; }
    // Held while PrjUpdateFileIfNeeded / PrjDeleteFile decide and change an item, and while a hydration
    // checks the placeholder's version and marks it hydrated, so neither acts on a state the other changed.
    RankedMutex<LockRank::ItemState>& itemStateMutex() { return itemStateMutex_; }
    bool stopping() const { return slots_.stopping(); }

    // PrjStopVirtualizing: no callback starts after this, running ones are waited for, pending
    // commands fail their requests with ERROR_FILE_SYSTEM_VIRTUALIZATION_UNAVAILABLE.
    void stop();

private:
    void markParentDirty(const std::string& rel);
    // resolveChild's answer from the disk alone: the item's on-disk spelling, or absent behind a tombstone;
    // nullopt when nothing on disk has the name (spelled exactly, or in any case with `anyCase`).
    std::optional<Result<std::optional<std::string>>> childOnDisk(const std::string& dirRel, const std::string& name,
                                                                  bool anyCase);
    // `inode`, or the map's Inode for `rel` (nullptr when the kernel does not know it).
    std::shared_ptr<Inode> inodeFor(Inode* inode, const std::string& rel);
    // `write` changes the disk; on success `update` changes the cached record the same way (if cached).
    Status writeThrough(Inode* inode, const std::string& rel, const std::function<Status()>& write,
                        const std::function<void(ItemRecord&)>& update);
    bool threadIsInCallback(pid_t tid);

    std::unique_ptr<BackingStore> store_;
    InstanceOptions options_;
    InodeMap inodes_;
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT handle_ = nullptr;
    CommandTable commands_;
    CallbackSlots slots_;
    std::unique_ptr<Hydrator> hydrator_;
    std::unique_ptr<Notifications> notifications_;
    SerialExecutor executor_;
    std::mutex callbackThreadsMutex_;
    std::unordered_multiset<pid_t> callbackThreads_;
    // Paths with a GetPlaceholderInfo in flight, one call per path (later lookups of it wait for its answer).
    // A placeholder written for one answers a lookup of a name the provider enumerates, so it leaves the
    // parent's cached listing valid.
    SharedLookups lookups_;
    RankedMutex<LockRank::ItemListeners> itemListenersMutex_;
    std::function<void(const std::string&)> itemChanged_;
    std::function<void(const std::string&)> itemRemoved_;
    std::function<void(const std::string&)> listingChanged_;
    NegativePathCache negativePaths_;
    // The last complete enumeration of each directory, by upper-cased name; bumped generation on every
    // listing change. A leaf lock.
    std::mutex listingsMutex_;
    uint64_t listingGeneration_ = 0;
    std::unordered_map<std::string, std::unordered_map<std::wstring, ListedItem, FileNameHash, FileNameEqual>>
        listings_;
    RankedMutex<LockRank::ItemState> itemStateMutex_;
    TriggeringProcesses triggeringProcesses_;  // TriggeringProcessId/ImageFileName per requesting thread
};

}  // namespace hc::projfs
