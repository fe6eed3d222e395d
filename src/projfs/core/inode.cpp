#include "projfs/core/inode.h"

#include <vector>

namespace hc::projfs {

InodeMap::InodeMap(uint64_t rootBackingInode)
{
    Node root;
    root.inode = std::make_shared<Inode>(kRoot);
    root.backing = rootBackingInode;
    root.lookups = 1;
    nodes_.emplace(kRoot, std::move(root));
    byBacking_.emplace(rootBackingInode, kRoot);
}

void InodeMap::detachLocked(uint64_t ino)
{
    auto it = nodes_.find(ino);
    if (it == nodes_.end() || ino == kRoot) return;
    Node& node = it->second;
    auto key = std::make_pair(node.parent, node.name);
    auto child = children_.find(key);
    if (child != children_.end() && child->second == ino) children_.erase(child);
    if (node.parent != 0) node.formerParent = node.parent;
    node.parent = 0;
    // Unpinned, the file may be gone and ext4 may give its inode number to a new file: that one must get a
    // new node id. Pinned (open), the number cannot be reused while it stays pinned.
    if (node.pins == 0) {
        auto backing = byBacking_.find(node.backing);
        if (backing != byBacking_.end() && backing->second == ino) byBacking_.erase(backing);
    }
}

void InodeMap::eraseIfUnusedLocked(uint64_t ino)
{
    auto it = nodes_.find(ino);
    if (it == nodes_.end() || ino == kRoot || it->second.lookups != 0 || it->second.pins != 0) return;
    detachLocked(ino);
    auto backing = byBacking_.find(it->second.backing);
    if (backing != byBacking_.end() && backing->second == ino) byBacking_.erase(backing);
    nodes_.erase(it);
}

InodeMap::Node& InodeMap::addLocked(uint64_t parent, const std::string& name, uint64_t backingInode, uint64_t* ino)
{
    *ino = nextIno_++;
    Node& node = nodes_[*ino];
    node.inode = std::make_shared<Inode>(*ino);
    node.backing = backingInode;
    if (backingInode != 0) byBacking_[backingInode] = *ino;
    nameLocked(*ino, node, parent, name);
    return node;
}

void InodeMap::nameLocked(uint64_t ino, Node& node, uint64_t parent, const std::string& name)
{
    if (node.parent == parent && node.name == name) return;
    if (node.parent != 0) {
        auto old = children_.find({node.parent, node.name});
        if (old != children_.end() && old->second == ino) children_.erase(old);
    }
    node.parent = parent;
    node.name = name;
    children_[{parent, name}] = ino;
}

uint64_t InodeMap::remember(uint64_t parent, const std::string& name, uint64_t backingInode)
{
    std::lock_guard lock(mutex_);
    auto known = byBacking_.find(backingInode);
    if (known != byBacking_.end() && known->second == kRoot) {
        ++nodes_[kRoot].lookups;
        return kRoot;
    }
    uint64_t ino = 0;
    auto occupant = children_.find({parent, name});
    if (occupant != children_.end()) {
        Node& node = nodes_.at(occupant->second);
        if (node.backing == backingInode) {
            ino = occupant->second;
        } else if (node.backing == 0) {  // a listed item whose placeholder is on disk now
            ino = occupant->second;
            node.backing = backingInode;
            node.listed.reset();
            byBacking_[backingInode] = ino;
        } else {
            detachLocked(occupant->second);
        }
    }
    // The same file under another name (a hard link, a rename the map did not see) keeps its node; a node
    // that is detached and unpinned may be a deleted file whose inode number was reused: a new node.
    if (ino == 0 && known != byBacking_.end()) {
        const Node& node = nodes_.at(known->second);
        if (node.parent != 0 || node.pins != 0) ino = known->second;
    }
    Node* node = nullptr;
    if (ino == 0) {
        node = &addLocked(parent, name, backingInode, &ino);
    } else {
        node = &nodes_.at(ino);
        nameLocked(ino, *node, parent, name);
    }
    ++node->lookups;
    return ino;
}

std::optional<uint64_t> InodeMap::rememberListed(uint64_t parent, const std::string& name, const struct stat& attr)
{
    std::lock_guard lock(mutex_);
    uint64_t ino = 0;
    Node* node = nullptr;
    auto occupant = children_.find({parent, name});
    if (occupant != children_.end()) {
        ino = occupant->second;
        node = &nodes_.at(ino);
        if (node->backing != 0) return std::nullopt;
    } else {
        node = &addLocked(parent, name, 0, &ino);
    }
    node->listed = attr;
    node->listed->st_ino = attr.st_ino;
    ++node->lookups;
    return ino;
}

std::optional<struct stat> InodeMap::listedAttributes(uint64_t ino) const
{
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(ino);
    if (it == nodes_.end() || it->second.backing != 0) return std::nullopt;
    return it->second.listed;
}

std::optional<std::pair<uint64_t, std::string>> InodeMap::listedLocation(uint64_t ino) const
{
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(ino);
    if (it == nodes_.end() || it->second.backing != 0 || it->second.parent == 0) return std::nullopt;
    return std::make_pair(it->second.parent, it->second.name);
}

void InodeMap::materialized(uint64_t ino, uint64_t backingInode)
{
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(ino);
    if (it == nodes_.end() || it->second.backing != 0) return;
    it->second.backing = backingInode;
    it->second.listed.reset();
    byBacking_[backingInode] = ino;
}

std::vector<std::string> InodeMap::detachListedChildren(uint64_t parent)
{
    std::lock_guard lock(mutex_);
    std::vector<std::pair<uint64_t, std::string>> listed;
    for (auto it = children_.lower_bound({parent, std::string()}); it != children_.end() && it->first.first == parent;
         ++it) {
        if (nodes_.at(it->second).backing == 0) listed.emplace_back(it->second, it->first.second);
    }
    std::vector<std::string> names;
    for (auto& [ino, name] : listed) {
        detachLocked(ino);
        names.push_back(std::move(name));
    }
    return names;
}

std::optional<uint64_t> InodeMap::child(uint64_t parent, const std::string& name) const
{
    std::lock_guard lock(mutex_);
    auto it = children_.find({parent, name});
    if (it == children_.end()) return std::nullopt;
    return it->second;
}

void InodeMap::forget(uint64_t ino, uint64_t count)
{
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(ino);
    if (it == nodes_.end() || ino == kRoot) return;
    it->second.lookups = it->second.lookups > count ? it->second.lookups - count : 0;
    eraseIfUnusedLocked(ino);
}

std::shared_ptr<Inode> InodeMap::get(uint64_t ino) const
{
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(ino);
    return it == nodes_.end() ? nullptr : it->second.inode;
}

std::shared_ptr<Inode> InodeMap::find(const std::string& rel) const
{
    std::lock_guard lock(mutex_);
    auto ino = inodeOfLocked(rel);
    if (!ino) return nullptr;
    auto it = nodes_.find(*ino);
    return it == nodes_.end() ? nullptr : it->second.inode;
}

void InodeMap::pin(const Inode& inode)
{
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(inode.ino);
    // Callers pin an Inode they got from the map while the kernel or another pin holds it.
    if (it != nodes_.end() && it->second.inode.get() == &inode) ++it->second.pins;
}

void InodeMap::unpin(const Inode& inode)
{
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(inode.ino);
    if (it == nodes_.end() || it->second.inode.get() != &inode || it->second.pins == 0) return;
    --it->second.pins;
    eraseIfUnusedLocked(inode.ino);
}

std::optional<std::string> InodeMap::path(uint64_t ino) const
{
    std::lock_guard lock(mutex_);
    std::vector<const std::string*> parts;
    for (int depth = 0; ino != kRoot; ++depth) {
        auto it = nodes_.find(ino);
        if (it == nodes_.end() || it->second.parent == 0 || depth > 4096) return std::nullopt;
        parts.push_back(&it->second.name);
        ino = it->second.parent;
    }
    std::string out;
    for (auto part = parts.rbegin(); part != parts.rend(); ++part) {
        if (!out.empty()) out.push_back('/');
        out += **part;
    }
    return out;
}

std::optional<uint64_t> InodeMap::inodeOfLocked(const std::string& rel) const
{
    uint64_t ino = kRoot;
    size_t pos = 0;
    std::pair<uint64_t, std::string> key;
    while (pos < rel.size()) {
        size_t slash = rel.find('/', pos);
        key.first = ino;
        key.second.assign(rel, pos, slash == std::string::npos ? std::string::npos : slash - pos);
        auto it = children_.find(key);
        if (it == children_.end()) return std::nullopt;
        ino = it->second;
        pos = slash == std::string::npos ? rel.size() : slash + 1;
    }
    return ino;
}

std::optional<uint64_t> InodeMap::inodeOf(const std::string& rel) const
{
    std::lock_guard lock(mutex_);
    return inodeOfLocked(rel);
}

void InodeMap::removed(uint64_t parent, const std::string& name)
{
    std::lock_guard lock(mutex_);
    auto it = children_.find({parent, name});
    if (it != children_.end()) detachLocked(it->second);
}

std::optional<std::pair<uint64_t, std::string>> InodeMap::detach(uint64_t ino)
{
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(ino);
    if (ino == kRoot || it == nodes_.end()) return std::nullopt;
    Node& node = it->second;
    if (node.parent == 0) {
        if (node.formerParent == 0) return std::nullopt;
        std::pair<uint64_t, std::string> former{node.formerParent, node.name};
        node.formerParent = 0;
        return former;
    }
    std::pair<uint64_t, std::string> location{node.parent, node.name};
    detachLocked(ino);
    node.formerParent = 0;  // reported now
    return location;
}

void InodeMap::renamed(uint64_t parent, const std::string& name, uint64_t newParent, const std::string& newName)
{
    std::lock_guard lock(mutex_);
    auto target = children_.find({newParent, newName});
    if (target != children_.end()) detachLocked(target->second);
    auto it = children_.find({parent, name});
    if (it == children_.end()) return;
    uint64_t ino = it->second;
    nameLocked(ino, nodes_.at(ino), newParent, newName);
}

size_t InodeMap::size() const
{
    std::lock_guard lock(mutex_);
    return nodes_.size();
}

}  // namespace hc::projfs
