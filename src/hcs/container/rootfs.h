// A container's root file system: an overlay mount of the document's layers (read-only lower
// directories, Layers[0] on top) under its scratch directory's upper/ (the writable layer) and work/
// (overlayfs' scratch), mounted in hcsd's mount namespace at a path in hcsd's private state directory
// outside every system directory (so removing a system's state can never reach into it).
// The layers are never written: overlayfs copies a file up into upper/ before changing it.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "hcs/schema/container.h"

namespace hc::hcs::container {

// Checks the layers and the scratch directory (errors name the document's field), creates upper/ and
// work/ in the scratch directory and `target`, and mounts the overlay there.
Status mountRootfs(const schema::ContainerConfig& config, const std::string& target);

// Detaches the overlay at `target` (lazily: a process still inside keeps it until it leaves) and
// removes the empty mount point. Nothing happens when `target` is not mounted.
void unmountRootfs(const std::string& target);

// The mapped directories' host paths exist and are directories the caller may read (and write,
// unless ReadOnly); none of them holds `privatePath` (hcsd's state and socket) or lies inside it.
Status checkMappedDirectories(const schema::ContainerConfig& config, const std::vector<std::string>& privatePaths);

}  // namespace hc::hcs::container
