// Whether a directory may be removed or replaced (rmdir, or rename onto it). A directory placeholder keeps
// its provider's entries off disk until they are used, so on disk it is often empty while its users list
// children; rmdir(2) or rename(2) of the backing directory alone would drop a directory that is not empty.
// Windows decides by the directory's listing, provider entries included; so does this, before the change
// (docs/projfs-design.md, "Removing and replacing directory placeholders").
#pragma once

#include "base/result.h"
#include "projfs/core/request_context.h"

#include <functional>
#include <string>

namespace hc::projfs {

class VirtualizationInstance;

// done(ok) when `rel` may be removed or replaced as far as the provider is concerned: it is not a
// provider-backed directory (the backing file system decides), or its merged listing — disk and provider,
// tombstones hiding what was deleted — has no entry. ENOTEMPTY when the listing has one; EIO when the
// provider's listing failed (an interrupted one stays ERROR_OPERATION_ABORTED). `done` never runs on a
// thread delivering the provider's PrjCompleteCommand, so it may call the provider again.
void requireEmptyDirectory(VirtualizationInstance& instance, const RequestContext& ctx, const std::string& rel,
                           std::function<void(Status)> done);

}  // namespace hc::projfs
