// The system's projfs mounts, as /proc/self/mountinfo lists them (type fuse.projfs, made by
// ProjectedFuse::mount in any process), for two decisions that cross process boundaries:
//   - a provider process that died (SIGKILL, a crash) leaves a *dead* mount: its FUSE connection is gone
//     and every access under it fails with ENOTCONN until someone unmounts it. The runtime detaches such
//     mounts on or above a path it is asked about (PrjStartVirtualizing, PrjMarkDirectoryAsPlaceholder,
//     PrjGetOnDiskFileState), so what is on disk below is reachable again — no `fusermount3 -u` by hand;
//   - a *live* projfs mount on or around a root means another provider (maybe another process) serves
//     it, so a second PrjStartVirtualizing there must be refused instead of mounting on top.
// Stateless functions; each reads mountinfo afresh.
#pragma once

#include "base/result.h"

#include <string>
#include <vector>

namespace hc::projfs {

struct ProjfsMount {
    std::string mountPoint;  // absolute, mountinfo's escapes decoded
    bool dead = false;       // statfs() of it fails with ENOTCONN: no process serves it any more
};

// Every fuse.projfs mount, in mount order.
std::vector<ProjfsMount> projfsMounts();

// `path` made usable again if a dead projfs mount covers it: detaches every dead projfs mount that is
// `path` itself, an ancestor of it, or (when `path`'s last component is a symbolic link) what that link
// names. `path` may be relative, and may be a symbolic link. Returns how many mounts were detached
// (umount2 with MNT_DETACH as root, else `fusermount3 -u -z`).
Result<int> detachDeadMountsCovering(const std::string& path);

// True when `ancestor` is `path` or a directory above it (both absolute and normal).
bool pathIsOrIsBelow(const std::string& path, const std::string& ancestor);

}  // namespace hc::projfs
