// SharedLookups: at most one GetPlaceholderInfo per path at a time. Two programs walking a fresh tree reach
// the same never-written name at once (both open a listed directory, both look up one name); each used to
// ask the provider, which wrote the same placeholder twice, and the second write — taken for a provider
// change of an existing item — dropped the parent's listing and detached every listed sibling the kernel
// still held, so `find`/`du` running together got ENOENT for them (issue 12). Now the first lookup asks and
// the others wait for its answer, then look at the disk as if they had asked themselves.
//
// Lifecycle of one path's entry: start() by the lookup that calls the provider (the owner) → join() by
// lookups of the same path (case-insensitively, as names match in a projected directory) → finish() by
// the owner with the provider's result, which every waiter still waiting gets. A waiter whose request is
// interrupted leaves at once with ERROR_OPERATION_ABORTED; the owner's callback is cancelled only through
// the owner's own request, and waiters that were not interrupted then ask again (resolveChild retries).
//
// Threads: any. One mutex, a leaf: no callback, waiter or other lock is taken under it.
#pragma once

#include "projfs/core/request_context.h"

#include <projectedfslib.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace hc::projfs {

class SharedLookups {
public:
    using Waiter = std::function<void(HRESULT)>;

    // True when the caller now owns the lookup of `rel` (it must call the provider, then finish()); false
    // when a lookup of `rel` was in flight and `waiter` joined it (it runs once: with the owner's result,
    // or with ERROR_OPERATION_ABORTED as soon as `ctx` is interrupted).
    bool startOrJoin(const std::string& rel, const RequestContext& ctx, Waiter waiter);
    // The owner's provider call for `rel` ended with `hr`: the path is no longer in flight, and every
    // waiter gets `hr` (on this thread, after the entry is gone, so a waiter may start a new lookup).
    void finish(const std::string& rel, HRESULT hr);
    // True while a lookup of `rel` is in flight.
    bool inFlight(const std::string& rel) const;

private:
    struct Entry {
        std::vector<std::pair<uint64_t, Waiter>> waiters;  // by waiter id
    };
    static std::wstring keyOf(const std::string& rel);
    // The waiter `id` of `key` was interrupted: it leaves and is answered, unless finish() answered it.
    void abandon(const std::wstring& key, uint64_t id);

    mutable std::mutex mutex_;
    uint64_t nextWaiter_ = 1;
    std::unordered_map<std::wstring, Entry> inFlight_;
};

}  // namespace hc::projfs
