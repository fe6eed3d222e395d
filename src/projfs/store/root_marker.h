// The virtualization root marker: PrjMarkDirectoryAsPlaceholder stamps the root directory with the
// instance GUID (extended attribute user.projfs.root) and makes it a directory placeholder.
#pragma once

#include "base/result.h"

#include <projectedfslib.h>

#include <optional>
#include <string>

namespace hc::projfs {

// Marks `rootPath` as a virtualization root with `instanceId`. Already marked ->
// ERROR_REPARSE_POINT_ENCOUNTERED; not a directory -> ERROR_DIRECTORY.
Status markVirtualizationRoot(const std::string& rootPath, const GUID& instanceId,
                              const PRJ_PLACEHOLDER_VERSION_INFO* versionInfo);
// Marks `targetPath`, a directory inside a marked root, as a directory placeholder.
Status markDirectoryPlaceholder(const std::string& targetPath, const PRJ_PLACEHOLDER_VERSION_INFO* versionInfo);
// The instance GUID of an open root directory; nullopt if it was never marked.
Result<std::optional<GUID>> readRootInstanceId(int rootFd);

}  // namespace hc::projfs
