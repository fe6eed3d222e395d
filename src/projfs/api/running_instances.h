// The virtualization instances running in this process, by their PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT.
// A context is a token looked up here on every call, so a stopped or garbage context is an error
// (E_INVALIDARG), never a dangling pointer; callers hold a shared_ptr for the duration of one call.
#pragma once

#include "base/result.h"
#include "projfs/core/virtualization_instance.h"
#include "projfs/fuse/projected_fuse.h"

#include <memory>
#include <string>

namespace hc::projfs {

// Destroyed by the last holder (a provider thread may still be inside an API call when Stop runs);
// `fuse` is declared last so it goes first.
struct RunningInstance {
    std::string rootPath;  // canonical
    std::unique_ptr<VirtualizationInstance> instance;
    std::unique_ptr<ProjectedFuse> fuse;
};

// Reserves `rootPath`: ALREADY_INITIALIZED when it runs already, INVALID_OPERATION when it is inside or
// contains a running root. Returns the new (empty) entry and its context.
Result<std::pair<std::shared_ptr<RunningInstance>, PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT>> reserveRoot(
    const std::string& rootPath);
// Makes a reserved entry usable (findInstance sees it from now on).
void publishInstance(const std::shared_ptr<RunningInstance>& entry, std::unique_ptr<VirtualizationInstance> instance,
                     std::unique_ptr<ProjectedFuse> fuse);
std::shared_ptr<RunningInstance> findInstance(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context);
// Removes the entry; returns it so the caller can stop it.
std::shared_ptr<RunningInstance> releaseInstance(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context);

}  // namespace hc::projfs
