#include "base/off_loop.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "base/unique_fd.h"

namespace hc {

namespace {

struct OffLoopState {
    UniqueFd signal;  // eventfd: written once by the thread, read by the loop
    Status result;    // written by the thread before the eventfd, read by the loop after it
};

}  // namespace

void runOffLoop(EventLoop& loop, std::function<Status()> work, std::function<void(Status)> done)
{
    auto state = std::make_shared<OffLoopState>();
    state->signal.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!state->signal.valid()) {
        // No eventfd (descriptor limit): do the work here rather than not at all.
        Status result = work();
        loop.post([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
        return;
    }
    const int fd = state->signal.get();
    // The loop calls a copy of this handler, so unwatching inside it is safe.
    loop.watchFd(fd, POLLIN, [&loop, fd, state, done = std::move(done)](short) {
        uint64_t count = 0;
        if (read(fd, &count, sizeof count) != sizeof count) return;  // spurious: wait for the thread
        loop.unwatchFd(fd);
        done(std::move(state->result));
    });
    std::thread([state, work = std::move(work)] {
        state->result = work();
        const uint64_t one = 1;
        ssize_t ignored = write(state->signal.get(), &one, sizeof one);  // eventfd writes of 8 bytes do not fail
        (void)ignored;
    }).detach();
}

}  // namespace hc
