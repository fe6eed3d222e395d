// Reading a provider's ExtendedInfo chain (PrjWritePlaceholderInfo2, PrjFillDirEntryBuffer2): Windows'
// PRJ_EXT_INFO_TYPE_SYMLINK and hostcompute's PRJ_HOSTCOMPUTE_POSIX_INFO, linked by NextInfoOffset.
// Pure validation, no I/O; every field is read by copy, so a misaligned or odd chain is an error, never
// undefined behaviour.
#pragma once

#include "base/result.h"
#include "projfs/store/backing_store.h"

#include <projectedfslib.h>

namespace hc::projfs {

// The chain's content (NULL = nothing). E_INVALIDARG, naming the field, for an unknown type, a type given
// twice, a NULL or empty link target, mode bits outside 07777, unknown POSIX field bits, or a chain longer
// than any valid one.
Result<ProviderExtras> readExtendedInfo(const PRJ_EXTENDED_INFO* chain);

}  // namespace hc::projfs
