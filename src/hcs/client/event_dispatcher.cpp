#include "hcs/client/event_dispatcher.h"

namespace hc::hcs {
namespace {
// Set on the dispatch thread only; tells close functions that they run inside a callback.
thread_local bool tlsOnDispatchThread = false;
}  // namespace

void EventDispatcher::post(Task task)
{
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    queue_.push_back(std::move(task));
    wake_.notify_one();
}

bool EventDispatcher::onDispatchThread() const
{
    return tlsOnDispatchThread;
}

void EventDispatcher::run()
{
    tlsOnDispatchThread = true;
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [&] { return !queue_.empty(); });
        Task task = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        task();
        task = nullptr;  // release captured references before sleeping
        lock.lock();
    }
}

}  // namespace hc::hcs
