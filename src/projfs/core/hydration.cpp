#include "projfs/core/hydration.h"

#include "base/hresult.h"
#include "base/log.h"
#include "projfs/core/virtualization_instance.h"
#include "projfs/store/rel_path.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

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
    if (size == 0) return true;
    return ranges_.size() == 1 && ranges_.begin()->first == 0 && ranges_.begin()->second >= size;
}

HRESULT checkFileDataWrite(uint64_t size, const void* buffer, uint64_t offset, uint32_t length, uint32_t alignment)
{
    if (buffer == nullptr || length == 0) return E_INVALIDARG;
    if (offset >= size || length > size - offset) return E_INVALIDARG;
    if (offset % alignment != 0) return HRESULT_FROM_WIN32(ERROR_OFFSET_ALIGNMENT_VIOLATION);
    if (length % alignment != 0 && offset + length != size) return HRESULT_FROM_WIN32(ERROR_OFFSET_ALIGNMENT_VIOLATION);
    return S_OK;
}

class HydrationStream {
public:
    GUID id{};
    std::string rel;
    uint64_t inode = 0;
    uint64_t size = 0;
    timespec times[2]{};  // atime, mtime to restore (writing the data changes them)
    UniqueFd fd;
    ItemRecord record;

    std::mutex mutex;
    bool awaiting = true;
    ReceivedRanges received;
    uint64_t nextWaiter = 1;
    std::map<uint64_t, std::function<void(HRESULT)>> waiters;
    int32_t commandId = 0;
};

void Hydrator::hydrate(const RequestContext& ctx, const std::string& rel, std::function<void(HRESULT)> done)
{
    auto record = instance_.store().readRecord(rel);
    if (!record) return done(record.hr());
    if (record->state != ItemState::Placeholder || record->isDirectory) return done(S_OK);
    auto st = instance_.store().statItem(rel);
    if (!st) return done(st.hr());

    std::shared_ptr<HydrationStream> stream;
    bool first = false;
    {
        std::lock_guard lock(mutex_);
        auto it = byFile_.find(st->st_ino);
        if (it != byFile_.end()) {
            stream = it->second;
        } else {
            auto fd = instance_.store().openItem(rel, O_WRONLY | O_NOFOLLOW);
            if (!fd) return done(fd.hr());
            stream = std::make_shared<HydrationStream>();
            stream->id = newGuid();
            stream->rel = rel;
            stream->inode = st->st_ino;
            stream->size = static_cast<uint64_t>(st->st_size);
            stream->times[0] = st->st_atim;
            stream->times[1] = st->st_mtim;
            stream->fd = std::move(fd).value();
            stream->record = std::move(record).value();
            byFile_.emplace(stream->inode, stream);
            byStream_.emplace(stream->id, stream);
            first = true;
        }
    }
    addWaiter(stream, ctx, std::move(done));
    if (first) start(stream, ctx);
}

void Hydrator::addWaiter(const std::shared_ptr<HydrationStream>& stream, const RequestContext& ctx,
                         std::function<void(HRESULT)> done)
{
    uint64_t waiterId;
    {
        std::lock_guard lock(stream->mutex);
        waiterId = stream->nextWaiter++;
        stream->waiters.emplace(waiterId, std::move(done));
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
            commandId = s->commandId;
        }
        leaving(HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED));
        if (last && commandId != 0) instance_.cancelCommand(commandId);
    });
}

void Hydrator::start(const std::shared_ptr<HydrationStream>& stream, const RequestContext& ctx)
{
    if (stream->size == 0) return finish(stream, S_OK);
    Invocation invocation;
    invocation.kind = CommandKind::GetFileData;
    invocation.filePathName = providerPathFromRel(stream->record.projected ? stream->record.originPath : stream->rel);
    invocation.dataStreamId = stream->id;
    invocation.versionInfo = stream->record.version;
    const PRJ_CALLBACKS& callbacks = instance_.options().callbacks;
    // Lengths are 32-bit: a file over 4 GiB is asked for its first 4 GiB - 4 KiB; providers may return
    // more than asked, up to the file size (docs/projfs-design.md).
    uint32_t length = static_cast<uint32_t>(std::min<uint64_t>(stream->size, UINT32_MAX - kWriteAlignment + 1));
    instance_.invoke(
        ctx, invocation,
        [&callbacks, length](const PRJ_CALLBACK_DATA& data) { return callbacks.GetFileDataCallback(&data, 0, length); },
        [this, stream](HRESULT hr) { finish(stream, hr); }, /*hookInterrupt=*/false,
        [stream](int32_t id) {
            std::lock_guard lock(stream->mutex);
            stream->commandId = id;
        });
}

void Hydrator::finish(const std::shared_ptr<HydrationStream>& stream, HRESULT hr)
{
    {
        std::lock_guard lock(stream->mutex);
        stream->awaiting = false;
        if (SUCCEEDED(hr) && !stream->received.covers(stream->size)) {
            HC_LOG(Warn, "projfs", "GetFileData for '" + stream->rel + "' returned success before all data arrived");
            hr = HRESULT_FROM_WIN32(ERROR_INTERNAL_ERROR);
        }
    }
    if (SUCCEEDED(hr)) {
        ::futimens(stream->fd.get(), stream->times);
        // The mark comes last: an interrupted hydration leaves a placeholder, never a half file marked whole.
        if (auto s = instance_.store().setState(stream->rel, ItemState::HydratedPlaceholder); !s) hr = s.hr();
    }
    {
        std::lock_guard lock(mutex_);
        byFile_.erase(stream->inode);
        byStream_.erase(stream->id);
    }
    std::map<uint64_t, std::function<void(HRESULT)>> waiters;
    {
        std::lock_guard lock(stream->mutex);
        waiters.swap(stream->waiters);
    }
    for (auto& [id, done] : waiters)
        done(hr);
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
