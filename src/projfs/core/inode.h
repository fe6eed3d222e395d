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
// Lifecycle: created by the first lookup that names the backing file (InodeMap::remember) → kept while the
// kernel holds lookups or something pins it (an open FileHandle, a hydration) → removed from the map when
// both are gone; the object itself lives on while a holder keeps its shared_ptr (a FileHandle being
// destroyed, a notification in flight).
#pragma once

#include "base/hresult.h"
#include "projfs/core/lock_rank.h"
#include "projfs/store/item_record.h"

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
    Inode(uint64_t fuseIno, uint64_t backingIno) : ino(fuseIno), backing(backingIno) {}
    Inode(const Inode&) = delete;
    Inode& operator=(const Inode&) = delete;

    const uint64_t ino;      // the FUSE inode number
    const uint64_t backing;  // the backing file's inode number

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

// InodeMap: FUSE inode numbers -> Inode, with where each item is under the root (parent inode + name) and
// the kernel's lookup counts. The FUSE inode number is the backing file's inode number (the root is
// FUSE_ROOT_ID; the two numbers swap if a backing file happens to have inode 1), so it is stable across
// restarts. Paths are resolved against the root descriptor when needed. One mutex (rank InodeMap, a leaf).
class InodeMap {
public:
    static constexpr uint64_t kRoot = 1;

    explicit InodeMap(uint64_t rootBackingInode);

    uint64_t fuseInode(uint64_t backingInode) const
    {
        if (backingInode == rootBacking_) return kRoot;
        if (backingInode == kRoot) return rootBacking_;
        return backingInode;
    }

    // The kernel learned (parent, name) -> the item with `backingInode`: one more lookup reference.
    // `hardLinked` (the backing file has more than one link): an item already known under another name
    // keeps that name too, so unlinking or replacing one name leaves the others working.
    uint64_t remember(uint64_t parent, const std::string& name, uint64_t backingInode, bool hardLinked = false);
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
    size_t size() const;

private:
    struct Node {
        std::shared_ptr<Inode> inode;
        uint64_t parent = 0;  // 0: detached (deleted, or replaced by another item)
        std::string name;
        uint64_t lookups = 0;
        uint64_t pins = 0;
        uint64_t formerParent = 0;  // while detached: the parent it had, until detach() reported it
        // A hard-linked file's other names the kernel knows (parent, name above is the one paths use).
        std::vector<std::pair<uint64_t, std::string>> otherNames;
        std::vector<int> openFds;  // descriptors of its open files (owned by their OpenFile)
    };
    // Drops one name of `ino`; the node stays attached while it has another.
    void unlinkNameLocked(uint64_t ino, const std::pair<uint64_t, std::string>& key);
    void detachLocked(uint64_t ino);
    void eraseIfUnusedLocked(uint64_t ino);
    std::optional<uint64_t> inodeOfLocked(const std::string& rel) const;

    const uint64_t rootBacking_;
    mutable RankedMutex<LockRank::InodeMap> mutex_;
    std::unordered_map<uint64_t, Node> nodes_;
    std::map<std::pair<uint64_t, std::string>, uint64_t> children_;
};

}  // namespace hc::projfs
