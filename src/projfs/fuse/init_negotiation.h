// The FUSE INIT exchange of a new mount, handled before the request loop starts.
//
// Why: libfuse up to 3.16 (Debian 12 ships 3.14) accepts FUSE_CAP_PARALLEL_DIROPS in conn->want but never
// passes FUSE_PARALLEL_DIROPS to the kernel (fixed upstream in 3.17). Without it the kernel serializes
// every lookup and readdir of a directory behind one mutex: a slow GetPlaceholderInfo holds up first
// lookups of all its siblings, and a provider that looks up a sibling from inside that callback hangs.
// It also cannot ask for FUSE_PASSTHROUGH (kernel 6.9+, see passthrough.h). negotiateInit lets libfuse
// build its INIT reply as usual, captures it, adds what the kernel offered and we want, and sends it on.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

namespace hc::projfs {

struct InitOutcome {
    bool parallelDirops = false;
    bool passthrough = false;
};

// Reads the first request of `session` (the kernel's INIT) and has libfuse answer it with
// FUSE_PARALLEL_DIROPS and (if `wantPassthrough`) FUSE_PASSTHROUGH added where the kernel offered them.
// Reports what was granted; nothing if the session ended first or something unexpected arrived (that
// request is passed through unchanged; the request loop then carries on).
InitOutcome negotiateInit(fuse_session* session, bool wantPassthrough);

}  // namespace hc::projfs
