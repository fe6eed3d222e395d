#include "projfs/core/virtualization_instance.h"

#include "base/filetime.h"
#include "base/hresult.h"
#include "base/log.h"
#include "base/strings.h"
#include "projfs/core/dir_entry_buffer.h"
#include "projfs/core/enumeration_session.h"
#include "projfs/core/extended_info.h"
#include "projfs/core/hydration.h"
#include "projfs/core/item_updates.h"
#include "projfs/store/rel_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace hc::projfs {
namespace {

thread_local bool t_deliveringCompletion = false;
thread_local const PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS* t_completionParameters = nullptr;

pid_t currentTid()
{
    return static_cast<pid_t>(::syscall(SYS_gettid));
}

uint64_t backingInodeOfRoot(const BackingStore& store)
{
    struct stat st {};
    return ::fstat(store.rootFd(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

VirtualizationInstance::VirtualizationInstance(std::unique_ptr<BackingStore> store, InstanceOptions options)
    : store_(std::move(store)),
      options_(options),
      inodes_(backingInodeOfRoot(*store_)),
      slots_(options.concurrentThreadCount),
      hydrator_(std::make_unique<Hydrator>(*this, options.maxFileDataRequest)),
      notifications_(
          std::make_unique<Notifications>(*this, options.callbacks.NotificationCallback, options_.notificationMappings))
{
}

VirtualizationInstance::~VirtualizationInstance()
{
    stop();
}

bool VirtualizationInstance::onProviderCompletionThread()
{
    return t_deliveringCompletion;
}

const PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS* VirtualizationInstance::completionParameters()
{
    return t_completionParameters;
}

bool VirtualizationInstance::threadIsInCallback(pid_t tid)
{
    std::lock_guard lock(callbackThreadsMutex_);
    return tid > 0 && callbackThreads_.count(tid) != 0;
}

bool VirtualizationInstance::answersLookup(const std::string& rel)
{
    return lookups_.inFlight(rel);
}

bool VirtualizationInstance::isProviderBacked(const RequestContext& ctx, const std::string& dirRel)
{
    if (threadIsInCallback(ctx.tid)) return false;
    if (dirRel.empty()) return true;
    auto record = this->record(dirRel);
    return record.ok() && record->isDirectory && record->state == ItemState::Placeholder;
}

std::optional<Result<std::optional<std::string>>> VirtualizationInstance::childOnDisk(const std::string& dirRel,
                                                                                      const std::string& name,
                                                                                      bool anyCase)
{
    auto existing = record(joinRel(dirRel, name));
    if (existing.ok())
        return existing->state == ItemState::Tombstone ? std::optional<std::string>() : std::optional(name);
    if (existing.hr() != HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)) return existing.error();
    if (!anyCase) return std::nullopt;
    auto found = store_->findChild(dirRel, name);
    if (found.ok() && found->has_value()) {
        auto spelled = record(joinRel(dirRel, **found));
        if (spelled.ok()) return spelled->state == ItemState::Tombstone ? std::optional<std::string>() : *found;
        // Gone since the index saw it (removed concurrently): the provider decides, as for any missing name.
    }
    return std::nullopt;
}

void VirtualizationInstance::resolveChild(const RequestContext& ctx, const std::string& dirRel, const std::string& name,
                                          std::function<void(Result<std::optional<std::string>>)> done)
{
    std::string rel = joinRel(dirRel, name);
    if (auto exact = childOnDisk(dirRel, name, /*anyCase=*/false)) return done(std::move(*exact));
    if (!isProviderBacked(ctx, dirRel)) return done(std::optional<std::string>());
    // In a projected directory names are case-insensitive, as on Windows.
    if (auto spelled = childOnDisk(dirRel, name, /*anyCase=*/true)) return done(std::move(*spelled));
    if (negativePaths_.contains(rel)) return done(std::optional<std::string>());  // said absent before

    // The provider's answer, as each lookup of the name takes it: its placeholder is on disk, or the name
    // does not exist. Shared by the lookups that joined this one (core/shared_lookups.h).
    auto answer = [this, dirRel, name](HRESULT hr) -> Result<std::optional<std::string>> {
        if (hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) || hr == HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND)) {
            return std::optional<std::string>();
        }
        if (FAILED(hr)) return makeError(hr, "GetPlaceholderInfo failed: " + hresultName(hr));
        return store_->findChild(dirRel, name);
    };
    auto joined = [this, ctx, dirRel, name, answer, done](HRESULT hr) {
        // The owner's request was interrupted, not this one: ask again (this lookup may own the next call),
        // from the executor, since this may run inside the provider's PrjCompleteCommand.
        if (hr == HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED) && !ctx.interruption->fired()) {
            return executor_.post([this, ctx, dirRel, name, done] { resolveChild(ctx, dirRel, name, done); });
        }
        done(answer(hr));
    };
    if (!lookups_.startOrJoin(rel, ctx, joined)) return;
    // A lookup of the name that ended between the check above and here has written its placeholder: the
    // disk answers (the owner writes before it finishes, so checking after owning leaves no gap).
    if (auto onDisk = childOnDisk(dirRel, name, /*anyCase=*/true)) {
        lookups_.finish(rel, S_OK);
        return done(std::move(*onDisk));
    }

