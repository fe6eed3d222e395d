// SerialExecutor: one thread that runs continuations which must not run on the provider's own thread
// (e.g. the next GetDirectoryEnumeration call after an asynchronous completion). Joined on destruction.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace hc::projfs {

class SerialExecutor {
public:
    SerialExecutor();
    ~SerialExecutor();
    void post(std::function<void()> task);
    // Runs what is queued, then stops the thread. Later posts run inline.
    void shutdown();

private:
    void run();
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> tasks_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace hc::projfs
