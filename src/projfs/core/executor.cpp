#include "projfs/core/executor.h"

namespace hc::projfs {

SerialExecutor::SerialExecutor() : thread_([this] { run(); }) {}

SerialExecutor::~SerialExecutor()
{
    shutdown();
}

void SerialExecutor::post(std::function<void()> task)
{
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            tasks_.push_back(std::move(task));
            wake_.notify_one();
            return;
        }
    }
    task();
}

void SerialExecutor::shutdown()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        wake_.notify_one();
    }
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void SerialExecutor::run()
{
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        auto task = std::move(tasks_.front());
        tasks_.pop_front();
        lock.unlock();
        task();
        lock.lock();
    }
}

}  // namespace hc::projfs
