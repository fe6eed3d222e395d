#include "hcs/service/exit_waiters.h"

namespace hc::hcs::service {

ExitWaiters::~ExitWaiters()
{
    for (auto& entry : waiters_) {
        if (entry.timer) loop_.cancelTimer(entry.timer);
    }
}

void ExitWaiters::add(ExitWaiter waiter, std::chrono::milliseconds timeout)
{
    Entry entry{std::move(waiter), 0};
    if (timeout.count() > 0) {
        entry.timer = loop_.addTimer(timeout, [this, session = entry.waiter.session, rid = entry.waiter.requestId] {
            for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
                if (it->waiter.session == session && it->waiter.requestId == rid) {
                    ExitWaiter expired = std::move(it->waiter);
                    waiters_.erase(it);
                    if (expired.onTimeout) expired.onTimeout();
                    return;
                }
            }
        });
    }
    waiters_.push_back(std::move(entry));
}

std::optional<ExitWaiter> ExitWaiters::take(uint64_t session, uint64_t requestId)
{
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        if (it->waiter.session == session && it->waiter.requestId == requestId) {
            if (it->timer) loop_.cancelTimer(it->timer);
            ExitWaiter waiter = std::move(it->waiter);
            waiters_.erase(it);
            return waiter;
        }
    }
    return std::nullopt;
}

void ExitWaiters::dropSession(uint64_t session)
{
    for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->waiter.session == session) {
            if (it->timer) loop_.cancelTimer(it->timer);
            it = waiters_.erase(it);
        } else {
            ++it;
        }
    }
}

std::vector<ExitWaiter> ExitWaiters::takeAll()
{
    std::vector<ExitWaiter> all;
    for (auto& entry : waiters_) {
        if (entry.timer) loop_.cancelTimer(entry.timer);
        all.push_back(std::move(entry.waiter));
    }
    waiters_.clear();
    return all;
}

}  // namespace hc::hcs::service
