// The clients waiting for one compute system's exit (WaitForComputeSystemExit, and ShutDown /
// Terminate replies, which come when QEMU is gone). This class is their ONE owner: adding, timing
// out, cancelling, dropping a vanished session's, and firing them all at the exit happen here.
// Lifecycle: a waiter is added, then leaves exactly once — fired (takeAll), timed out (its
// onTimeout runs), taken (cancel, a failed ShutDown) or dropped (its session closed). Destroying
// the set cancels the timers of the waiters still in it. Runs on the event loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "base/event_loop.h"
#include "hcs/schema/documents.h"

namespace hc::hcs::service {

struct ExitWaiter {
    uint64_t session = 0;
    uint64_t requestId = 0;
    std::function<void(const schema::SystemExitStatus&)> onExit;
    std::function<void()> onTimeout;  // needed only with a timeout
};

class ExitWaiters {
public:
    explicit ExitWaiters(EventLoop& loop) : loop_(loop) {}
    ~ExitWaiters();
    ExitWaiters(const ExitWaiters&) = delete;
    ExitWaiters& operator=(const ExitWaiters&) = delete;

    // `timeout` zero = wait for ever.
    void add(ExitWaiter waiter, std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
    // Removes the waiter of that request (cancel, a failed ShutDown), if it is here.
    std::optional<ExitWaiter> take(uint64_t session, uint64_t requestId);
    void dropSession(uint64_t session);
    // Every waiter, for firing at the exit (or failing when the creation failed).
    std::vector<ExitWaiter> takeAll();
    bool empty() const { return waiters_.empty(); }

private:
    struct Entry {
        ExitWaiter waiter;
        uint64_t timer = 0;
    };
    EventLoop& loop_;
    std::vector<Entry> waiters_;
};

}  // namespace hc::hcs::service
