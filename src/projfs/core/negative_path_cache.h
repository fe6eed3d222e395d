// NegativePathCache: the paths the provider said do not exist (GetPlaceholderInfo returned
// FILE_NOT_FOUND / PATH_NOT_FOUND) while PRJ_FLAG_USE_NEGATIVE_PATH_CACHE is on, so that later lookups of
// them fail at once without a callback.
//
// Lifecycle: owned by the VirtualizationInstance (lives from PrjStartVirtualizing to the instance's
// destruction). Entries are added by the lookup that got the provider's "not found"; an entry goes away
// when the name is created locally or the provider writes a placeholder there (forget), when
// PrjClearNegativePathCache drops everything (clear), or when the cache is full and it is the oldest
// (bounded memory: at most `capacity` entries). Keys are root-relative paths case-folded like names, so
// "Ghost" and "GHOST" are one entry. Thread-safe (one mutex); no callback runs under it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hc::projfs {

class NegativePathCache {
public:
    static constexpr size_t kDefaultCapacity = 65536;

    explicit NegativePathCache(size_t capacity = kDefaultCapacity) : capacity_(capacity == 0 ? 1 : capacity) {}

    bool contains(const std::string& rel) const;
    // Records `rel` as absent; evicts the oldest entry when full.
    void add(const std::string& rel);
    // The name now exists (or may): drop its entry, if any.
    void forget(const std::string& rel);
    // Drops every entry; returns how many there were.
    uint32_t clear();
    size_t size() const;

private:
    static std::wstring keyOf(const std::string& rel);

    const size_t capacity_;
    mutable std::mutex mutex_;
    std::list<std::wstring> order_;  // oldest first
    std::unordered_map<std::wstring, std::list<std::wstring>::iterator> entries_;
};

}  // namespace hc::projfs
