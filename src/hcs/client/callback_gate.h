// CallbackGate: lets the event dispatch thread run a user callback for an object (an operation or a
// compute system handle) only while the object is open, and lets a close wait until a callback that
// is already running has returned — so that after HcsCloseOperation / HcsCloseComputeSystem returns,
// no callback for that handle runs any more, and the user may free the callback's context.
//
// A close from the dispatch thread itself (i.e. from inside a callback) does not wait: callbacks run
// one at a time on that thread, so none can be running for this object except possibly the caller.
#pragma once

#include <condition_variable>
#include <mutex>

namespace hc::hcs {

class CallbackGate {
public:
    // Before invoking a callback: false when the object is closed (skip the callback).
    bool enter()
    {
        std::lock_guard lock(mutex_);
        if (closed_) return false;
        ++running_;
        return true;
    }

    // After the callback returned.
    void leave()
    {
        std::lock_guard lock(mutex_);
        if (--running_ == 0) idle_.notify_all();
    }

    // Closes the gate; no callback starts afterwards. With `waitForRunning`, also waits until
    // callbacks already running have returned.
    void close(bool waitForRunning)
    {
        std::unique_lock lock(mutex_);
        closed_ = true;
        if (waitForRunning) idle_.wait(lock, [&] { return running_ == 0; });
    }

    bool isClosed() const
    {
        std::lock_guard lock(mutex_);
        return closed_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable idle_;
    bool closed_ = false;
    int running_ = 0;
};

}  // namespace hc::hcs
