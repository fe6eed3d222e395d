// A fixed pool of threads running queued tasks in order of arrival; used by `prjfs mirror --async`
// to complete pended callbacks.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace prjfs {

// Lifecycle: threads start in the constructor; submit() queues until shutdown(); shutdown() runs
// what is queued, joins every thread, and makes later submit() calls return false. The destructor
// calls shutdown().
class WorkerPool {
public:
    explicit WorkerPool(unsigned threads);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    bool submit(std::function<void()> task);
    void shutdown();

private:
    void run();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace prjfs
