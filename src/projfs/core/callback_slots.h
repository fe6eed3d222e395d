// CallbackSlots: at most ConcurrentThreadCount provider callbacks run at once; further requests wait
// for a slot (as ProjFS blocks I/O when every worker is busy). Also counts callbacks in flight so Stop
// can wait for them to return: after stop() no callback starts.
#pragma once

#include <condition_variable>
#include <mutex>

namespace hc::projfs {

class CallbackSlots {
public:
    explicit CallbackSlots(unsigned count) : free_(count) {}

    // False once stopping: the caller must not call the provider.
    bool acquire()
    {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return stopping_ || free_ > 0; });
        if (stopping_) return false;
        --free_;
        ++running_;
        return true;
    }
    void release()
    {
        std::lock_guard lock(mutex_);
        ++free_;
        --running_;
        changed_.notify_all();
    }
    // For callbacks outside the concurrency limit (cancellation): counted for Stop, never blocked.
    bool enterUnlimited()
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return false;
        ++running_;
        return true;
    }
    void leaveUnlimited()
    {
        std::lock_guard lock(mutex_);
        --running_;
        changed_.notify_all();
    }
    // Refuses new callbacks and waits until the running ones returned.
    void stopAndDrain()
    {
        std::unique_lock lock(mutex_);
        stopping_ = true;
        changed_.notify_all();
        changed_.wait(lock, [&] { return running_ == 0; });
    }
    bool stopping() const
    {
        std::lock_guard lock(mutex_);
        return stopping_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    unsigned free_;
    unsigned running_ = 0;
    bool stopping_ = false;
};

}  // namespace hc::projfs
