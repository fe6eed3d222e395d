// Inode: everything the runtime keeps about one backing file while the kernel knows it or it is in use —
// the cached item record, the FUSE passthrough registration, the hydration in flight and the notification
// state of its open handles. One object per backing file (passthrough_hp's `struct Inode`, EdenFS's
// FileInode), found through the InodeMap; no descriptor is kept per inode (the open-files cap).
//
// The record cache: `record` is the truth for questions about the item, the xattrs its durable copy.
// Changes made through the runtime write both (write-through); it is dropped (and re-read from disk on the
// next question) where someone else may have changed the disk: the provider's PrjWritePlaceholderInfo,
// PrjUpdateFileIfNeeded and PrjDeleteFile, and a hydration's final check (docs/projfs-design.md, "Inodes").
//
// Lifecycle: created by the first lookup that names the backing file (InodeMap::remember), or by a listing
// that names an item the provider enumerates but nothing wrote to disk yet (InodeMap::rememberListed: a
// *listed* node, backing 0) → a listed node gets its backing file when something needs it on disk
// (InodeMap::materialized; docs/projfs-design.md, "Listed items") → kept while the kernel holds lookups or
// something pins it (an open FileHandle, a hydration) → removed from the map when both are gone; the object
// itself lives on while a holder keeps its shared_ptr (a FileHandle being destroyed, a notification in
// flight).
#pragma once

