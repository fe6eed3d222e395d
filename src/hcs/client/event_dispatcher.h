// EventDispatcher: the one thread on which the library runs user callbacks (operation completions,
// compute system events). User code never runs on the service channel's reader thread, so a callback
// may call any HCS function — including synchronous ones that wait for a reply — without deadlock.
// Callbacks run one at a time, in the order they were posted (per handle this is the order in which
// the service reported them).
//
// Lifecycle: started on first post(); never stopped (the process-wide client is never destroyed, so
// no callback can run into destroyed statics at exit).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace hc::hcs {

class EventDispatcher {
public:
    using Task = std::function<void()>;

    void post(Task task);

    // True on the dispatch thread, i.e. inside a user callback.
    bool onDispatchThread() const;

private:
    void run();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Task> queue_;
    std::thread thread_;
};

}  // namespace hc::hcs
