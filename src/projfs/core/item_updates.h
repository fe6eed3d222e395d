// Provider-driven changes to items already on disk: PrjUpdateFileIfNeeded and PrjDeleteFile.
//
// Both act only on items the file system has cached (placeholder, hydrated, dirty, full, tombstone);
// a virtual item (nothing on disk) is ERROR_FILE_NOT_FOUND. A state other than a clean placeholder
// (hydrated or not) needs the matching PRJ_UPDATE_TYPES flag, else the call fails with
// ERROR_FILE_SYSTEM_VIRTUALIZATION_INVALID_OPERATION and the refused causes in *failureReason.
// An update leaves a clean placeholder with the new metadata (content and local changes dropped: the
// next read hydrates again); a delete makes the item virtual again (no tombstone: it reappears from the
// provider's enumeration). The kernel's cached attributes, pages and entries are dropped through the
// instance's item listeners.
#pragma once

#include "projfs/store/backing_store.h"
#include "projfs/store/item_record.h"

#include <projectedfslib.h>

#include <string>

namespace hc::projfs {

class VirtualizationInstance;

// What the store writes for the provider's placeholder info at `rel` (PrjWritePlaceholderInfo and updates):
// zero times mean now, FILE_ATTRIBUTE_READONLY makes it read-only. The caller has checked FileSize >= 0.
PlaceholderSpec placeholderSpecFrom(const PRJ_PLACEHOLDER_INFO& info, const std::string& rel,
                                    ProviderExtras extras = {});

// The PRJ_UPDATE_FAILURE_CAUSES bits for the states of `record` that `flags` do not allow (0: allowed).
// `readOnly`: the item has the read-only attribute (no owner write permission).
PRJ_UPDATE_FAILURE_CAUSES refusedUpdateCauses(const ItemRecord& record, bool readOnly, PRJ_UPDATE_TYPES flags);

// PrjUpdateFileIfNeeded after the argument checks of the C entry point. `failureReason` may be null.
HRESULT updateFileIfNeeded(VirtualizationInstance& instance, PCWSTR destinationFileName,
                           const PRJ_PLACEHOLDER_INFO& info, PRJ_UPDATE_TYPES flags,
                           PRJ_UPDATE_FAILURE_CAUSES* failureReason);

// PrjDeleteFile after the argument checks of the C entry point. `failureReason` may be null.
HRESULT deleteFile(VirtualizationInstance& instance, PCWSTR destinationFileName, PRJ_UPDATE_TYPES flags,
                   PRJ_UPDATE_FAILURE_CAUSES* failureReason);

// PrjInvalidateDirectoryListing (hostcompute extension) after the argument checks of the C entry point:
// S_OK when the kernel's cached listing of the directory is dropped or none can exist (a virtual directory);
// E_INVALIDARG for a malformed path; ERROR_DIRECTORY when it names a file.
HRESULT invalidateDirectoryListing(VirtualizationInstance& instance, PCWSTR directoryName);

}  // namespace hc::projfs
