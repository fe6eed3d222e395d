#include "projfs/core/shared_lookups.h"

#include "base/hresult.h"
#include "projfs/store/name_rules.h"
#include "projfs/store/rel_path.h"

namespace hc::projfs {

std::wstring SharedLookups::keyOf(const std::string& rel)
{
    // '/' folds to itself, so folding the whole path folds each component.
    return caseFoldedName(wideFromDiskName(rel));
}

bool SharedLookups::startOrJoin(const std::string& rel, const RequestContext& ctx, Waiter waiter)
{
    std::wstring key = keyOf(rel);
    uint64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        auto [it, started] = inFlight_.try_emplace(key);
        if (started) return true;
        id = nextWaiter_++;
        it->second.waiters.emplace_back(id, std::move(waiter));
    }
    // Outside the lock: an interruption that already happened runs the handler at once.
    ctx.interruption->setHandler([this, key, id] { abandon(key, id); });
    return false;
}

void SharedLookups::abandon(const std::wstring& key, uint64_t id)
{
    Waiter waiter;
    {
        std::lock_guard lock(mutex_);
        auto it = inFlight_.find(key);
        if (it == inFlight_.end()) return;
        auto& waiters = it->second.waiters;
        for (auto w = waiters.begin(); w != waiters.end(); ++w) {
            if (w->first != id) continue;
            waiter = std::move(w->second);
            waiters.erase(w);
            break;
        }
    }
    if (waiter) waiter(HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED));
}

void SharedLookups::finish(const std::string& rel, HRESULT hr)
{
    std::vector<std::pair<uint64_t, Waiter>> waiters;
    {
        std::lock_guard lock(mutex_);
        auto it = inFlight_.find(keyOf(rel));
        if (it == inFlight_.end()) return;
        waiters = std::move(it->second.waiters);
        inFlight_.erase(it);
    }
    for (auto& [id, waiter] : waiters)
        waiter(hr);
}

bool SharedLookups::inFlight(const std::string& rel) const
{
    std::wstring key = keyOf(rel);
    std::lock_guard lock(mutex_);
    return inFlight_.count(key) != 0;
}

}  // namespace hc::projfs
