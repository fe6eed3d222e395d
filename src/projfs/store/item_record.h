// What the store knows about one item under the virtualization root: its ProjFS state and the
// provider's version and original path, read from the item's extended attribute (item_attribute.h).
#pragma once

#include <projectedfslib.h>

#include <optional>
#include <string>

namespace hc::projfs {

// Extended attribute names (docs/projfs-design.md, "On-disk format"). They travel with the file on rename.
inline constexpr const char* kXattrRoot = "user.projfs.root";      // root only: instance GUID text
inline constexpr const char* kXattrFormat = "user.projfs.format";  // root only: "2" = written in the compact format
inline constexpr const char* kXattrItem = "user.projfs.item";      // every item with state: item_attribute.h
// A placeholder being hydrated: the provider's atime and mtime (4 × int64: s, ns, s, ns) while the data is
// written, so a hydration cut short by a crash is redone with them (core/hydration.cpp).
inline constexpr const char* kXattrHydrationTimes = "user.projfs.hydrating";
// Asked of a directory through the mount (getxattr "user.projfs.tombstone:NAME"): "1" when NAME is a
// tombstone in it, ENODATA otherwise. Tombstones are hidden from lookups, so this is how
// PrjGetOnDiskFileState, in any process, tells a deleted item from one never there while a provider runs.
inline constexpr const char* kXattrTombstoneQuery = "user.projfs.tombstone:";
inline constexpr const char* kXattrPrefix = "user.projfs.";

// Names starting with this are the store's own temporary files: never shown, never looked up.
inline constexpr const char* kReservedNamePrefix = ".projfs~";

enum class ItemState {
    Full,                 // no state attribute: created or modified locally
    Placeholder,          // metadata only (files: sparse, content not fetched)
    HydratedPlaceholder,  // content fetched from the provider
    Tombstone,            // deleted projected item; hidden
};

const char* itemStateName(ItemState state);
std::optional<ItemState> parseItemState(std::string_view text);

struct ItemRecord {
    ItemState state = ItemState::Full;
    bool dirty = false;
    bool isDirectory = false;
    bool projected = false;  // created by the provider (has an origin): deleting it leaves a tombstone
    std::string originPath;  // relative, '/'-separated, as first created
    std::optional<PRJ_PLACEHOLDER_VERSION_INFO> version;
};

// PRJ_FILE_STATE flags for a record, as PrjGetOnDiskFileState reports them.
PRJ_FILE_STATE fileStateFlags(const ItemRecord& record);

}  // namespace hc::projfs
