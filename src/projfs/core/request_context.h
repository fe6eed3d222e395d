// RequestContext: what core/ knows about the file system request that needs the provider — who made
// it, and a way to hear that it was interrupted — without seeing any FUSE type.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <mutex>
#include <utility>

namespace hc::projfs {

// Interruption: set by the transport when the requesting thread is interrupted (signal, exit). The
// handler core installs runs once, at once if the interruption already happened.
class Interruption {
public:
    void setHandler(std::function<void()> handler)
    {
        std::unique_lock lock(mutex_);
        if (fired_) {
            lock.unlock();
            if (handler) handler();
            return;
        }
        handler_ = std::move(handler);
    }
    void clearHandler()
    {
        std::lock_guard lock(mutex_);
        handler_ = nullptr;
    }
    void fire()
    {
        std::function<void()> handler;
        {
            std::lock_guard lock(mutex_);
            if (fired_) return;
            fired_ = true;
            handler = std::exchange(handler_, nullptr);
        }
        if (handler) handler();
    }
    bool fired() const
    {
        std::lock_guard lock(mutex_);
        return fired_;
    }

private:
    mutable std::mutex mutex_;
    bool fired_ = false;
    std::function<void()> handler_;
};

struct RequestContext {
    pid_t tid = 0;  // the requesting thread as the kernel reports it; 0 = unknown
    std::shared_ptr<Interruption> interruption = std::make_shared<Interruption>();
};

}  // namespace hc::projfs
