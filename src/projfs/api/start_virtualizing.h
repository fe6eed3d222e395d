// startVirtualizing: PrjStartVirtualizing with a hook that adjusts the instance's internal options
// (InstanceOptions) before the instance is made — for the runtime's own tests, which need knobs the
// public API does not have (e.g. a small GetFileData length limit, to hydrate a small file in several
// requests). PrjStartVirtualizing is this with no hook. Not exported from libprojectedfslib.so.
#pragma once

#include "projfs/core/virtualization_instance.h"

#include <projectedfslib.h>

#include <functional>

namespace hc::projfs {

HRESULT startVirtualizing(PCWSTR virtualizationRootPath, const PRJ_CALLBACKS* callbacks, const void* instanceContext,
                          const PRJ_STARTVIRTUALIZING_OPTIONS* options,
                          const std::function<void(InstanceOptions&)>& adjustOptions,
                          PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT* namespaceVirtualizationContext);

}  // namespace hc::projfs
