// Hydrator: fetches a placeholder file's content from the provider (GetFileDataCallback for the whole
// file) exactly once however many opens wait for it.
//
// HydrationStream lifecycle: created by the first open of a placeholder (new DataStreamId, backing
// file opened for writing through the root descriptor) → Awaiting data (PrjWriteFileData writes into the
// sparse placeholder, ranges recorded) → finished once, by the command's result: success with every
// byte received marks the file hydrated (state attribute written last, times restored), anything else
// leaves it a placeholder so the next open tries again. Waiters (one per open) each get the result;
// an interrupted waiter leaves, and when the last one leaves the command is cancelled. After finishing,
// PrjWriteFileData on the stream is ERROR_INVALID_HANDLE.
#pragma once

#include "base/guid.h"
#include "projfs/core/request_context.h"
#include "projfs/store/unique_fd.h"

#include <projectedfslib.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace hc::projfs {

class VirtualizationInstance;

// Which byte ranges of [0, size) have arrived.
class ReceivedRanges {
public:
    void add(uint64_t begin, uint64_t end);
    bool covers(uint64_t size) const;

private:
    std::map<uint64_t, uint64_t> ranges_;  // begin -> end, disjoint, merged
};

// Checks PrjWriteFileData's arguments against a stream of `size` bytes.
HRESULT checkFileDataWrite(uint64_t size, const void* buffer, uint64_t offset, uint32_t length, uint32_t alignment);

class HydrationStream;

class Hydrator {
public:
    explicit Hydrator(VirtualizationInstance& instance) : instance_(instance) {}

    void hydrate(const RequestContext& ctx, const std::string& rel, std::function<void(HRESULT)> done);
    HRESULT writeFileData(const GUID& streamId, const void* buffer, uint64_t offset, uint32_t length);

private:
    void start(const std::shared_ptr<HydrationStream>& stream, const RequestContext& ctx);
    void finish(const std::shared_ptr<HydrationStream>& stream, HRESULT hr);
    void addWaiter(const std::shared_ptr<HydrationStream>& stream, const RequestContext& ctx,
                   std::function<void(HRESULT)> done);

    VirtualizationInstance& instance_;
    std::mutex mutex_;
    std::unordered_map<uint64_t, std::shared_ptr<HydrationStream>> byFile_;  // backing inode -> stream
    std::unordered_map<GUID, std::shared_ptr<HydrationStream>, GuidHash, GuidEq> byStream_;
};

}  // namespace hc::projfs