#include "base/hresult.h"
#include "projfs/core/lock_rank.h"
#include "projfs/store/item_record.h"

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hc::projfs {

class HydrationStream;

class Inode {
public:
    explicit Inode(uint64_t fuseIno) : ino(fuseIno) {}
    Inode(const Inode&) = delete;
    Inode& operator=(const Inode&) = delete;

    const uint64_t ino;  // the FUSE node id

    // Guards every field below (rank Inode: see lock_rank.h).
    RankedMutex<LockRank::Inode> mutex;

    // The cached item record; nullopt until read, and after someone else changed the disk.
    std::optional<ItemRecord> record;

    // FUSE passthrough: the kernel wants one backing registration per file, shared by its handles.
    struct PassthroughRegistration {
        int32_t id = 0;  // 0: not registered
        unsigned handles = 0;
    } passthrough;

    // The hydration in flight, shared by every open that waits for it (core/hydration.h).
    std::shared_ptr<HydrationStream> hydration;

    // Notification state of the file's open handles (core/notifications.h).
    struct NotificationState {
        unsigned handles = 0;          // handles the kernel opened (not the provider's own)
        std::optional<uint32_t> mask;  // written by the provider; lasts while handles > 0
        bool modified = false;         // some handle modified the file
        // While a FILE_PRE_CONVERT_TO_FULL is in flight: the writers waiting for its answer.
        std::optional<std::vector<std::function<void(HRESULT)>>> converting;
    } notify;
};

// InodeMap: FUSE node ids -> Inode, with where each item is under the root (parent node + name), its
// backing file's inode number and the kernel's lookup counts. Node ids come from a counter and are never
// reused while the mount lives (the root is FUSE_ROOT_ID): a backing inode number that ext4 frees and hands
// to a new file gets a new node id, so the kernel never takes the new file for the old one (ESTALE). The
// same backing file keeps its node id while its node is attached to a name or pinned. What programs see as
// st_ino stays the backing file's inode number. Paths are resolved against the root descriptor when
// needed. One mutex (rank InodeMap, a leaf).
class InodeMap {
public:
    static constexpr uint64_t kRoot = 1;

    explicit InodeMap(uint64_t rootBackingInode);

    // The kernel learned (parent, name) -> the item with `backingInode`: one more lookup reference.
    // `hardLinked` (the backing file has more than one link): an item already known under another name
    // keeps that name too, so unlinking or replacing one name leaves the others working.
    uint64_t remember(uint64_t parent, const std::string& name, uint64_t backingInode, bool hardLinked = false);
    // The kernel learned (parent, name) -> an item only the provider's listing knows (no backing file
    // yet), with attributes `attr`: one more lookup reference. A listed node already at that name is
    // reused (its attributes replaced); nullopt when an on-disk item holds the name.
    std::optional<uint64_t> rememberListed(uint64_t parent, const std::string& name, const struct stat& attr);
    // The attributes of a listed node; nullopt for on-disk and unknown nodes.
    std::optional<struct stat> listedAttributes(uint64_t ino) const;
    // Where a listed node is (parent, name); nullopt for on-disk and unknown nodes.
    std::optional<std::pair<uint64_t, std::string>> listedLocation(uint64_t ino) const;
    // A listed node's item is on disk now, as `backingInode` (its node id does not change).
    void materialized(uint64_t ino, uint64_t backingInode);
    // The listed nodes under directory `parent`, detached from their names (their listing changed); the
    // names, for the kernel to drop.
    std::vector<std::string> detachListedChildren(uint64_t parent);
    // The node at (parent, name), if any.
    std::optional<uint64_t> child(uint64_t parent, const std::string& name) const;
    void forget(uint64_t ino, uint64_t count);
    // The Inode of a FUSE inode number the map knows, or nullptr.
    std::shared_ptr<Inode> get(uint64_t ino) const;
    // The Inode the map has under `rel`, or nullptr (the kernel never looked it up, or it was detached).
    std::shared_ptr<Inode> find(const std::string& rel) const;
    // Keeps `inode` in the map while it is in use although the kernel may forget it (an open handle, a
    // hydration): the same backing file then keeps the same Inode. Each pin() is matched by one unpin().
    void pin(const Inode& inode);
    void unpin(const Inode& inode);
    // An open file's descriptor (OpenFile), so an item still open after its last name went (unlink of an
    // open file) keeps answering getattr/setattr through it. `fd` stays owned by the caller.
    void addOpenDescriptor(const Inode& inode, int fd);
    void removeOpenDescriptor(const Inode& inode, int fd);
    // A duplicate of one of `ino`'s open descriptors (-1 when none): valid however long the caller keeps it.
    int duplicateOpenDescriptor(uint64_t ino) const;
    // Root-relative path, or nullopt when the inode is unknown or its item was deleted.
    std::optional<std::string> path(uint64_t ino) const;
    // The inode the kernel knows for `rel`, if any.
    std::optional<uint64_t> inodeOf(const std::string& rel) const;
    // Whatever lives at (parent, name) is gone from that name.
    void removed(uint64_t parent, const std::string& name);
    // Detaches `ino` from its name and returns that (parent, name): the name it has, or, once, the name
    // it had when it was detached earlier (the kernel may still hold an entry under it).
    std::optional<std::pair<uint64_t, std::string>> detach(uint64_t ino);
    void renamed(uint64_t parent, const std::string& name, uint64_t newParent, const std::string& newName);
    // renameat2(RENAME_EXCHANGE): the two names swap their items.
    void exchanged(uint64_t parent, const std::string& name, uint64_t newParent, const std::string& newName);
    size_t size() const;

private:
    struct Node {
        std::shared_ptr<Inode> inode;
        uint64_t backing = 0;               // the backing file's inode number; 0: a listed node (nothing on disk yet)
        std::optional<struct stat> listed;  // a listed node's attributes (from the provider's enumeration)
        uint64_t parent = 0;                // 0: detached (deleted, or replaced by another item)
        std::string name;
        uint64_t lookups = 0;
        uint64_t pins = 0;
        uint64_t formerParent = 0;  // while detached: the parent it had, until detach() reported it
        // A hard-linked file's other names the kernel knows (parent, name above is the one paths use).
        std::vector<std::pair<uint64_t, std::string>> otherNames;
        std::vector<int> openFds;  // descriptors of its open files (owned by their OpenFile)
    };
    // Drops one name of `ino`; the node stays attached while it has another.
    // The node's name `from` (its path name or one of its other names) becomes `to`.
    void moveNameLocked(uint64_t ino, const std::pair<uint64_t, std::string>& from,
                        const std::pair<uint64_t, std::string>& to);
    void unlinkNameLocked(uint64_t ino, const std::pair<uint64_t, std::string>& key);
    void detachLocked(uint64_t ino);
    void eraseIfUnusedLocked(uint64_t ino);
    std::optional<uint64_t> inodeOfLocked(const std::string& rel) const;
    // A new node at (parent, name) with a fresh id.
    Node& addLocked(uint64_t parent, const std::string& name, uint64_t backingInode, uint64_t* ino);
    void nameLocked(uint64_t ino, Node& node, uint64_t parent, const std::string& name);

    mutable RankedMutex<LockRank::InodeMap> mutex_;
    uint64_t nextIno_ = kRoot + 1;
    std::unordered_map<uint64_t, Node> nodes_;
    std::map<std::pair<uint64_t, std::string>, uint64_t> children_;
    // Backing inode number -> node id, for nodes attached to a name or pinned (the same file keeps its id).
    std::unordered_map<uint64_t, uint64_t> byBacking_;
};

}  // namespace hc::projfs