    Invocation invocation;
    invocation.kind = CommandKind::GetPlaceholderInfo;
    invocation.filePathName = providerPathFromRel(rel);
    const PRJ_CALLBACKS& callbacks = options_.callbacks;
    invoke(
        ctx, invocation,
        [&callbacks](const PRJ_CALLBACK_DATA& data) { return callbacks.GetPlaceholderInfoCallback(&data); },
        [this, rel, answer, done = std::move(done)](HRESULT hr) {
            if ((hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) || hr == HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND)) &&
                (options_.flags & PRJ_FLAG_USE_NEGATIVE_PATH_CACHE)) {
                negativePaths_.add(rel);
            }
            lookups_.finish(rel, hr);
            done(answer(hr));
        });
}

void VirtualizationInstance::providerHasItem(const RequestContext& ctx, const std::string& rel, bool fallback,
                                             std::function<void(Result<bool>)> done)
{
    const PRJ_CALLBACKS& callbacks = options_.callbacks;
    if (callbacks.QueryFileNameCallback == nullptr) return done(fallback);
    Invocation invocation;
    invocation.kind = CommandKind::QueryFileName;
    invocation.filePathName = providerPathFromRel(rel);
    invoke(
        ctx, invocation, [&callbacks](const PRJ_CALLBACK_DATA& data) { return callbacks.QueryFileNameCallback(&data); },
        [done = std::move(done)](HRESULT hr) {
            if (hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) || hr == HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND))
                return done(false);
            if (FAILED(hr)) return done(makeError(hr, "QueryFileName failed: " + hresultName(hr)));
            done(true);
        });
}

void VirtualizationInstance::ensureHydrated(const RequestContext& ctx, const std::shared_ptr<Inode>& inode,
                                            const std::string& rel, std::function<void(HRESULT)> done)
{
    if (threadIsInCallback(ctx.tid)) return done(S_OK);  // the provider's own reads see the disk
    hydrator_->hydrate(ctx, inode, rel, std::move(done));
}

void VirtualizationInstance::prepareForWrite(const RequestContext& ctx, const std::shared_ptr<Inode>& inode,
                                             const std::string& rel, bool truncating, std::function<void(HRESULT)> done)
{
    auto current = record(inode.get(), rel);
    if (!current) return done(current.hr());
    if (current->state == ItemState::Full || current->isDirectory) return done(S_OK);
    auto markFull = [this, ctx, inode, rel, done = std::move(done)](HRESULT hr) mutable {
        if (FAILED(hr)) return done(hr);
        // FILE_PRE_CONVERT_TO_FULL may veto; racing writers share one notification.
        notifications_->convertToFull(
            ctx, inode, rel, [this, inode, rel] { return setItemState(inode.get(), rel, ItemState::Full).hr(); },
            std::move(done));
    };
    if (current->state == ItemState::Placeholder && !truncating) {
        return ensureHydrated(ctx, inode, rel, std::move(markFull));
    }
    markFull(S_OK);
}

Status VirtualizationInstance::metadataChanged(Inode* inode, const std::string& rel)
{
    auto current = record(inode, rel);
    if (!current.ok() || current->state == ItemState::Full || current->state == ItemState::Tombstone ||
        current->dirty) {
        return {};
    }
    return setItemDirty(inode, rel);
}

std::shared_ptr<Inode> VirtualizationInstance::inodeFor(Inode* inode, const std::string& rel)
{
    // A caller-held Inode outlives the call; a found one is kept alive by the returned pointer.
    if (inode != nullptr) return std::shared_ptr<Inode>(std::shared_ptr<Inode>(), inode);
    return inodes_.find(rel);
}

