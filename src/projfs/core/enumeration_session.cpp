#include "projfs/core/enumeration_session.h"

#include "base/guid.h"
#include "base/log.h"
#include "projfs/core/virtualization_instance.h"
#include "projfs/store/rel_path.h"

namespace hc::projfs {

EnumerationSession::EnumerationSession(VirtualizationInstance& instance, std::string dirRel, bool providerBacked)
    : instance_(instance), dirRel_(std::move(dirRel)), providerBacked_(providerBacked), id_(newGuid())
{
}

EnumerationSession::~EnumerationSession() = default;

void EnumerationSession::loadDisk()
{
    generation_ = instance_.listingGeneration();
    auto disk = instance_.store().listDirectory(dirRel_);
    merge_.reset(disk ? std::move(disk).value() : std::vector<DiskEntry>{});
    if (!disk) HC_LOG(Warn, "projfs", "listing '" + dirRel_ + "': " + disk.error().message);
}

void EnumerationSession::restart()
{
    entries_.clear();
    listed_.clear();
    complete_ = false;
    providerDone_ = false;
    providerError_ = S_OK;
    restartScan_ = started_;
    loadDisk();
}

void EnumerationSession::fetch(const RequestContext& ctx, size_t offset, size_t budgetBytes,
                               std::function<void(HRESULT)> done)
{
    if (!used_) {
        used_ = true;
        loadDisk();
    } else if (offset == 0 && (!entries_.empty() || complete_)) {
        restart();
    }
    ctx_ = ctx;
    offset_ = offset;
    budget_ = budgetBytes;
    done_ = std::move(done);
    if (!providerBacked_ && !complete_) {
        providerDone_ = true;
        std::vector<MergedEntry> rest;
        merge_.finish(rest);
        append(std::move(rest));
        complete_ = true;
    }
    step();
}

void EnumerationSession::finishFetch(HRESULT hr)
{
    auto done = std::exchange(done_, nullptr);
    ctx_ = RequestContext{};
    if (done) done(hr);
}

void EnumerationSession::append(std::vector<MergedEntry> produced)
{
    for (auto& entry : produced) {
        if (!listed_.insert(entry.name).second) continue;
        entries_.push_back(std::move(entry));
    }
}

bool EnumerationSession::enoughForReply() const
{
    if (complete_) return true;
    size_t bytes = 0;
    for (size_t i = offset_; i < entries_.size(); ++i)
        bytes += DirEntryBuffer::encodedSize(entries_[i].name.size());
    return bytes >= budget_;
}

void EnumerationSession::providerFailed(HRESULT hr)
{
    providerError_ = hr;
    // What is on disk stays listed: the rest of the disk's entries, without the provider's.
    std::vector<MergedEntry> rest;
    merge_.finish(rest);
    append(std::move(rest));
    step();
}

void EnumerationSession::step()
{
    if (enoughForReply()) return finishFetch(S_OK);
    if (FAILED(providerError_)) return finishFetch(entries_.size() > offset_ ? S_OK : providerError_);
    if (instance_.stopping()) return finishFetch(HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_UNAVAILABLE));
    const PRJ_CALLBACKS& callbacks = instance_.options().callbacks;
    auto self = shared_from_this();
    Invocation invocation;
    invocation.filePathName = providerPathFromRel(dirRel_);
    if (!started_) {
        invocation.kind = CommandKind::StartEnumeration;
        GUID id = id_;
        instance_.invoke(
            ctx_, invocation,
            [&callbacks, id](const PRJ_CALLBACK_DATA& data) {
                return callbacks.StartDirectoryEnumerationCallback(&data, &id);
            },
            [self](HRESULT hr) { self->onStarted(hr); });
        return;
    }
    auto buffer = std::make_shared<DirEntryBuffer>(std::min(budget_, kProviderBatchBytes));
    invocation.kind = CommandKind::GetEnumeration;
    invocation.enumBuffer = buffer->handle();
    if (restartScan_) invocation.flags = PRJ_CB_DATA_FLAG_ENUM_RESTART_SCAN;
    restartScan_ = false;
    GUID id = id_;
    PRJ_DIR_ENTRY_BUFFER_HANDLE handle = buffer->handle();
    instance_.invoke(
        ctx_, invocation,
        [&callbacks, id, handle](const PRJ_CALLBACK_DATA& data) {
            return callbacks.GetDirectoryEnumerationCallback(&data, &id, L"*", handle);
        },
        [self, buffer](HRESULT hr) {
            std::vector<ProviderDirEntry> batch;
            DirEntryBuffer::withBuffer(buffer->handle(), [&](DirEntryBuffer& b) {
                batch = b.takeEntries();
                return S_OK;
            });
            self->onBatch(hr, std::move(batch));
        });
}

void EnumerationSession::onStarted(HRESULT hr)
{
    if (hr == HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED)) return finishFetch(hr);  // interrupted: retried
    if (FAILED(hr)) return providerFailed(hr);
    started_ = true;
    step();
}

void EnumerationSession::onBatch(HRESULT hr, std::vector<ProviderDirEntry> batch)
{
    if (FAILED(hr) && hr != HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED)) return providerFailed(hr);
    if (FAILED(hr)) {
        if (entries_.size() > offset_) return finishFetch(S_OK);  // answer with what we have; retry later
        // The provider may have moved past entries that never reached us: rescan from the start next
        // time, skipping names already listed.
        loadDisk();
        restartScan_ = true;
        return finishFetch(hr);
    }
    std::vector<MergedEntry> produced;
    if (batch.empty()) {
        providerDone_ = true;
        merge_.finish(produced);
        complete_ = true;
        append(std::move(produced));
        produced.clear();
        publishListing();
    } else {
        for (const auto& entry : batch)
            merge_.addProviderEntry(entry, produced);
    }
    append(std::move(produced));
    if (enoughForReply()) return finishFetch(S_OK);
    // Everything in this batch was shadowed: ask again, but never from the provider's own thread.
    if (VirtualizationInstance::onProviderCompletionThread()) {
        auto self = shared_from_this();
        instance_.executor().post([self] { self->step(); });
        return;
    }
    step();
}

// The provider's items of a complete listing answer later lookups of those names without a callback.
void EnumerationSession::publishListing()
{
    std::vector<VirtualizationInstance::ListedItem> items;
    for (const MergedEntry& entry : entries_) {
        if (entry.onDisk || entry.symlink) continue;
        items.push_back({entry.name, entry.info, entry.extras});
    }
    instance_.rememberListing(dirRel_, generation_, items);
}

void EnumerationSession::close()
{
    if (ended_) return;
    ended_ = true;
    if (!started_ || instance_.stopping()) return;
    const PRJ_CALLBACKS& callbacks = instance_.options().callbacks;
    Invocation invocation;
    invocation.kind = CommandKind::EndEnumeration;
    invocation.filePathName = providerPathFromRel(dirRel_);
    invocation.cancellable = false;
    GUID id = id_;
    RequestContext ctx;
    instance_.invoke(
        ctx, invocation,
        [&callbacks, id](const PRJ_CALLBACK_DATA& data) {
            return callbacks.EndDirectoryEnumerationCallback(&data, &id);
        },
        [](HRESULT) {}, /*hookInterrupt=*/false);
}

}  // namespace hc::projfs
