// Hydrator: fetches a placeholder file's content from the provider (GetFileDataCallback) exactly once
// however many opens wait for it.
//
// HydrationStream lifecycle: created by the first open of a placeholder (new DataStreamId, backing
// file opened for writing through the root descriptor; the file's Inode holds it and is pinned in the
// InodeMap until the stream finishes, so every open of the file finds the same stream) → Requesting: one GetFileData at
// a time, for the first range not yet received, at most the maximum request length (lengths are 32-bit, so a file over
// 4 GiB takes several); PrjWriteFileData writes into the sparse placeholder and records the range; each
// request that succeeds must have delivered at least what it asked for (else the hydration fails: a
// provider that returns success without data can never loop us) → finished once: every byte received
// marks the file hydrated (state attribute written last, times restored), any failure leaves it a
// placeholder so the next open starts again. The whole hydration shares one DataStreamId; each request
// has its own CommandId (stream->commandId is the one in flight). Waiters (one per open) each get the
// result; an interrupted waiter leaves, and when the last one leaves the request in flight is cancelled
// and no further request is made. After finishing, PrjWriteFileData on the stream is ERROR_INVALID_HANDLE.
#pragma once

#include "base/guid.h"
#include "projfs/core/inode.h"
#include "projfs/core/lock_rank.h"
#include "projfs/core/request_context.h"
#include "base/unique_fd.h"

#include <projectedfslib.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hc::projfs {

class VirtualizationInstance;

// Which byte ranges of [0, size) have arrived.
class ReceivedRanges {
public:
    void add(uint64_t begin, uint64_t end);
    bool covers(uint64_t size) const;  // all of [0, size)
    bool covers(uint64_t begin, uint64_t end) const;
    // The first range of [0, size) not received, or nullopt when there is none.
    std::optional<std::pair<uint64_t, uint64_t>> firstGap(uint64_t size) const;

private:
    std::map<uint64_t, uint64_t> ranges_;  // begin -> end, disjoint, merged
};

// Checks PrjWriteFileData's arguments against a stream of `size` bytes.
HRESULT checkFileDataWrite(uint64_t size, const void* buffer, uint64_t offset, uint32_t length, uint32_t alignment);

// The largest GetFileData length: the largest multiple of the write alignment a UINT32 holds.
uint32_t defaultMaxFileDataRequest();
// A requested maximum made usable: 0 means the default; others are rounded down to the write alignment
// (at least one alignment unit) so that every request but the last stays aligned.
uint32_t normalizedMaxFileDataRequest(uint32_t requested);

struct FileDataRequest {
    uint64_t offset = 0;
    uint32_t length = 0;
};
// The next GetFileData to make: the start of the first range not yet received, at most `maxLength`
// bytes of it; nullopt when everything arrived. Received ranges start and end on the write alignment
// (or at the end of the file, checkFileDataWrite), so with an aligned `maxLength` the request is aligned
// except for a last length that ends at the end of the file.
std::optional<FileDataRequest> nextFileDataRequest(const ReceivedRanges& received, uint64_t size, uint32_t maxLength);

class HydrationStream;

class Hydrator {
public:
    // maxRequestLength: the longest GetFileData to ask for; 0 = defaultMaxFileDataRequest() (tests make it
    // small to exercise multi-request hydration with small files).
    explicit Hydrator(VirtualizationInstance& instance, uint32_t maxRequestLength = 0)
        : instance_(instance), maxRequestLength_(normalizedMaxFileDataRequest(maxRequestLength))
    {
    }

    // Hydrates the placeholder file `inode` (at `rel`); done(S_OK) at once when it is not a placeholder.
    void hydrate(const RequestContext& ctx, const std::shared_ptr<Inode>& inode, const std::string& rel,
                 std::function<void(HRESULT)> done);
    HRESULT writeFileData(const GUID& streamId, const void* buffer, uint64_t offset, uint32_t length);

private:
    void start(const std::shared_ptr<HydrationStream>& stream);
    void requestMore(const std::shared_ptr<HydrationStream>& stream);
    void requestDone(const std::shared_ptr<HydrationStream>& stream, FileDataRequest request, HRESULT hr);
    void finish(const std::shared_ptr<HydrationStream>& stream, HRESULT hr);
    void addWaiter(const std::shared_ptr<HydrationStream>& stream, const RequestContext& ctx,
                   std::function<void(HRESULT)> done);

    VirtualizationInstance& instance_;
    const uint32_t maxRequestLength_;
    RankedMutex<LockRank::HydratorStreams> mutex_;
    std::unordered_map<GUID, std::shared_ptr<HydrationStream>, GuidHash, GuidEq> byStream_;
};

}  // namespace hc::projfs
