#include "projfs/core/enumeration_merge.h"

#include "base/strings.h"
#include "projfs/store/name_rules.h"
#include "projfs/store/rel_path.h"

#include <algorithm>

namespace hc::projfs {

bool EnumerationMerge::Less::operator()(const std::wstring& a, const std::wstring& b) const
{
    return compareNamesForOrder(a, b) < 0;
}

void EnumerationMerge::reset(std::vector<DiskEntry> disk)
{
    disk_.clear();
    diskNames_.clear();
    tombstones_.clear();
    emitted_.clear();
    diskCursor_ = 0;
    for (auto& entry : disk) {
        std::wstring key = wideFromDiskName(entry.name);
        if (entry.tombstone) {
            tombstones_.insert(std::move(key));
        } else {
            diskNames_.insert(key);
            disk_.push_back({std::move(key), std::move(entry)});
        }
    }
    std::stable_sort(disk_.begin(), disk_.end(),
                     [](const SortedDiskEntry& a, const SortedDiskEntry& b) { return Less{}(a.key, b.key); });
}

void EnumerationMerge::emitDisk(const SortedDiskEntry& disk, std::vector<MergedEntry>& out)
{
    // Two on-disk names differing only in case (made by Linux programs) are both listed.
    emitted_.insert(disk.key);
    MergedEntry merged;
    merged.name = disk.entry.name;
    merged.isDirectory = disk.entry.isDirectory;
    merged.onDisk = true;
    merged.inode = disk.entry.inode;
    out.push_back(std::move(merged));
}

void EnumerationMerge::addProviderEntry(const ProviderDirEntry& entry, std::vector<MergedEntry>& out)
{
    while (diskCursor_ < disk_.size() && Less{}(disk_[diskCursor_].key, entry.name))
        emitDisk(disk_[diskCursor_++], out);
    if (tombstones_.count(entry.name) != 0 || diskNames_.count(entry.name) != 0 || emitted_.count(entry.name) != 0) {
        return;  // hidden, shadowed by the local item (listed in its own place), or a duplicate
    }
    auto utf8 = toUtf8(entry.name);
    if (!utf8) return;
    emitted_.insert(entry.name);
    MergedEntry merged;
    merged.name = std::move(utf8).value();
    merged.symlink = entry.extras.symlinkTarget.has_value();
    merged.isDirectory = entry.info.IsDirectory != 0 && !merged.symlink;  // a link is a link, whatever it names
    merged.info = entry.info;
    merged.extras = entry.extras;
    out.push_back(std::move(merged));
}

void EnumerationMerge::finish(std::vector<MergedEntry>& out)
{
    while (diskCursor_ < disk_.size())
        emitDisk(disk_[diskCursor_++], out);
}

}  // namespace hc::projfs
