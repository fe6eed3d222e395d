// The on-disk form of an ItemRecord: one compact extended attribute (user.projfs.item) that is small
// enough to stay inside an ext4 inode, and the reading of the four attributes the first format used, so
// that a root written before it still starts (docs/projfs-design.md, "On-disk format").
#pragma once

#include "base/result.h"
#include "projfs/store/item_record.h"

#include <string>
#include <string_view>

namespace hc::projfs {

// Layout (all lengths in bytes; IDs are stored up to their last non-zero byte, read back zero-filled):
//   [0] kItemAttributeFormat   [1] state: 0 full, 1 placeholder, 2 hydrated, 3 tombstone
//   [2] flags: kItemDirty | kItemProjected | kItemVersioned
//   if versioned: [ProviderID length][ContentID length][ProviderID bytes][ContentID bytes]
//   if projected: the origin path, to the end of the value
inline constexpr unsigned char kItemAttributeFormat = 2;  // the first format (separate attributes) was 1
inline constexpr unsigned char kItemDirty = 1;
inline constexpr unsigned char kItemProjected = 2;
inline constexpr unsigned char kItemVersioned = 4;

// The attribute value for `record`; empty when there is nothing to keep (a full item the provider never
// knew), in which case the item carries no attribute at all.
std::string encodeItemAttribute(const ItemRecord& record);
// Decodes a value written by encodeItemAttribute. Malformed ->
// ERROR_FILE_SYSTEM_VIRTUALIZATION_METADATA_CORRUPT naming what is wrong.
Result<ItemRecord> decodeItemAttribute(std::string_view value, bool isDirectory);

// The first format, still read on roots that predate the compact attribute.
inline constexpr const char* kLegacyXattrState = "user.projfs.state";      // "placeholder" | "hydrated" | "tombstone"
inline constexpr const char* kLegacyXattrVersion = "user.projfs.version";  // PRJ_PLACEHOLDER_VERSION_INFO, 256 bytes
inline constexpr const char* kLegacyXattrOrigin = "user.projfs.origin";    // path the provider created it under
inline constexpr const char* kLegacyXattrDirty = "user.projfs.dirty";      // "1": metadata changed locally
inline constexpr const char* kLegacyXattrNames[] = {kLegacyXattrState, kLegacyXattrVersion, kLegacyXattrOrigin,
                                                    kLegacyXattrDirty};

}  // namespace hc::projfs