Result<ItemRecord> VirtualizationInstance::record(Inode* inode, const std::string& rel)
{
    auto held = inodeFor(inode, rel);
    if (!held) return store_->readRecord(rel);
    // The disk is read under the Inode's mutex, so a write-through cannot be overtaken by an older read.
    std::lock_guard lock(held->mutex);
    if (held->record) return *held->record;
    auto read = store_->readRecord(rel);
    if (read.ok()) held->record = *read;
    return read;
}

Status VirtualizationInstance::writeThrough(Inode* inode, const std::string& rel, const std::function<Status()>& write,
                                            const std::function<void(ItemRecord&)>& update)
{
    auto held = inodeFor(inode, rel);
    if (!held) return write();
    std::lock_guard lock(held->mutex);
    Status status = write();
    if (!status) {
        held->record.reset();  // whatever the disk holds now, it is read again
    } else if (held->record) {
        update(*held->record);
    }
    return status;
}

Status VirtualizationInstance::setItemState(Inode* inode, const std::string& rel, ItemState state)
{
    return writeThrough(
        inode, rel, [&] { return store_->setState(rel, state); },
        [state](ItemRecord& record) {
            record.state = state;
            if (state == ItemState::Full) record.dirty = false;  // as BackingStore::setState
        });
}

Status VirtualizationInstance::setItemDirty(Inode* inode, const std::string& rel)
{
    return writeThrough(
        inode, rel, [&] { return store_->setDirty(rel); }, [](ItemRecord& record) { record.dirty = true; });
}

void VirtualizationInstance::forgetRecord(const std::string& rel)
{
    if (auto inode = inodes_.find(rel)) {
        std::lock_guard lock(inode->mutex);
        inode->record.reset();
    }
}

Status VirtualizationInstance::prepareNewItem(const std::string& rel)
{
    negativePaths_.forget(rel);
    if (auto s = store_->clearTombstone(rel); !s) return s;
    markParentDirty(rel);
    return {};
}

void VirtualizationInstance::markParentDirty(const std::string& rel)
{
    // A child created or deleted locally makes a directory placeholder dirty (its listing is no longer
    // only the provider's).
    auto [parentRel, name] = splitRel(rel);
    if (parentRel.empty()) return;
    auto parent = record(parentRel);
    if (parent.ok() && parent->state == ItemState::Placeholder && !parent->dirty)
        (void)setItemDirty(nullptr, parentRel);
}

Status VirtualizationInstance::removeItem(const std::string& rel, bool isDirectory, bool providerHasIt)
{
    auto current = record(rel);
    if (!current) return current.error();
    if (current->state == ItemState::Tombstone)
        return makeError(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), "no such item");
    bool projected = current->projected || current->state != ItemState::Full || providerHasIt;
    Status removed;
    if (isDirectory) {
        if (auto s = store_->clearTombstonesIn(rel); !s) return s;
        removed = store_->removeEntry(rel, /*isDirectory=*/true);
        if (removed && projected) removed = store_->makeTombstone(rel);
    } else if (projected) {
        removed = store_->makeTombstone(rel);  // replaces the file atomically
    } else {
        removed = store_->removeEntry(rel, /*isDirectory=*/false);
    }
    if (removed) markParentDirty(rel);
    return removed;
}

Status VirtualizationInstance::renameItem(const std::string& fromRel, const std::string& toRel, unsigned flags)
{
    auto current = record(fromRel);
    if (!current) return current.error();
    if (current->state == ItemState::Tombstone)
        return makeError(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), "no such item");
    if (current->isDirectory && current->state == ItemState::Placeholder) {
        // Its virtual children are known to the provider by this path only: SubtreeDetach comes first.
        return makeError(HRESULT_FROM_WIN32(ERROR_NOT_SAME_DEVICE),
                         "directory placeholder '" + fromRel + "' was not detached before its rename");
    }
    negativePaths_.forget(toRel);
    if (auto s = store_->clearTombstone(toRel); !s) return s;
    if (auto s = store_->renameEntry(fromRel, toRel, flags); !s) return s;
    if (current->isDirectory) forgetListingsUnder(fromRel);
    markParentDirty(fromRel);
    markParentDirty(toRel);
    bool projected = current->projected || current->state != ItemState::Full;
    if (projected && !(flags & RENAME_EXCHANGE)) return store_->makeTombstone(fromRel);
    return {};
}

