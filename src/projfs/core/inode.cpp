#include "projfs/core/inode.h"

#include <fcntl.h>

#include <algorithm>
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
    for (const auto& other : node.otherNames) {
        auto alias = children_.find(other);
        if (alias != children_.end() && alias->second == ino) children_.erase(alias);
    }
    node.otherNames.clear();
    if (node.parent != 0) node.formerParent = node.parent;
    node.parent = 0;
    // Unpinned, the file may be gone and ext4 may give its inode number to a new file: that one must get a
    // new node id. Pinned (open), the number cannot be reused while it stays pinned.
    if (node.pins == 0) {
        auto backing = byBacking_.find(node.backing);
        if (backing != byBacking_.end() && backing->second == ino) byBacking_.erase(backing);
    }
}

void InodeMap::unlinkNameLocked(uint64_t ino, const std::pair<uint64_t, std::string>& key)
{
    auto it = nodes_.find(ino);
    if (it == nodes_.end()) return;
    Node& node = it->second;
    auto other = std::find(node.otherNames.begin(), node.otherNames.end(), key);
    if (other != node.otherNames.end()) {
        node.otherNames.erase(other);
        children_.erase(key);
        return;
    }
    if (node.otherNames.empty() || node.parent != key.first || node.name != key.second) return detachLocked(ino);
    // The name paths use goes; another name of the same file takes its place.
    children_.erase(key);
    node.parent = node.otherNames.back().first;
    node.name = std::move(node.otherNames.back().second);
    node.otherNames.pop_back();
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

uint64_t InodeMap::remember(uint64_t parent, const std::string& name, uint64_t backingInode, bool hardLinked)
{
    std::lock_guard lock(mutex_);
    auto known = byBacking_.find(backingInode);
    if (known != byBacking_.end() && known->second == kRoot) {
        ++nodes_[kRoot].lookups;
        return kRoot;
    }
    const auto key = std::make_pair(parent, name);
    uint64_t ino = 0;
    auto occupant = children_.find(key);
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
            unlinkNameLocked(occupant->second, key);
        }
    }
    // The same file under another name (a hard link, a rename the map did not see) keeps its node; a node
    // that is detached and unpinned may be a deleted file whose inode number was reused: a new node.
    if (ino == 0) {
        auto same = byBacking_.find(backingInode);
        if (same != byBacking_.end()) {
            const Node& node = nodes_.at(same->second);
            if (node.parent != 0 || node.pins != 0) ino = same->second;
        }
    }
    if (ino == 0) {
        Node& node = addLocked(parent, name, backingInode, &ino);
        ++node.lookups;
        return ino;
    }
    Node& node = nodes_.at(ino);
    const bool sameName = node.parent == parent && node.name == name;
    if (!sameName && node.parent != 0 && hardLinked) {
        // Another name of a hard-linked file: the node keeps the one it has.
        if (std::find(node.otherNames.begin(), node.otherNames.end(), key) == node.otherNames.end()) {
            node.otherNames.emplace_back(key);
        }
        ++node.lookups;
        children_[key] = ino;
        return ino;
    }
    if (!sameName) {
        detachLocked(ino);
        node.parent = parent;
        node.name = name;
        children_[key] = ino;
        byBacking_[backingInode] = ino;
    }
    ++node.lookups;
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

void InodeMap::addOpenDescriptor(const Inode& inode, int fd)
{
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(inode.ino);
    if (it != nodes_.end() && it->second.inode.get() == &inode) it->second.openFds.push_back(fd);
}

void InodeMap::removeOpenDescriptor(const Inode& inode, int fd)
{
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(inode.ino);
    if (it == nodes_.end() || it->second.inode.get() != &inode) return;
    auto& fds = it->second.openFds;
    if (auto found = std::find(fds.begin(), fds.end(), fd); found != fds.end()) fds.erase(found);
}

int InodeMap::duplicateOpenDescriptor(uint64_t ino) const
{
    std::lock_guard lock(mutex_);  // the descriptor cannot be closed meanwhile: its OpenFile removes it first
    auto it = nodes_.find(ino);
    if (it == nodes_.end() || it->second.openFds.empty()) return -1;
    return ::fcntl(it->second.openFds.front(), F_DUPFD_CLOEXEC, 0);
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
    if (it != children_.end()) unlinkNameLocked(it->second, it->first);
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
    auto it = children_.find({parent, name});
    if (it == children_.end()) {
        auto target = children_.find({newParent, newName});
        if (target != children_.end()) unlinkNameLocked(target->second, target->first);
        return;
    }
    const uint64_t ino = it->second;
    const std::pair<uint64_t, std::string> from = it->first;
    std::pair<uint64_t, std::string> to{newParent, newName};
    auto target = children_.find(to);
    if (target != children_.end() && target->second != ino) unlinkNameLocked(target->second, to);
    children_.erase(from);
    // (The kernel never renames one name of a file onto another name of the same file.)
    moveNameLocked(ino, from, to);
    children_[to] = ino;
}

void InodeMap::exchanged(uint64_t parent, const std::string& name, uint64_t newParent, const std::string& newName)
{
    std::lock_guard lock(mutex_);
    const std::pair<uint64_t, std::string> first{parent, name};
    const std::pair<uint64_t, std::string> second{newParent, newName};
    auto a = children_.find(first);
    auto b = children_.find(second);
    const uint64_t firstIno = a != children_.end() ? a->second : 0;
    const uint64_t secondIno = b != children_.end() ? b->second : 0;
    children_.erase(first);
    children_.erase(second);
    if (firstIno != 0) {
        moveNameLocked(firstIno, first, second);
        children_[second] = firstIno;
    }
    if (secondIno != 0) {
        moveNameLocked(secondIno, second, first);
        children_[first] = secondIno;
    }
}

void InodeMap::moveNameLocked(uint64_t ino, const std::pair<uint64_t, std::string>& from,
                              const std::pair<uint64_t, std::string>& to)
{
    Node& node = nodes_[ino];
    if (node.parent == from.first && node.name == from.second) {
        node.parent = to.first;
        node.name = to.second;
        return;
    }
    std::erase(node.otherNames, from);
    node.otherNames.push_back(to);
}

size_t InodeMap::size() const
{
    std::lock_guard lock(mutex_);
    return nodes_.size();
}

}  // namespace hc::projfs
