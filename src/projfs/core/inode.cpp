#include "projfs/core/inode.h"

#include <fcntl.h>

#include <algorithm>
#include <vector>

namespace hc::projfs {

InodeMap::InodeMap(uint64_t rootBackingInode) : rootBacking_(rootBackingInode)
{
    Node root;
    root.inode = std::make_shared<Inode>(kRoot, rootBackingInode);
    root.lookups = 1;
    nodes_.emplace(kRoot, std::move(root));
}

void InodeMap::detachLocked(uint64_t ino)
{
    auto it = nodes_.find(ino);
    if (it == nodes_.end() || ino == kRoot) return;
    auto key = std::make_pair(it->second.parent, it->second.name);
    auto child = children_.find(key);
    if (child != children_.end() && child->second == ino) children_.erase(child);
    for (const auto& other : it->second.otherNames) {
        auto alias = children_.find(other);
        if (alias != children_.end() && alias->second == ino) children_.erase(alias);
    }
    it->second.otherNames.clear();
    if (it->second.parent != 0) it->second.formerParent = it->second.parent;
    it->second.parent = 0;
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
    nodes_.erase(it);
}

uint64_t InodeMap::remember(uint64_t parent, const std::string& name, uint64_t backingInode, bool hardLinked)
{
    uint64_t ino = fuseInode(backingInode);
    std::lock_guard lock(mutex_);
    if (ino == kRoot) {
        ++nodes_[kRoot].lookups;
        return ino;
    }
    auto key = std::make_pair(parent, name);
    auto occupant = children_.find(key);
    if (occupant != children_.end() && occupant->second != ino) unlinkNameLocked(occupant->second, key);
    auto [it, inserted] = nodes_.try_emplace(ino);
    Node& node = it->second;
    // A detached node nothing holds open may now name a different file that reuses the inode number (the
    // old one was deleted or replaced while the kernel still held it): it starts with a fresh Inode, so no
    // state of the old file (its cached record) is taken for the new one. Pinned, it is the same file.
    if (inserted || (node.parent == 0 && node.pins == 0)) node.inode = std::make_shared<Inode>(ino, backingInode);
    const bool sameName = node.parent == parent && node.name == name;
    if (!inserted && !sameName && node.parent != 0 && hardLinked) {
        // Another name of a hard-linked file: the node keeps the one it has.
        if (occupant == children_.end() || occupant->second != ino) node.otherNames.emplace_back(key);
        ++node.lookups;
        children_[key] = ino;
        return ino;
    }
    if (!inserted && !sameName) detachLocked(ino);
    node.parent = parent;
    node.name = name;
    ++node.lookups;
    children_[key] = ino;
    return ino;
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
    Node& node = nodes_[ino];
    if (node.parent == from.first && node.name == from.second) {
        node.parent = newParent;
        node.name = newName;
    } else {
        // (The kernel never renames one name of a file onto another name of the same file.)
        std::erase(node.otherNames, from);
        node.otherNames.push_back(to);
    }
    children_[to] = ino;
}

size_t InodeMap::size() const
{
    std::lock_guard lock(mutex_);
    return nodes_.size();
}

}  // namespace hc::projfs
