// The FUSE INIT exchange of a new mount, handled before the request loop starts.
//
// Why: libfuse up to 3.16 (Debian 12 ships 3.14) accepts FUSE_CAP_PARALLEL_DIROPS in conn->want but never
// passes FUSE_PARALLEL_DIROPS to the kernel (fixed upstream in 3.17). Without it the kernel serializes
// every lookup and readdir of a directory behind one mutex: a slow GetPlaceholderInfo holds up first
// lookups of all its siblings, and a provider that looks up a sibling from inside that callback hangs.
// processInit lets libfuse build its INIT reply as usual, captures it, sets the flag if the kernel
// offered it, and sends the reply on.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

namespace hc::projfs {

// Reads the first request of `session` (the kernel's INIT), has libfuse answer it with FUSE_PARALLEL_DIROPS
// added, and returns true. Returns false, having processed nothing or passed the request through
// unchanged, if the session ended first or something unexpected arrived; the request loop then carries on.
bool processInitWithParallelDirops(fuse_session* session);

}  // namespace hc::projfs
