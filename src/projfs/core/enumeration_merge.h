// EnumerationMerge: merges the provider's entries (arriving in batches, in PrjFileNameCompare order)
// with what is on disk, in the same order: an item on disk wins over the provider's entry of the same
// name (case-insensitively), a tombstone hides it, and a name is never listed twice even if the
// provider repeats it or sorts badly. Pure logic, no I/O.
#pragma once

#include "projfs/core/dir_entry_buffer.h"
#include "projfs/store/backing_store.h"

#include <set>
#include <string>
#include <vector>

namespace hc::projfs {

struct MergedEntry {
    std::string name;  // UTF-8, as it will appear in readdir
    bool isDirectory = false;
    bool onDisk = false;
    bool symlink = false;        // a provider entry that is a symbolic link
    uint64_t inode = 0;          // backing inode (on-disk entries)
    PRJ_FILE_BASIC_INFO info{};  // provider's information (virtual entries)
    ProviderExtras extras;       // the provider's ExtendedInfo (virtual entries)
};

class EnumerationMerge {
public:
    // Starts over with a fresh listing of the directory.
    void reset(std::vector<DiskEntry> disk);
    // Feeds one provider entry; appends whatever becomes ready to `out`.
    void addProviderEntry(const ProviderDirEntry& entry, std::vector<MergedEntry>& out);
    // The provider has no more entries: appends the remaining disk entries.
    void finish(std::vector<MergedEntry>& out);

private:
    struct Less {
        bool operator()(const std::wstring& a, const std::wstring& b) const;
    };
    struct SortedDiskEntry {
        std::wstring key;
        DiskEntry entry;
    };
    void emitDisk(const SortedDiskEntry& disk, std::vector<MergedEntry>& out);

    std::vector<SortedDiskEntry> disk_;  // sorted, without tombstones
    size_t diskCursor_ = 0;
    std::set<std::wstring, Less> diskNames_;
    std::set<std::wstring, Less> tombstones_;
    std::set<std::wstring, Less> emitted_;
};

}  // namespace hc::projfs
