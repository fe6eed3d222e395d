#include "projfs/core/negative_path_cache.h"

#include "projfs/store/name_rules.h"
#include "projfs/store/rel_path.h"

#include <limits>

namespace hc::projfs {

std::wstring NegativePathCache::keyOf(const std::string& rel)
{
    // '/' folds to itself, so folding the whole path folds each component.
    return caseFoldedName(wideFromDiskName(rel));
}

bool NegativePathCache::contains(const std::string& rel) const
{
    std::wstring key = keyOf(rel);
    std::lock_guard lock(mutex_);
    return entries_.count(key) != 0;
}

void NegativePathCache::add(const std::string& rel)
{
    std::wstring key = keyOf(rel);
    std::lock_guard lock(mutex_);
    if (entries_.count(key) != 0) return;
    if (entries_.size() >= capacity_) {
        entries_.erase(order_.front());
        order_.pop_front();
    }
    order_.push_back(key);
    entries_.emplace(std::move(key), std::prev(order_.end()));
}

void NegativePathCache::forget(const std::string& rel)
{
    std::wstring key = keyOf(rel);
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    order_.erase(it->second);
    entries_.erase(it);
}

uint32_t NegativePathCache::clear()
{
    std::lock_guard lock(mutex_);
    size_t count = entries_.size();
    entries_.clear();
    order_.clear();
    return count > std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max()
                                                        : static_cast<uint32_t>(count);
}

size_t NegativePathCache::size() const
{
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace hc::projfs
