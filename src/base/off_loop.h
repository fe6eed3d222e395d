// Blocking work that must not stall an EventLoop (hcsd's one loop serves every client and system): an
// fsync that flushes a 100 MiB save file takes ~100 ms on a virtual disk.
//
// Lifecycle: runOffLoop starts a thread of its own for `work`, which shares one small state with the
// loop: the result and an eventfd. The thread stores the result and signals the eventfd; the loop's
// watch of it then runs `done(result)` once, on the loop, and drops the watch. If the loop goes away
// first, `done` never runs and the thread frees the state when it finishes. `work` must not touch
// anything the loop owns.
#pragma once

#include <functional>

#include "base/event_loop.h"
#include "base/result.h"

namespace hc {

void runOffLoop(EventLoop& loop, std::function<Status()> work, std::function<void(Status)> done);

}  // namespace hc
