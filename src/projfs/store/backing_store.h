// BackingStore: the on-disk state under the virtualization root, reached only through the root
// directory descriptor opened before the FUSE mount covers it (so the store never goes through the mount
// and the provider's writes cannot deadlock on it); items deeper than PATH_MAX below it through the
// directories on their way (store/backing_path.h). Placeholders, hydration marks and tombstones are one
// compact extended attribute of each item (item_attribute.h; roots written before it are still read);
// new items are finished before they get their name (files as anonymous O_TMPFILE inodes linked in,
// directories under a reserved temporary name renamed into place), so no half-made placeholder is ever
// visible. Thread-safe: besides the root descriptor it holds the NameIndex (its own mutex) and a fixed
// set of mutexes that serialise read-modify-write of one item's attribute (setState/setDirty/clearDirty).
#pragma once

#include "base/result.h"
#include "base/unique_fd.h"
#include "projfs/store/item_record.h"
#include "projfs/store/name_index.h"

#include <sys/stat.h>

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hc::projfs {

struct DiskEntry {
    std::string name;
    uint64_t inode = 0;
    bool isDirectory = false;
    bool tombstone = false;
};

// What a provider may say of an item beyond PRJ_FILE_BASIC_INFO: hostcompute's POSIX attributes
// (PRJ_HOSTCOMPUTE_POSIX_INFO) and a symbolic link's target (PRJ_EXT_INFO_TYPE_SYMLINK).
struct ProviderExtras {
    std::optional<mode_t> mode;  // permission bits (07777), exact: no umask
    std::optional<uid_t> uid;    // applied only when this process may give files away
    std::optional<gid_t> gid;
    std::optional<std::string> symlinkTarget;  // UTF-8, as the provider gave it
};

struct PlaceholderSpec {
    bool isDirectory = false;
    int64_t size = 0;
    timespec lastWriteTime{};
    timespec lastAccessTime{};
    bool readOnly = false;
    PRJ_PLACEHOLDER_VERSION_INFO version{};
    std::string originPath;
    ProviderExtras extras;
};

// The permission bits a placeholder made from `spec` gets: the provider's mode if it gave one, else
// 0755 / 0644 / 0444 (read-only) less the process's umask.
mode_t placeholderMode(const PlaceholderSpec& spec);

// The attributes writePlaceholder gives a new placeholder made from `spec` (type, permission bits after the
// process's umask, owner, size, times; ctime is the write time, the kernel sets the real one when it is
// written). Items only listed so far are shown with these (docs/projfs-design.md, "Listed items").
struct stat placeholderAttributes(const PlaceholderSpec& spec);

class BackingStore {
public:
    // Opens `rootPath` (a directory) and keeps its descriptor.
    static Result<std::unique_ptr<BackingStore>> open(const std::string& rootPath);
    // Reads the root's format marker: a root marked before the compact attribute is read in both formats.
    explicit BackingStore(UniqueFd rootFd);

    int rootFd() const { return rootFd_.get(); }
    const NameIndex& nameIndex() const { return nameIndex_; }

    // lstat of `rel` ("" = root). ENOENT -> ERROR_FILE_NOT_FOUND.
    Result<struct stat> statItem(const std::string& rel) const;
    Result<ItemRecord> readRecord(const std::string& rel) const;
    // The same for a caller that has just stat'ed `rel`: one system call (getxattrat) instead of two.
    Result<ItemRecord> readRecord(const std::string& rel, const struct stat& st) const;
    // Replaces the item's record (a caller holding the truth in memory: no read first). A full record
    // that the provider never knew removes the attribute.
    Status writeRecord(const std::string& rel, const ItemRecord& record);
    // Read-modify-write of one field (serialised per path).
    Status setState(const std::string& rel, ItemState state);  // Full also clears the dirty mark
    Status setDirty(const std::string& rel);
    Status clearDirty(const std::string& rel);
    // True when the root predates the compact attribute (docs/projfs-design.md, "On-disk format").
    bool legacyFormat() const { return legacyFormat_; }

    // The on-disk spelling of `name` inside `parentRel`: exact match first, then the directory's
    // case-folded NameIndex. nullopt when there is none. Tombstones count (callers check the record).
    Result<std::optional<std::string>> findChild(const std::string& parentRel, std::string_view name) const;
    // Entries of a directory, without "." / ".." and reserved names; tombstones flagged.
    Result<std::vector<DiskEntry>> listDirectory(const std::string& rel) const;

    // Creates a placeholder at `rel` (parent must exist). Replaces a tombstone, updates an existing
    // placeholder of the same kind (keeping its dirty mark); anything else there -> ERROR_FILE_EXISTS.
    // A symbolic link (spec.extras.symlinkTarget) is a plain link on disk: Linux allows no user.*
    // attributes on links, so it carries no state (the same link already there is left as it is).
    // `existed` (optional) says whether an item (placeholder or tombstone) was already there: the caller
    // learns it from the one fstatat this does instead of stat'ing again.
    Status writePlaceholder(const std::string& rel, const PlaceholderSpec& spec, bool* existed = nullptr);
    // Leaves a tombstone at `rel`: atomically replaces a file; for a directory, `rel` must be gone already.
    Status makeTombstone(const std::string& rel);
    // Removes a tombstone at `rel` if there is one (before a new item takes the name).
    Status clearTombstone(const std::string& rel);
    // Removes the tombstones inside directory `rel` (before rmdir: they are invisible).
    Status clearTombstonesIn(const std::string& rel);

    // Opens an item; with O_CREAT the new name is recorded like createEntry's.
    Result<UniqueFd> openItem(const std::string& rel, int flags, mode_t mode = 0) const;

    // Changes to the namespace made on behalf of the mount. Every creation, removal and rename under the
    // root goes through these (or the placeholder/tombstone calls above), which keep the NameIndex
    // current. `create` makes the item at (dirFd, path) — `rel` as BackingPath names it for the *at()
    // calls — and returns 0 or -1 with errno, like mkdirat.
    Status createEntry(const std::string& rel, const std::function<int(int dirFd, const char* path)>& create);
    Status removeEntry(const std::string& rel, bool isDirectory);
    Status renameEntry(const std::string& fromRel, const std::string& toRel, unsigned flags);

private:
    Status createTemporaryTombstone(const std::string& tmpRel);
    // The two ways writePlaceholder makes a new item; false: O_TMPFILE is not available here.
    Result<bool> placeAnonymousFile(const std::string& rel, const PlaceholderSpec& spec, bool replaceTombstone);
    Status placeUnderTemporaryName(const std::string& rel, const PlaceholderSpec& spec, bool replaceTombstone);
    // A symbolic link placeholder (spec.extras.symlinkTarget): a real link, made under a temporary name and
    // renamed into place. `existing`: what lstat found at `rel` (nullptr: nothing).
    Status placeSymlink(const std::string& rel, const PlaceholderSpec& spec, const struct stat* existing);
    void noteChanged(const std::string& rel) const;  // keeps the NameIndex current for `rel`
    // Around one new placeholder: the parent's times as they were, if the parent is the provider's. The
    // caller holds the parent's entry lock throughout, so that no other change to the parent's entries
    // (another placeholder, a program's create) falls between reading the times and putting them back — it
    // would be undone, or its times restored over ours.
    class ParentTimesKeeper {
    public:
        ParentTimesKeeper(BackingStore& store, const std::string& rel);
        Status done(Status placed);  // puts the times back after a success; returns `placed`

    private:
        BackingStore& store_;
        std::string parentRel_;
        timespec times_[2]{};
        bool keep_ = false;
    };
    // The lock that serialises changes to directory `dirRel`'s entries with a ParentTimesKeeper on it.
    // Leaf locks: nothing else is locked while one is held. Two directories: both, in a fixed order.
    std::unique_lock<std::mutex> lockEntriesOf(const std::string& dirRel) const;
    std::pair<std::unique_lock<std::mutex>, std::unique_lock<std::mutex>> lockEntriesOf(const std::string& dirA,
                                                                                        const std::string& dirB) const;
    template <typename Change>
    Status changeRecord(const std::string& rel, Change&& change);

    static constexpr size_t kRecordLocks = 64;
    UniqueFd rootFd_;
    bool legacyFormat_ = false;
    mutable NameIndex nameIndex_;
    std::array<std::mutex, kRecordLocks> recordLocks_;  // by hash of the path; held only around one item's I/O
    static constexpr size_t kEntryLocks = 64;
    mutable std::array<std::mutex, kEntryLocks> entryLocks_;  // by hash of a directory's path (lockEntriesOf)
};

// Reads a string attribute of an open descriptor; nullopt when absent.
Result<std::optional<std::string>> readXattr(int fd, const char* name);
Status writeXattr(int fd, const char* name, const void* data, size_t size);
// Reads the record of an open item (regular file or directory).
Result<ItemRecord> readRecordFromFd(int fd, bool isDirectory);
// Reads the record by path without opening the item (opening a placeholder through the mount would
// hydrate it).
Result<ItemRecord> readRecordFromPath(const std::string& path, bool isDirectory);
// A unique reserved name for a temporary item in the same directory.
std::string temporaryName(const char* purpose);

}  // namespace hc::projfs