std::shared_ptr<EnumerationSession> VirtualizationInstance::openEnumeration(const RequestContext& ctx,
                                                                            const std::string& dirRel)
{
    return std::make_shared<EnumerationSession>(*this, dirRel, isProviderBacked(ctx, dirRel));
}

HRESULT VirtualizationInstance::writePlaceholderInfo(PCWSTR destinationFileName, const PRJ_PLACEHOLDER_INFO* info,
                                                     UINT32 size, const PRJ_EXTENDED_INFO* extended)
{
    if (destinationFileName == nullptr || info == nullptr) return E_INVALIDARG;
    if (size < sizeof(PRJ_PLACEHOLDER_INFO)) return HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
    auto extras = readExtendedInfo(extended);
    if (!extras) return extras.hr();
    auto rel = relFromProviderPath(destinationFileName, "destinationFileName");
    if (!rel) return rel.hr();
    if (rel->empty()) return E_INVALIDARG;
    const PRJ_FILE_BASIC_INFO& basic = info->FileBasicInfo;
    if (basic.FileSize < 0) return E_INVALIDARG;
    PlaceholderSpec spec = placeholderSpecFrom(*info, *rel, std::move(extras).value());
    bool existed = false;
    Status status = store_->writePlaceholder(*rel, spec, &existed);
    if (!status) {
        HC_LOG(Info, "projfs", "PrjWritePlaceholderInfo '" + *rel + "': " + status.error().message);
        return status.hr();
    }
    negativePaths_.forget(*rel);
    if (existed) {
        notifyItemChanged(*rel);  // also drops the cached record and the parent's listing
    } else if (!answersLookup(*rel)) {
        notifyListingChanged(splitRel(*rel).first);
    }
    return S_OK;
}

void VirtualizationInstance::notifyItemChanged(const std::string& rel)
{
    forgetRecord(rel);
    {
        std::lock_guard lock(itemListenersMutex_);
        if (itemChanged_) itemChanged_(rel);
    }
    notifyListingChanged(splitRel(rel).first);
}

void VirtualizationInstance::notifyItemRemoved(const std::string& rel)
{
    forgetRecord(rel);
    {
        std::lock_guard lock(itemListenersMutex_);
        if (itemRemoved_) itemRemoved_(rel);
    }
    notifyListingChanged(splitRel(rel).first);
}

void VirtualizationInstance::notifyListingChanged(const std::string& dirRel)
{
    {
        std::lock_guard lock(listingsMutex_);
        ++listingGeneration_;
        listings_.erase(dirRel);
    }
    std::lock_guard lock(itemListenersMutex_);
    if (listingChanged_) listingChanged_(dirRel);
}

void VirtualizationInstance::forgetListingsUnder(const std::string& dirRel)
{
    std::lock_guard lock(listingsMutex_);
    ++listingGeneration_;
    std::erase_if(listings_, [&dirRel](const auto& listing) {
        const std::string& rel = listing.first;
        return rel == dirRel ||
               (rel.size() > dirRel.size() && rel.compare(0, dirRel.size(), dirRel) == 0 && rel[dirRel.size()] == '/');
    });
}

namespace {

// Listings kept for lookups; past this many directories the oldest are not worth a search: start over.
constexpr size_t kMaxKeptListings = 4096;

}  // namespace

std::optional<VirtualizationInstance::ListedItem> VirtualizationInstance::listedChild(const std::string& dirRel,
                                                                                      const std::string& name)
{
    auto wide = fromUtf8(name);
    if (!wide) return std::nullopt;
    std::lock_guard lock(listingsMutex_);
    auto dir = listings_.find(dirRel);
    if (dir == listings_.end()) return std::nullopt;
    auto item = dir->second.find(*wide);
    if (item == dir->second.end()) return std::nullopt;
    return item->second;
}

void VirtualizationInstance::rememberListing(const std::string& dirRel, uint64_t generation,
                                             const std::vector<ListedItem>& items)
{
    std::unordered_map<std::wstring, ListedItem, FileNameHash, FileNameEqual> byName;
    for (const ListedItem& item : items) {
        if (auto wide = fromUtf8(item.name)) byName.emplace(std::move(wide).value(), item);
    }
    std::lock_guard lock(listingsMutex_);
    if (generation != listingGeneration_) return;  // changed while it was listed
    if (listings_.size() >= kMaxKeptListings) listings_.clear();
    listings_[dirRel] = std::move(byName);
}

