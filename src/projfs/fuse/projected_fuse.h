// ProjectedFuse: the FUSE low-level transport of a virtualization root. It mounts over the root
// (after the backing store opened it), runs PoolThreadCount session threads, turns each request into one
// call on the core's Dispatcher, and replies with its answer — possibly later, from another thread, when
// the provider completes asynchronously. FUSE INTERRUPT fires the request's Interruption. Nothing here
// knows ProjFS rules or touches the backing store.
#pragma once

#include "base/result.h"

#include <memory>
#include <string>

namespace hc::projfs {

class VirtualizationInstance;

class ProjectedFuse {
public:
    // Mounts over `mountPoint` and starts `threads` session threads.
    static Result<std::unique_ptr<ProjectedFuse>> mount(VirtualizationInstance& instance, const std::string& mountPoint,
                                                        unsigned threads);
    ~ProjectedFuse();
    // Detaches the mount (lazily if busy; a busy connection is aborted through the abort file opened at
    // mount time, never by connection number), joins the session threads, then closes /dev/fuse. Idempotent.
    void unmount();

    struct State;

private:
    explicit ProjectedFuse(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

}  // namespace hc::projfs
