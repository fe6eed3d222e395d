#include "base/event_loop.h"

#include <poll.h>

#include <cerrno>

namespace hc {

void EventLoop::watchFd(int fd, short events, FdHandler handler)
{
    watches_[fd] = Watch{events, std::move(handler), ++generation_};
}

void EventLoop::setFdEvents(int fd, short events)
{
    auto it = watches_.find(fd);
    if (it != watches_.end()) it->second.events = events;
}

void EventLoop::unwatchFd(int fd)
{
    watches_.erase(fd);
}

uint64_t EventLoop::addTimer(std::chrono::milliseconds delay, Task task)
{
    uint64_t id = nextTimer_++;
    timers_[id] = Timer{Clock::now() + delay, std::move(task)};
    return id;
}

void EventLoop::cancelTimer(uint64_t id)
{
    timers_.erase(id);
}

void EventLoop::post(Task task)
{
    posted_.push_back(std::move(task));
}

void EventLoop::run()
{
    while (!stopped_)
        runOnce(std::chrono::milliseconds(-1));
}

void EventLoop::runOnce(std::chrono::milliseconds maxWait)
{
    int timeoutMs = static_cast<int>(maxWait.count());
    auto now = Clock::now();
    for (const auto& [id, timer] : timers_) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timer.due - now).count() + 1;
        if (ms < 0) ms = 0;
        if (timeoutMs < 0 || ms < timeoutMs) timeoutMs = static_cast<int>(ms);
    }
    if (!posted_.empty()) timeoutMs = 0;
    std::vector<pollfd> fds;
    std::vector<uint64_t> generations;
    for (const auto& [fd, watch] : watches_) {
        fds.push_back(pollfd{fd, watch.events, 0});
        generations.push_back(watch.generation);
    }
    int n = poll(fds.data(), fds.size(), timeoutMs);
    if (n < 0 && errno != EINTR) {
        stopped_ = true;
        return;
    }
    for (size_t i = 0; n > 0 && i < fds.size() && !stopped_; ++i) {
        if (fds[i].revents == 0) continue;
        auto it = watches_.find(fds[i].fd);
        // Skip descriptors unwatched (or replaced) by an earlier handler in this round.
        if (it == watches_.end() || it->second.generation != generations[i]) continue;
        FdHandler handler = it->second.handler;
        handler(fds[i].revents);
    }
    now = Clock::now();
    std::vector<uint64_t> due;
    for (const auto& [id, timer] : timers_) {
        if (timer.due <= now) due.push_back(id);
    }
    for (uint64_t id : due) {
        auto it = timers_.find(id);
        if (it == timers_.end()) continue;  // cancelled by an earlier timer
        Task task = std::move(it->second.task);
        timers_.erase(it);
        task();
    }
    while (!posted_.empty()) {
        auto tasks = std::move(posted_);
        posted_.clear();
        for (auto& task : tasks)
            task();
    }
}

}  // namespace hc
