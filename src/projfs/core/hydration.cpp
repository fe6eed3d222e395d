#include "projfs/core/hydration.h"

#include "base/hresult.h"
#include "base/log.h"
#include "projfs/core/virtualization_instance.h"
#include "projfs/store/rel_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>
#include <cstring>

namespace hc::projfs {

void ReceivedRanges::add(uint64_t begin, uint64_t end)
{
    if (begin >= end) return;
    auto it = ranges_.upper_bound(begin);
    if (it != ranges_.begin()) {
        auto prev = std::prev(it);
        if (prev->second >= begin) {
            begin = prev->first;
            end = std::max(end, prev->second);
            it = ranges_.erase(prev);
        }
    }
    while (it != ranges_.end() && it->first <= end) {
        end = std::max(end, it->second);
        it = ranges_.erase(it);
    }
    ranges_.emplace(begin, end);
}

bool ReceivedRanges::covers(uint64_t size) const
{
    return covers(0, size);
}

bool ReceivedRanges::covers(uint64_t begin, uint64_t end) const
{
    if (begin >= end) return true;
    // Ranges are merged, so only the last one starting at or before `begin` can cover [begin, end).
    auto it = ranges_.upper_bound(begin);
    if (it == ranges_.begin()) return false;
    return std::prev(it)->second >= end;
}

std::optional<std::pair<uint64_t, uint64_t>> ReceivedRanges::firstGap(uint64_t size) const
{
    uint64_t begin = 0;
    for (const auto& [rangeBegin, rangeEnd] : ranges_) {
        if (rangeBegin > begin) break;
        begin = std::max(begin, rangeEnd);
    }
    if (begin >= size) return std::nullopt;
    auto next = ranges_.upper_bound(begin);
    return std::pair(begin, next == ranges_.end() ? size : std::min(next->first, size));
}

uint32_t defaultMaxFileDataRequest()
{
    return UINT32_MAX / kWriteAlignment * kWriteAlignment;
}

uint32_t normalizedMaxFileDataRequest(uint32_t requested)
{
    if (requested == 0) return defaultMaxFileDataRequest();
    return std::max(kWriteAlignment, requested / kWriteAlignment * kWriteAlignment);
}

std::optional<FileDataRequest> nextFileDataRequest(const ReceivedRanges& received, uint64_t size, uint32_t maxLength)
{
    auto gap = received.firstGap(size);
    if (!gap) return std::nullopt;
    return FileDataRequest{gap->first, static_cast<uint32_t>(std::min<uint64_t>(gap->second - gap->first, maxLength))};
}

HRESULT checkFileDataWrite(uint64_t size, const void* buffer, uint64_t offset, uint32_t length, uint32_t alignment)
{
    if (buffer == nullptr || length == 0) return E_INVALIDARG;
    if (offset >= size || length > size - offset) return E_INVALIDARG;
    if (offset % alignment != 0) return HRESULT_FROM_WIN32(ERROR_OFFSET_ALIGNMENT_VIOLATION);
    if (length % alignment != 0 && offset + length != size) return HRESULT_FROM_WIN32(ERROR_OFFSET_ALIGNMENT_VIOLATION);
    return S_OK;
}

static bool sameVersion(const std::optional<PRJ_PLACEHOLDER_VERSION_INFO>& a,
                        const std::optional<PRJ_PLACEHOLDER_VERSION_INFO>& b)
{
    return a.has_value() == b.has_value() && (!a || std::memcmp(&*a, &*b, sizeof(*a)) == 0);
}

namespace {

// The times a placeholder shows are the provider's until it is hydrated; writing the data changes them.
// They are kept in an attribute of the file for the hydration's duration (removed by finish()), so a
// hydration cut short by a crash of the provider process leaves them behind and the next one restores
// those, not the times of the half-written attempt.
void keepProviderTimes(int fd, const struct stat& st, timespec times[2])
{
    int64_t saved[4];
    if (::fgetxattr(fd, kXattrHydrationTimes, saved, sizeof saved) == static_cast<ssize_t>(sizeof saved)) {
        times[0] = timespec{static_cast<time_t>(saved[0]), static_cast<long>(saved[1])};
        times[1] = timespec{static_cast<time_t>(saved[2]), static_cast<long>(saved[3])};
        return;
    }
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    const int64_t keep[4] = {st.st_atim.tv_sec, st.st_atim.tv_nsec, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
    (void)::fsetxattr(fd, kXattrHydrationTimes, keep, sizeof keep, 0);  // without it: as before, no worse
}

}  // namespace

class HydrationStream {
public:
    GUID id{};
    std::string rel;
    std::shared_ptr<Inode> inode;  // pinned in the InodeMap until finish()
    uint64_t size = 0;
    timespec times[2]{};  // atime, mtime to restore (writing the data changes them)
    UniqueFd fd;
    ItemRecord record;

    pid_t requester = 0;  // the first opener's thread: TriggeringProcessId of every request

