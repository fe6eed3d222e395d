// NameIndex: per-directory maps from case-folded name to on-disk spelling, so a case-insensitive lookup
// of a name that is not on disk under its exact spelling costs one stat instead of a directory scan
// (53 ms per lookup at 10,000 entries before). No descriptor is kept per directory.
//
// Consistency: an index is valid for one version of its directory, identified by (inode, mtime, ctime).
// Changes made by the runtime itself (placeholders, tombstones, and everything done through the mount)
// are applied to the index as they happen (added/removed), which re-stamps it with the directory's new
// version; without that, filling a 10,000-entry directory with placeholders rebuilt the index 10,000
// times. Any other change to the directory (through a descriptor opened before the mount) changes its
// version, so the index is rebuilt on its next lookup — except a change in the same clock tick as one
// of the runtime's own, which the index cannot tell apart (file system timestamps come from a coarse
// clock). For the same reason a freshly built index is only kept when the directory's ctime/mtime are
// strictly older than the coarse clock read before listing it. Memory is bounded (kMaxIndexedNames in
// all). Thread-safe; one mutex, not held while listing.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hc::projfs {

class NameIndex {
public:
    // Most names held over all directories; the least recently used directories go first.
    static constexpr size_t kMaxIndexedNames = 200'000;

    // The on-disk spelling of a name whose case-folded form is `folded`, in directory `rel` (relative to
    // `rootFd`); nullopt if none. Errors of stat/list are returned as errno values (> 0).
    std::optional<std::string> find(int rootFd, const std::string& rel, const std::wstring& folded, int& err);
    // The runtime just created, removed or renamed `name` in directory `rel`. Call after the change is on
    // disk and before it is reported to anybody; the index records what the disk shows for `name` then.
    void changed(int rootFd, const std::string& rel, std::string_view name);
    // The runtime changed directory `rel`'s times itself, nothing in it: the index stays valid.
    void restamp(int rootFd, const std::string& rel);
    size_t indexedDirectories() const;
    uint64_t listings() const;  // directory listings made to build indexes, since construction

private:
    struct Version {
        ino_t ino = 0;
        timespec mtime{}, ctime{};
        bool operator==(const Version& o) const;
    };
    struct Directory {
        Version version;
        std::unordered_map<std::wstring, std::string> byFolded;  // first spelling listed wins
        // Further spellings of a folded name (only possible for names made outside the mount), so that
        // removing the first does not hide the others.
        std::unordered_multimap<std::wstring, std::string> moreSpellings;
        size_t names() const { return byFolded.size() + moreSpellings.size(); }
        std::list<std::string>::iterator lru;
    };
    void evictFor(size_t names);  // mutex held
    // Applies a change of the runtime's own to an indexed directory and re-stamps it; mutex held.
    template <typename Change>
    void applyOwnChange(int rootFd, const std::string& rel, Change&& change);

    mutable std::mutex mutex_;
    std::unordered_map<std::string, Directory> directories_;
    std::list<std::string> lru_;  // most recently used first
    size_t names_ = 0;
    uint64_t listings_ = 0;
};

}  // namespace hc::projfs
