// Which pended commands are still in flight and whether ProjFS has cancelled them: the seed's
// Track / Untrack / Mark / Check routines as one small class.
#pragma once

#include <projectedfslib.h>

#include <mutex>
#include <unordered_map>

namespace prjfs {

// Lifecycle of an entry: track() before a callback returns ERROR_IO_PENDING (so a cancellation racing
// the callback finds it), mark() from CancelCommandCallback (unknown ids are ignored: the command may
// have completed already), isCancelled() from the worker between steps, untrack() after completion.
class CancellationTracker {
public:
    void track(INT32 commandId)
    {
        std::lock_guard lock(mutex_);
        cancelled_[commandId] = false;
    }
    void untrack(INT32 commandId)
    {
        std::lock_guard lock(mutex_);
        cancelled_.erase(commandId);
    }
    void mark(INT32 commandId)
    {
        std::lock_guard lock(mutex_);
        auto it = cancelled_.find(commandId);
        if (it != cancelled_.end()) it->second = true;
    }
    bool isCancelled(INT32 commandId) const
    {
        std::lock_guard lock(mutex_);
        auto it = cancelled_.find(commandId);
        return it != cancelled_.end() && it->second;
    }

private:
    mutable std::mutex mutex_;
    std::unordered_map<INT32, bool> cancelled_;
};

}  // namespace prjfs