    RankedMutex<LockRank::HydrationStream> mutex;
    bool awaiting = true;  // until finish()
    ReceivedRanges received;
    uint64_t nextWaiter = 1;
    std::map<uint64_t, std::function<void(HRESULT)>> waiters;
    int32_t commandId = 0;   // the request in flight (or the last one made)
    bool abandoned = false;  // every waiter left: cancel what is in flight, ask for nothing more
    bool issuing = false;    // requestMore() is inside invoke() for the current request
    bool resume = false;     // ... and that request succeeded meanwhile: requestMore() makes the next one
};

void Hydrator::hydrate(const RequestContext& ctx, const std::shared_ptr<Inode>& inode, const std::string& rel,
                       std::function<void(HRESULT)> done)
{
    auto record = instance_.record(inode.get(), rel);
    if (!record) return done(record.hr());
    if (record->state != ItemState::Placeholder || record->isDirectory) return done(S_OK);

    std::shared_ptr<HydrationStream> stream;
    bool first = false;
    {
        std::lock_guard lock(inode->mutex);
        if (inode->hydration) {
            stream = inode->hydration;
        } else {
            auto fd = instance_.store().openItem(rel, O_WRONLY | O_NOFOLLOW);
            if (!fd) return done(fd.hr());
            struct stat st {};
            if (::fstat(fd->get(), &st) != 0) return done(hresultFromErrno(errno));
            stream = std::make_shared<HydrationStream>();
            stream->id = newGuid();
            stream->rel = rel;
            stream->inode = inode;
            stream->size = static_cast<uint64_t>(st.st_size);
            stream->fd = std::move(fd).value();
            keepProviderTimes(stream->fd.get(), st, stream->times);
            stream->record = std::move(record).value();
            stream->requester = ctx.tid;
            inode->hydration = stream;
            instance_.inodes().pin(*inode);
            std::lock_guard streams(mutex_);
            byStream_.emplace(stream->id, stream);
            first = true;
        }
    }
    addWaiter(stream, ctx, std::move(done));
    if (first) start(stream);
}

void Hydrator::addWaiter(const std::shared_ptr<HydrationStream>& stream, const RequestContext& ctx,
                         std::function<void(HRESULT)> done)
{
    uint64_t waiterId;
    {
        std::lock_guard lock(stream->mutex);
        waiterId = stream->nextWaiter++;
        stream->waiters.emplace(waiterId, std::move(done));
        stream->abandoned = false;  // joined before anything was cancelled: the hydration goes on for us
    }
    // An interrupted open stops waiting; the last one to leave cancels the provider's command.
    std::weak_ptr<HydrationStream> weak = stream;
    ctx.interruption->setHandler([this, weak, waiterId] {
        auto s = weak.lock();
        if (!s) return;
        std::function<void(HRESULT)> leaving;
        bool last = false;
        int32_t commandId = 0;
        {
            std::lock_guard lock(s->mutex);
            auto it = s->waiters.find(waiterId);
            if (it == s->waiters.end()) return;
            leaving = std::move(it->second);
            s->waiters.erase(it);
            last = s->waiters.empty() && s->awaiting;
            if (last) s->abandoned = true;
            commandId = s->commandId;
        }
        leaving(HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED));
        if (last && commandId != 0) instance_.cancelCommand(commandId);
    });
}

void Hydrator::start(const std::shared_ptr<HydrationStream>& stream)
{
    if (stream->size == 0) return finish(stream, S_OK);
    requestMore(stream);
}

// Makes GetFileData requests, one at a time, until one is left pending or the hydration finished. A
// request answered before invoke() returns continues this loop rather than recursing (a provider that
// hands out a little at a time must not grow the stack); one completed later continues from requestDone.
void Hydrator::requestMore(const std::shared_ptr<HydrationStream>& stream)
{
    const PRJ_CALLBACKS& callbacks = instance_.options().callbacks;
    for (;;) {
        std::optional<FileDataRequest> request;
        bool abandoned;
        {
            std::lock_guard lock(stream->mutex);
            abandoned = stream->abandoned;
            if (!abandoned) request = nextFileDataRequest(stream->received, stream->size, maxRequestLength_);
            stream->issuing = request.has_value();
            stream->resume = false;
        }
        if (abandoned) return finish(stream, HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED));
        if (!request) return finish(stream, S_OK);

        Invocation invocation;
        invocation.kind = CommandKind::GetFileData;
        invocation.filePathName =
            providerPathFromRel(stream->record.projected ? stream->record.originPath : stream->rel);
        invocation.dataStreamId = stream->id;
        invocation.versionInfo = stream->record.version;
        RequestContext ctx;
        ctx.tid = stream->requester;
        instance_.invoke(
            ctx, invocation,
            [&callbacks, request](const PRJ_CALLBACK_DATA& data) {
                return callbacks.GetFileDataCallback(&data, request->offset, request->length);
            },
            [this, stream, request](HRESULT hr) { requestDone(stream, *request, hr); }, /*hookInterrupt=*/false,
            [this, stream](int32_t id) {
                bool cancelNow;
                {
                    std::lock_guard lock(stream->mutex);
                    stream->commandId = id;
                    cancelNow = stream->abandoned;  // the last waiter left while this request was being made
                }
                if (cancelNow) instance_.cancelCommand(id);
            });
        std::lock_guard lock(stream->mutex);
        stream->issuing = false;
        if (!stream->resume) return;
    }
}

