// InodeTable: FUSE inode numbers -> where the item is under the root (parent inode + name), with the
// kernel's lookup counts. No descriptor per inode: paths are resolved against the root descriptor when
// needed. The FUSE inode number is the backing file's inode number (the root is FUSE_ROOT_ID; the two
// numbers swap if a backing file happens to have inode 1), so it is stable across restarts.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace hc::projfs {

class InodeTable {
public:
    static constexpr uint64_t kRoot = 1;

    explicit InodeTable(uint64_t rootBackingInode) : rootBacking_(rootBackingInode) { nodes_[kRoot] = Node{0, "", 1}; }

    uint64_t fuseInode(uint64_t backingInode) const
    {
        if (backingInode == rootBacking_) return kRoot;
        if (backingInode == kRoot) return rootBacking_;
        return backingInode;
    }

    // The kernel learned (parent, name) -> the item with `backingInode`: one more lookup reference.
    uint64_t remember(uint64_t parent, const std::string& name, uint64_t backingInode);
    void forget(uint64_t ino, uint64_t count);
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
        uint64_t parent = 0;  // 0: detached (deleted, or replaced by another item)
        std::string name;
        uint64_t lookups = 0;
        uint64_t formerParent = 0;  // while detached: the parent it had, until detach() reported it
    };
    void detachLocked(uint64_t ino);

    const uint64_t rootBacking_;
    mutable std::mutex mutex_;
    std::unordered_map<uint64_t, Node> nodes_;
    std::map<std::pair<uint64_t, std::string>, uint64_t> children_;
};

}  // namespace hc::projfs