uint64_t VirtualizationInstance::listingGeneration()
{
    std::lock_guard lock(listingsMutex_);
    return listingGeneration_;
}

HRESULT VirtualizationInstance::writeFileData(const GUID* dataStreamId, const void* buffer, UINT64 byteOffset,
                                              UINT32 length)
{
    if (dataStreamId == nullptr) return E_INVALIDARG;
    return hydrator_->writeFileData(*dataStreamId, buffer, byteOffset, length);
}

HRESULT VirtualizationInstance::completeCommand(INT32 commandId, HRESULT result,
                                                const PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS* ext)
{
    PRJ_DIR_ENTRY_BUFFER_HANDLE buffer = nullptr;
    if (ext != nullptr) {
        if (ext->CommandType == PRJ_COMPLETE_COMMAND_TYPE_ENUMERATION) {
            buffer = ext->Enumeration.DirEntryBufferHandle;
        } else if (ext->CommandType != PRJ_COMPLETE_COMMAND_TYPE_NOTIFICATION) {
            return E_INVALIDARG;
        }
    }
    t_deliveringCompletion = true;
    t_completionParameters = ext;
    HRESULT hr = commands_.complete(commandId, result, buffer);
    t_completionParameters = nullptr;
    t_deliveringCompletion = false;
    return hr;
}

void VirtualizationInstance::invoke(const RequestContext& ctx, const Invocation& invocation,
                                    const std::function<HRESULT(const PRJ_CALLBACK_DATA&)>& call,
                                    PendingCommand::Handler done, bool hookInterrupt,
                                    const std::function<void(int32_t)>& onRegistered)
{
    const HRESULT unavailable = HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_UNAVAILABLE);
    if (stopping()) return done(unavailable);
    auto command = commands_.create(invocation.kind, std::move(done), invocation.enumBuffer);
    if (onRegistered) onRegistered(command->id());
    if (hookInterrupt && invocation.cancellable) {
        int32_t id = command->id();
        ctx.interruption->setHandler([this, id] { cancelCommand(id); });
    }
    if (!slots_.acquire()) {
        commands_.cancel(command->id(), unavailable);
        commands_.callbackReturned(command, unavailable);
        return;
    }
    PRJ_PLACEHOLDER_VERSION_INFO version{};
    if (invocation.versionInfo) version = *invocation.versionInfo;
    auto process = triggeringProcesses_.lookup(ctx.tid);  // cached per thread: no /proc read per callback
    PRJ_CALLBACK_DATA data{};
    data.Size = sizeof(data);
    data.Flags = invocation.flags;
    data.NamespaceVirtualizationContext = handle_;
    data.CommandId = command->id();
    data.DataStreamId = invocation.dataStreamId;
    data.FilePathName = invocation.filePathName.c_str();
    data.VersionInfo = invocation.versionInfo ? &version : nullptr;
    data.TriggeringProcessId = process->pid;
    data.TriggeringProcessImageFileName = process->image.c_str();
    data.InstanceContext = options_.instanceContext;

    pid_t self = currentTid();
    {
        std::lock_guard lock(callbackThreadsMutex_);
        callbackThreads_.insert(self);
    }
    HRESULT hr = call(data);
    {
        std::lock_guard lock(callbackThreadsMutex_);
        callbackThreads_.erase(callbackThreads_.find(self));
    }
    slots_.release();
    commands_.callbackReturned(command, hr);
}

void VirtualizationInstance::cancelCommand(int32_t commandId)
{
    auto command = commands_.cancel(commandId, HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED));
    if (!command || options_.callbacks.CancelCommandCallback == nullptr) return;
    // The provider hears about it only while it is running (never after Stop).
    if (!slots_.enterUnlimited()) return;
    PRJ_CALLBACK_DATA data{};
    data.Size = sizeof(data);
    data.NamespaceVirtualizationContext = handle_;
    data.CommandId = commandId;
    data.FilePathName = L"";
    data.TriggeringProcessImageFileName = L"";
    data.InstanceContext = options_.instanceContext;
    options_.callbacks.CancelCommandCallback(&data);
    slots_.leaveUnlimited();
}

void VirtualizationInstance::stop()
{
    slots_.stopAndDrain();
    size_t cancelled = commands_.cancelAll(HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_UNAVAILABLE));
    if (cancelled != 0) HC_LOG(Info, "projfs", "stop: failed " + std::to_string(cancelled) + " pending requests");
    executor_.shutdown();
}

}  // namespace hc::projfs
