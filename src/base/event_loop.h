// A single-threaded reactor (hcsd's one thread): poll() over watched descriptors plus timers plus posted tasks.
// Everything hcsd does runs on this thread, so its state needs no locks. Handlers may watch/unwatch descriptors and
// add/cancel timers freely; a descriptor unwatched during a round is not dispatched.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

namespace hc {

class EventLoop {
public:
    using FdHandler = std::function<void(short revents)>;
    using Task = std::function<void()>;
    using Clock = std::chrono::steady_clock;

    void watchFd(int fd, short events, FdHandler handler);
    void setFdEvents(int fd, short events);
    void unwatchFd(int fd);

    uint64_t addTimer(std::chrono::milliseconds delay, Task task);
    void cancelTimer(uint64_t id);

    // Runs `task` after the current handler returns (e.g. to destroy an object whose callback is running).
    void post(Task task);

    // Dispatches until stop().
    void run();
    // One round: waits at most `maxWait` for a descriptor, then runs what is due (ready descriptors,
    // expired timers, posted tasks). Tests drive the loop with this until what they wait for happened.
    void runOnce(std::chrono::milliseconds maxWait);
    void stop() { stopped_ = true; }
    bool stopped() const { return stopped_; }

private:
    struct Watch {
        short events;
        FdHandler handler;
        uint64_t generation;
    };
    struct Timer {
        Clock::time_point due;
        Task task;
    };
    std::map<int, Watch> watches_;
    std::map<uint64_t, Timer> timers_;
    std::vector<Task> posted_;
    uint64_t nextTimer_ = 1;
    uint64_t generation_ = 0;
    bool stopped_ = false;
};

}  // namespace hc