void Hydrator::requestDone(const std::shared_ptr<HydrationStream>& stream, FileDataRequest request, HRESULT hr)
{
    if (FAILED(hr)) return finish(stream, hr);
    bool delivered, complete;
    {
        std::lock_guard lock(stream->mutex);
        // S_OK means "all the requested data was returned"; accepting less could ask for one range forever.
        delivered = stream->received.covers(request.offset, request.offset + request.length);
        complete = stream->received.covers(stream->size);
        if (delivered && !complete && stream->issuing) {
            stream->resume = true;  // requestMore() is still in invoke() and makes the next request
            return;
        }
    }
    if (!delivered) {
        HC_LOG(Warn, "projfs",
               "GetFileData for '" + stream->rel + "' (" + std::to_string(request.length) + " bytes at " +
                   std::to_string(request.offset) + ") returned success before that data arrived");
        return finish(stream, HRESULT_FROM_WIN32(ERROR_INTERNAL_ERROR));
    }
    if (complete) return finish(stream, S_OK);
    // Completed by PrjCompleteCommand: the next request must not be made on the provider's own thread.
    instance_.executor().post([this, stream] { requestMore(stream); });
}

void Hydrator::finish(const std::shared_ptr<HydrationStream>& stream, HRESULT hr)
{
    {
        std::lock_guard lock(stream->mutex);
        stream->awaiting = false;
        if (SUCCEEDED(hr) && !stream->received.covers(stream->size)) hr = HRESULT_FROM_WIN32(ERROR_INTERNAL_ERROR);
    }
    {
        // PrjUpdateFileIfNeeded may have replaced the placeholder meanwhile (item_updates.cpp): then what
        // arrived is the old content and the file stays a placeholder (the next open fetches the new one).
        // The cached record is current here: an update drops it under the same lock before it returns, so a
        // record still cached was not replaced (a dropped one is read from disk).
        std::lock_guard updates(instance_.itemStateMutex());
        auto now = instance_.record(stream->inode.get(), stream->rel);
        const bool replaced = now.ok() && !sameVersion(now->version, stream->record.version);
        if (replaced) hr = HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED);
        // The provider's times, whether or not every byte arrived (a placeholder that stays one shows what
        // it showed before); a replaced placeholder has the provider's new times already.
        if (!replaced) ::futimens(stream->fd.get(), stream->times);
        (void)::fremovexattr(stream->fd.get(), kXattrHydrationTimes);
        // The mark comes last: an interrupted hydration leaves a placeholder, never a half file marked whole.
        if (SUCCEEDED(hr)) {
            auto s = instance_.setItemState(stream->inode.get(), stream->rel, ItemState::HydratedPlaceholder);
            if (!s) hr = s.hr();
        }
    }
    {
        std::lock_guard lock(stream->inode->mutex);
        if (stream->inode->hydration == stream) stream->inode->hydration = nullptr;
    }
    {
        std::lock_guard lock(mutex_);
        byStream_.erase(stream->id);
    }
    std::map<uint64_t, std::function<void(HRESULT)>> waiters;
    {
        std::lock_guard lock(stream->mutex);
        waiters.swap(stream->waiters);
    }
    for (auto& [id, done] : waiters)
        done(hr);
    // Only now: the waiters' opens pinned the Inode themselves, so a file the kernel forgot meanwhile
    // keeps one Inode from the hydration to its handles.
    instance_.inodes().unpin(*stream->inode);
}

HRESULT Hydrator::writeFileData(const GUID& streamId, const void* buffer, uint64_t offset, uint32_t length)
{
    std::shared_ptr<HydrationStream> stream;
    {
        std::lock_guard lock(mutex_);
        auto it = byStream_.find(streamId);
        if (it == byStream_.end()) return HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE);
        stream = it->second;
    }
    {
        std::lock_guard lock(stream->mutex);
        if (!stream->awaiting) return HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE);
    }
    HRESULT check = checkFileDataWrite(stream->size, buffer, offset, length, kWriteAlignment);
    if (FAILED(check)) return check;
    const char* bytes = static_cast<const char*>(buffer);
    uint64_t done = 0;
    while (done < length) {
        ssize_t n = ::pwrite(stream->fd.get(), bytes + done, length - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return hresultFromErrno(n < 0 ? errno : EIO);
        done += static_cast<uint64_t>(n);
    }
    std::lock_guard lock(stream->mutex);
    stream->received.add(offset, offset + length);
    return S_OK;
}

}  // namespace hc::projfs
