#include "projfs/store/backing_store.h"

#include "base/guid.h"
#include "base/hresult.h"
#include "projfs/store/backing_path.h"
#include "projfs/store/item_xattrs.h"
#include "projfs/store/name_rules.h"
#include "projfs/store/rel_path.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace hc::projfs {
namespace {

// Tombstones are empty regular files with no permission bits, confirmed by the state attribute.
bool looksLikeTombstone(const struct stat& st)
{
    return S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0 && st.st_size == 0;
}

// The process's umask, read once (umask(2) cannot be read without changing it, racing other threads).
mode_t processUmask()
{
    static const mode_t mask = [] {
        mode_t found = 022;
        if (FILE* status = std::fopen("/proc/self/status", "re")) {
            char line[128];
            unsigned value = 0;
            while (std::fgets(line, sizeof(line), status) != nullptr) {
                if (std::sscanf(line, "Umask: %o", &value) == 1) {
                    found = static_cast<mode_t>(value);
                    break;
                }
            }
            std::fclose(status);
        }
        return found;
    }();
    return mask;
}

// Whether this process may give items away (chown to another user): only as root. A provider running as
// another user keeps its items, whatever owner it asked for (read once, like the umask).
bool mayGiveAway()
{
    static const bool root = ::geteuid() == 0;
    return root;
}

// The owner a placeholder gets: the provider's choice where the process may give it, else the process's.
std::pair<uid_t, gid_t> placeholderOwner(const ProviderExtras& extras)
{
    static const uid_t ownUid = ::geteuid();
    static const gid_t ownGid = ::getegid();
    if (!mayGiveAway()) return {ownUid, ownGid};
    return {extras.uid.value_or(ownUid), extras.gid.value_or(ownGid)};
}

}  // namespace

mode_t placeholderMode(const PlaceholderSpec& spec)
{
    if (spec.extras.mode) return *spec.extras.mode & 07777;
    mode_t permissions = spec.isDirectory ? 0755 : spec.readOnly ? 0444 : 0644;
    return permissions & ~processUmask();
}

struct stat placeholderAttributes(const PlaceholderSpec& spec)
{
    struct stat st {};
    st.st_mode = (spec.isDirectory ? S_IFDIR : S_IFREG) | placeholderMode(spec);
    st.st_nlink = spec.isDirectory ? 2 : 1;
    auto [uid, gid] = placeholderOwner(spec.extras);
    st.st_uid = uid;
    st.st_gid = gid;
    st.st_size = spec.isDirectory ? 4096 : spec.size;
    st.st_blksize = 4096;
    st.st_blocks = 0;
    st.st_atim = spec.lastAccessTime;
    st.st_mtim = spec.lastWriteTime;
    st.st_ctim = spec.lastWriteTime;
    return st;
}

std::string temporaryName(const char* purpose)
{
    return std::string(kReservedNamePrefix) + purpose + "~" + formatGuid(newGuid());
}

Result<std::optional<std::string>> readXattr(int fd, const char* name)
{
    return ItemXattrs::ofDescriptor(fd).read(name);
}

Status writeXattr(int fd, const char* name, const void* data, size_t size)
{
    if (::fsetxattr(fd, name, data, size, 0) != 0) return errnoError(errno, std::string("writing attribute ") + name);
    return {};
}

Result<ItemRecord> readRecordFromFd(int fd, bool isDirectory)
{
    auto item = ItemXattrs::ofDescriptor(fd);
    return readItemRecord(item, isDirectory, true);
}

Result<ItemRecord> readRecordFromPath(const std::string& path, bool isDirectory)
{
    ItemXattrs item(AT_FDCWD, path.c_str());
    return readItemRecord(item, isDirectory, true);
}

Result<std::unique_ptr<BackingStore>> BackingStore::open(const std::string& rootPath)
{
    int fd = ::open(rootPath.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errnoError(errno, "open virtualization root '" + rootPath + "'");
    return std::make_unique<BackingStore>(UniqueFd(fd));
}

BackingStore::BackingStore(UniqueFd rootFd) : rootFd_(std::move(rootFd))
{
    // A root marked before the compact format has no format attribute; unknown (unreadable) counts as old.
    auto root = ItemXattrs::ofDescriptor(rootFd_.get());
    auto marker = root.read(kXattrRoot);
    auto format = root.read(kXattrFormat);
    legacyFormat_ = !marker || !format || (marker->has_value() && !format->has_value());
}

Result<struct stat> BackingStore::statItem(const std::string& rel) const
{
    struct stat st {};
    BackingPath at(rootFd(), rel);
    if (!at.ok() || ::fstatat(at.dirFd(), at.path(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errnoError(at.failure(), "stat '" + rel + "'");
    return st;
}

Result<ItemRecord> BackingStore::readRecord(const std::string& rel) const
{
    auto st = statItem(rel);
    if (!st) return st.error();
    return readRecord(rel, *st);
}

Result<ItemRecord> BackingStore::readRecord(const std::string& rel, const struct stat& st) const
{
    // Only files and directories carry ProjFS state (and only they are ever opened to look).
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return ItemRecord{};
    BackingPath at(rootFd(), rel);
    if (!at.ok()) return errnoError(at.error(), "reach '" + rel + "'");
    ItemXattrs item(at.dirFd(), at.path());
    auto record = readItemRecord(item, S_ISDIR(st.st_mode), legacyFormat_);
    if (!record) return Error{record.hr(), "'" + rel + "': " + record.error().message};
    return record;
}

Status BackingStore::writeRecord(const std::string& rel, const ItemRecord& record)
{
    BackingPath at(rootFd(), rel);
    if (!at.ok()) return errnoError(at.error(), "reach '" + rel + "'");
    ItemXattrs item(at.dirFd(), at.path());
    if (auto s = writeItemRecord(item, record, legacyFormat_); !s)
        return Error{s.hr(), "'" + rel + "': " + s.error().message};
    return {};
}

template <typename Change>
Status BackingStore::changeRecord(const std::string& rel, Change&& change)
{
    // Read-modify-write of the one attribute: serialised per path, so that a dirty mark and a state
    // change made at once by two threads both survive.
    std::lock_guard lock(recordLocks_[std::hash<std::string>{}(rel) % kRecordLocks]);
    BackingPath at(rootFd(), rel);
    if (!at.ok()) return errnoError(at.error(), "reach '" + rel + "'");
    ItemXattrs item(at.dirFd(), at.path());
    auto record = readItemRecord(item, false, legacyFormat_);
    if (!record) return Error{record.hr(), "'" + rel + "': " + record.error().message};
    change(*record);
    if (auto s = writeItemRecord(item, *record, legacyFormat_); !s)
        return Error{s.hr(), "'" + rel + "': " + s.error().message};
    return {};
}

Status BackingStore::setState(const std::string& rel, ItemState state)
{
    return changeRecord(rel, [state](ItemRecord& record) {
        record.state = state;
        // Full items keep their origin (so deleting them still leaves a tombstone) but no dirty mark.
        if (state == ItemState::Full) record.dirty = false;
    });
}

Status BackingStore::setDirty(const std::string& rel)
{
    return changeRecord(rel, [](ItemRecord& record) { record.dirty = true; });
}

Status BackingStore::clearDirty(const std::string& rel)
{
    return changeRecord(rel, [](ItemRecord& record) { record.dirty = false; });
}

Result<std::optional<std::string>> BackingStore::findChild(const std::string& parentRel, std::string_view name) const
{
    std::string exact = joinRel(parentRel, name);
    struct stat st {};
    BackingPath at(rootFd(), exact);
    if (at.ok() && ::fstatat(at.dirFd(), at.path(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        return std::optional<std::string>(std::string(name));
    }
    if (at.failure() != ENOENT) return errnoError(at.failure(), "stat '" + exact + "'");
    if (isReservedName(name)) return std::optional<std::string>();
    int err = 0;
    auto found = nameIndex_.find(rootFd(), parentRel, caseFoldedName(wideFromDiskName(name)), err);
    if (err != 0) return errnoError(err, "list directory '" + parentRel + "'");
    return found;
}

Result<std::vector<DiskEntry>> BackingStore::listDirectory(const std::string& rel) const
{
    BackingPath at(rootFd(), rel);
    int fd = at.ok() ? ::openat(at.dirFd(), at.path(), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd < 0) return errnoError(at.failure(), "open directory '" + rel + "'");
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
        int err = errno;
        ::close(fd);
        return errnoError(err, "fdopendir");
    }
    std::vector<DiskEntry> out;
    while (struct dirent* d = ::readdir(dir)) {
        std::string_view name = d->d_name;
        if (name == "." || name == ".." || isReservedName(name)) continue;
        DiskEntry entry{std::string(name), d->d_ino, d->d_type == DT_DIR, false};
        if (d->d_type == DT_REG || d->d_type == DT_UNKNOWN) {
            struct stat st {};
            if (::fstatat(::dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // raced with a delete
            entry.isDirectory = S_ISDIR(st.st_mode);
            if (looksLikeTombstone(st)) {
                ItemXattrs item(::dirfd(dir), d->d_name);
                auto record = readItemRecord(item, false, legacyFormat_);
                entry.tombstone = record.ok() && record->state == ItemState::Tombstone;
            }
        }
        out.push_back(std::move(entry));
    }
    ::closedir(dir);
    return out;
}

namespace {

// State, version and origin, then the times (after the size and the attribute, which change them).
Status applyPlaceholderAttributes(int fd, const PlaceholderSpec& spec, bool dirty, bool legacyFormat)
{
    ItemRecord record;
    record.state = ItemState::Placeholder;
    record.dirty = dirty;
    record.isDirectory = spec.isDirectory;
    record.projected = true;
    record.originPath = spec.originPath;
    record.version = spec.version;
    auto item = ItemXattrs::ofDescriptor(fd);
    if (auto s = writeItemRecord(item, record, legacyFormat); !s) return s;
    // The owner before the mode (chown clears set-ID bits); only what the provider asked for, so a
    // placeholder that asked nothing keeps what it has.
    if (mayGiveAway() && (spec.extras.uid || spec.extras.gid)) {
        uid_t uid = spec.extras.uid.value_or(static_cast<uid_t>(-1));
        gid_t gid = spec.extras.gid.value_or(static_cast<gid_t>(-1));
        if (::fchown(fd, uid, gid) != 0) return errnoError(errno, "setting placeholder owner");
    }
    if (spec.extras.mode && ::fchmod(fd, placeholderMode(spec)) != 0)
        return errnoError(errno, "setting placeholder mode");
    timespec times[2] = {spec.lastAccessTime, spec.lastWriteTime};
    if (::futimens(fd, times) != 0) return errnoError(errno, "setting placeholder times");
    return {};
}

// An error of creating something in the parent of `rel`, as ProjFS names it.
Error parentError(int err, const std::string& rel, const char* what)
{
    if (err == ENOENT)
        return makeError(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND), "parent of '" + rel + "' does not exist");
    if (err == ENOTDIR)
        return makeError(HRESULT_FROM_WIN32(ERROR_DIRECTORY), "parent of '" + rel + "' is not a directory");
    return errnoError(err, what);
}

}  // namespace

Status BackingStore::writePlaceholder(const std::string& rel, const PlaceholderSpec& spec, bool* existed)
{
    // One fstatat decides: nothing there (create), a tombstone (replace), a placeholder of the same kind
    // (update in place) or anything else (exists). A missing parent shows up when creating. Under the
    // parent's entry lock: two threads placing the same name at once (two programs opening one listed
    // directory) would otherwise both decide "create", and the second fail with ERROR_FILE_EXISTS.
    auto entries = lockEntriesOf(splitRel(rel).first);
    struct stat st {};
    bool replaceTombstone = false;
    BackingPath at(rootFd(), rel);
    const bool found = at.ok() && ::fstatat(at.dirFd(), at.path(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    const int statError = found ? 0 : at.failure();
    if (existed) *existed = found;
    if (spec.extras.symlinkTarget && (found || statError == ENOENT)) {
        ParentTimesKeeper keep(*this, rel);
        return keep.done(placeSymlink(rel, spec, found ? &st : nullptr));
    }
    if (found) {
        auto existing = readRecord(rel, st);
        if (!existing) return existing.error();
        if (existing->state == ItemState::Tombstone) {
            replaceTombstone = true;
        } else if (existing->state == ItemState::Placeholder && existing->isDirectory == spec.isDirectory) {
            int flags = spec.isDirectory ? O_RDONLY | O_DIRECTORY : O_WRONLY | O_NOFOLLOW | O_NONBLOCK;
            UniqueFd fd(::openat(at.dirFd(), at.path(), flags | O_CLOEXEC));
            if (!fd.valid()) return errnoError(errno, "open '" + rel + "'");
            if (!spec.isDirectory && st.st_size != spec.size && ::ftruncate(fd.get(), spec.size) != 0)
                return errnoError(errno, "resize placeholder");
            return applyPlaceholderAttributes(fd.get(), spec, existing->dirty, legacyFormat_);
        } else {
            return makeError(HRESULT_FROM_WIN32(ERROR_FILE_EXISTS), "'" + rel + "' already exists");
        }
    } else if (statError == ENOTDIR) {
        return parentError(statError, rel, "stat");
    } else if (statError != ENOENT) {
        return errnoError(statError, "stat '" + rel + "'");
    }

    ParentTimesKeeper keep(*this, rel);
    if (!spec.isDirectory) {
        // Fastest and cleanest: an anonymous inode, finished, then linked in (no temporary name to insert
        // and remove). File systems without O_TMPFILE take the temporary-name path below.
        auto placed = placeAnonymousFile(rel, spec, replaceTombstone);
        if (!placed || *placed) return keep.done(placed ? Status() : Status(placed.error()));
    }
    return keep.done(placeUnderTemporaryName(rel, spec, replaceTombstone));
}

namespace {

// The provider's times and (as root) owner on a link, which cannot be opened.
Status applySymlinkAttributes(int dirFd, const char* rel, const PlaceholderSpec& spec)
{
    if (mayGiveAway() && (spec.extras.uid || spec.extras.gid)) {
        uid_t uid = spec.extras.uid.value_or(static_cast<uid_t>(-1));
        gid_t gid = spec.extras.gid.value_or(static_cast<gid_t>(-1));
        if (::fchownat(dirFd, rel, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
            return errnoError(errno, "setting symbolic link owner");
    }
    timespec times[2] = {spec.lastAccessTime, spec.lastWriteTime};
    if (::utimensat(dirFd, rel, times, AT_SYMLINK_NOFOLLOW) != 0)
        return errnoError(errno, "setting symbolic link times");
    return {};
}

}  // namespace

// A new placeholder changes its directory's mtime; while that directory is the provider's (the root, or a
// directory placeholder nobody changed) the provider's times are put back, so what a program reads of the
// directory does not change because the runtime filled it (docs/projfs-design.md, "Stable attributes").
BackingStore::ParentTimesKeeper::ParentTimesKeeper(BackingStore& store, const std::string& rel)
    : store_(store), parentRel_(splitRel(rel).first)
{
    struct stat st {};
    BackingPath at(store_.rootFd(), parentRel_);
    if (!at.ok() || ::fstatat(at.dirFd(), at.path(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
    if (!parentRel_.empty()) {
        auto record = store_.readRecord(parentRel_, st);
        if (!record || record->dirty || record->state != ItemState::Placeholder) return;
    }
    times_[0] = st.st_atim;
    times_[1] = st.st_mtim;
    keep_ = true;
}

Status BackingStore::ParentTimesKeeper::done(Status placed)
{
    if (!placed || !keep_) return placed;
    BackingPath at(store_.rootFd(), parentRel_);
    if (at.ok() && ::utimensat(at.dirFd(), at.path(), times_, AT_SYMLINK_NOFOLLOW) == 0)
        store_.nameIndex_.restamp(store_.rootFd(), parentRel_);  // its own change: the index stays valid
    return placed;
}

std::unique_lock<std::mutex> BackingStore::lockEntriesOf(const std::string& dirRel) const
{
    return std::unique_lock(entryLocks_[std::hash<std::string>{}(dirRel) % kEntryLocks]);
}

std::pair<std::unique_lock<std::mutex>, std::unique_lock<std::mutex>> BackingStore::lockEntriesOf(
    const std::string& dirA, const std::string& dirB) const
{
    size_t a = std::hash<std::string>{}(dirA) % kEntryLocks;
    size_t b = std::hash<std::string>{}(dirB) % kEntryLocks;
    if (a == b) return {std::unique_lock(entryLocks_[a]), std::unique_lock<std::mutex>()};
    if (a > b) std::swap(a, b);
    std::unique_lock first(entryLocks_[a]);
    return {std::move(first), std::unique_lock(entryLocks_[b])};
}

Status BackingStore::placeSymlink(const std::string& rel, const PlaceholderSpec& spec, const struct stat* existing)
{
    const std::string& target = *spec.extras.symlinkTarget;
    bool replaceTombstone = false;
    if (existing != nullptr) {
        if (S_ISLNK(existing->st_mode)) {
            // The same link again (a lookup racing a listing, a provider writing twice) is no change.
            std::string current(static_cast<size_t>(existing->st_size) + 1, '\0');
            BackingPath at(rootFd(), rel);
            ssize_t n = at.ok() ? ::readlinkat(at.dirFd(), at.path(), current.data(), current.size()) : -1;
            if (n >= 0 && static_cast<size_t>(n) == target.size() && current.compare(0, target.size(), target) == 0)
                return applySymlinkAttributes(at.dirFd(), at.path(), spec);
            return makeError(HRESULT_FROM_WIN32(ERROR_FILE_EXISTS), "'" + rel + "' already exists");
        }
        auto record = readRecord(rel, *existing);
        if (!record) return record.error();
        if (record->state != ItemState::Tombstone)
            return makeError(HRESULT_FROM_WIN32(ERROR_FILE_EXISTS), "'" + rel + "' already exists");
        replaceTombstone = true;
    }
    auto [parentRel, name] = splitRel(rel);
    std::string tmpRel = joinRel(parentRel, temporaryName("new"));
    BackingPath tmp(rootFd(), tmpRel);
    if (!tmp.ok() || ::symlinkat(target.c_str(), tmp.dirFd(), tmp.path()) != 0)
        return parentError(tmp.failure(), rel, "creating symbolic link placeholder");
    if (auto s = applySymlinkAttributes(tmp.dirFd(), tmp.path(), spec); !s) {
        unlinkBelow(rootFd(), tmpRel, 0);
        return s;
    }
    if (replaceTombstone && unlinkBelow(rootFd(), rel, 0) == 0) noteChanged(rel);
    if (renameBelow(rootFd(), tmpRel, rel, RENAME_NOREPLACE) != 0) {
        int err = errno;
        unlinkBelow(rootFd(), tmpRel, 0);
        if (err == EEXIST) return makeError(HRESULT_FROM_WIN32(ERROR_FILE_EXISTS), "'" + rel + "' already exists");
        return errnoError(err, "placing symbolic link placeholder '" + rel + "'");
    }
    noteChanged(rel);
    return {};
}

Result<bool> BackingStore::placeAnonymousFile(const std::string& rel, const PlaceholderSpec& spec,
                                              bool replaceTombstone)
{
    auto [parentRel, name] = splitRel(rel);
    // Created writable by its owner whatever its final mode (set by applyPlaceholderAttributes).
    mode_t mode = spec.extras.mode ? 0600 : spec.readOnly ? 0444 : 0644;
    BackingPath parent(rootFd(), parentRel);
    UniqueFd fd(parent.ok() ? ::openat(parent.dirFd(), parent.path(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode) : -1);
    if (!fd.valid()) {
        const int err = parent.failure();
        if (err == EOPNOTSUPP || err == EISDIR || err == EINVAL) return false;
        return parentError(err, rel, "creating placeholder");
    }
    if (spec.size != 0 && ::ftruncate(fd.get(), spec.size) != 0) return errnoError(errno, "sizing placeholder");
    if (auto s = applyPlaceholderAttributes(fd.get(), spec, false, false); !s) return s.error();
    if (replaceTombstone && unlinkBelow(rootFd(), rel, 0) == 0) noteChanged(rel);
    // linkat of a descriptor by its /proc path needs no privilege (AT_EMPTY_PATH would).
    char self[32];
    std::snprintf(self, sizeof(self), "/proc/self/fd/%d", fd.get());
    BackingPath at(rootFd(), rel);
    if (!at.ok() || ::linkat(AT_FDCWD, self, at.dirFd(), at.path(), AT_SYMLINK_FOLLOW) != 0) {
        if (!at.ok()) return errnoError(at.error(), "placing placeholder '" + rel + "'");
        if (errno == EEXIST) return makeError(HRESULT_FROM_WIN32(ERROR_FILE_EXISTS), "'" + rel + "' already exists");
        if (errno == ENOENT && ::access("/proc/self/fd", F_OK) != 0) return false;  // no /proc
        return errnoError(errno, "placing placeholder '" + rel + "'");
    }
    noteChanged(rel);
    return true;
}

Status BackingStore::placeUnderTemporaryName(const std::string& rel, const PlaceholderSpec& spec, bool replaceTombstone)
{
    auto [parentRel, name] = splitRel(rel);
    std::string tmpRel = joinRel(parentRel, temporaryName("new"));
    UniqueFd fd;
    BackingPath tmp(rootFd(), tmpRel);
    if (!tmp.ok()) return parentError(tmp.error(), rel, "creating placeholder");
    if (spec.isDirectory) {
        if (::mkdirat(tmp.dirFd(), tmp.path(), 0755) != 0) return parentError(errno, rel, "mkdir placeholder");
        fd.reset(::openat(tmp.dirFd(), tmp.path(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    } else {
        mode_t mode = spec.extras.mode ? 0600 : spec.readOnly ? 0444 : 0644;
        fd.reset(::openat(tmp.dirFd(), tmp.path(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
        if (!fd.valid()) return parentError(errno, rel, "creating placeholder");
        if (spec.size != 0 && ::ftruncate(fd.get(), spec.size) != 0) {
            int err = errno;
            unlinkBelow(rootFd(), tmpRel, 0);
            return errnoError(err, "sizing placeholder");
        }
    }
    auto cleanup = [&] { unlinkBelow(rootFd(), tmpRel, spec.isDirectory ? AT_REMOVEDIR : 0); };
    if (!fd.valid()) {
        int err = errno;
        cleanup();
        return errnoError(err, "creating placeholder");
    }
    // A new item: nothing of the first format to remove.
    if (auto s = applyPlaceholderAttributes(fd.get(), spec, false, false); !s) {
        cleanup();
        return s;
    }
    if (replaceTombstone && unlinkBelow(rootFd(), rel, 0) == 0) noteChanged(rel);
    if (renameBelow(rootFd(), tmpRel, rel, RENAME_NOREPLACE) != 0) {
        int err = errno;
        cleanup();
        if (err == EEXIST) return makeError(HRESULT_FROM_WIN32(ERROR_FILE_EXISTS), "'" + rel + "' already exists");
        return errnoError(err, "placing placeholder '" + rel + "'");
    }
    noteChanged(rel);
    return {};
}

Status BackingStore::createTemporaryTombstone(const std::string& tmpRel)
{
    // Mode 0 from the start (the umask only removes bits).
    BackingPath tmp(rootFd(), tmpRel);
    UniqueFd fd(tmp.ok() ? ::openat(tmp.dirFd(), tmp.path(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0) : -1);
    if (!fd.valid()) return errnoError(tmp.failure(), "creating tombstone");
    ItemRecord record;
    record.state = ItemState::Tombstone;
    auto item = ItemXattrs::ofDescriptor(fd.get());
    if (auto s = writeItemRecord(item, record, false); !s) {
        unlinkBelow(rootFd(), tmpRel, 0);
        return s;
    }
    return {};
}

Status BackingStore::makeTombstone(const std::string& rel)
{
    auto [parentRel, name] = splitRel(rel);
    std::string tmpRel = joinRel(parentRel, temporaryName("tomb"));
    auto entries = lockEntriesOf(parentRel);
    if (auto s = createTemporaryTombstone(tmpRel); !s) return s;
    if (renameBelow(rootFd(), tmpRel, rel, 0) != 0) {
        int err = errno;
        unlinkBelow(rootFd(), tmpRel, 0);
        return errnoError(err, "placing tombstone '" + rel + "'");
    }
    noteChanged(rel);
    return {};
}

Status BackingStore::clearTombstone(const std::string& rel)
{
    auto record = readRecord(rel);
    if (!record) return record.hr() == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) ? Status() : Status(record.error());
    if (record->state != ItemState::Tombstone) return {};
    if (unlinkBelow(rootFd(), rel, 0) != 0) {
        return errno == ENOENT ? Status() : errnoError(errno, "removing tombstone");
    }
    noteChanged(rel);
    return {};
}

Status BackingStore::clearTombstonesIn(const std::string& rel)
{
    auto entries = listDirectory(rel);
    if (!entries) return entries.error();
    for (const auto& entry : *entries) {
        if (!entry.tombstone) continue;
        std::string child = joinRel(rel, entry.name);
        if (unlinkBelow(rootFd(), child, 0) != 0) {
            if (errno == ENOENT) continue;
            return errnoError(errno, "removing tombstone");
        }
        noteChanged(child);
    }
    return {};
}

Result<UniqueFd> BackingStore::openItem(const std::string& rel, int flags, mode_t mode) const
{
    std::unique_lock<std::mutex> entries;
    if (flags & O_CREAT) entries = lockEntriesOf(splitRel(rel).first);
    BackingPath at(rootFd(), rel);
    int fd = at.ok() ? ::openat(at.dirFd(), at.path(), flags | O_CLOEXEC, mode) : -1;
    if (fd < 0) return errnoError(at.failure(), "open '" + rel + "'");
    if (flags & O_CREAT) noteChanged(rel);  // whether new or not: adding a known name changes nothing
    return UniqueFd(fd);
}

Status BackingStore::createEntry(const std::string& rel, const std::function<int(int dirFd, const char* path)>& create)
{
    auto entries = lockEntriesOf(splitRel(rel).first);
    BackingPath at(rootFd(), rel);
    if (!at.ok() || create(at.dirFd(), at.path()) != 0) return errnoError(at.failure(), "create '" + rel + "'");
    noteChanged(rel);
    return {};
}

Status BackingStore::removeEntry(const std::string& rel, bool isDirectory)
{
    auto entries = lockEntriesOf(splitRel(rel).first);
    if (unlinkBelow(rootFd(), rel, isDirectory ? AT_REMOVEDIR : 0) != 0) {
        return errnoError(errno, std::string(isDirectory ? "rmdir '" : "unlink '") + rel + "'");
    }
    noteChanged(rel);
    return {};
}

Status BackingStore::renameEntry(const std::string& fromRel, const std::string& toRel, unsigned flags)
{
    auto entries = lockEntriesOf(splitRel(fromRel).first, splitRel(toRel).first);
    if (renameBelow(rootFd(), fromRel, toRel, flags) != 0) {
        return errnoError(errno, "rename '" + fromRel + "'");
    }
    noteChanged(fromRel);
    noteChanged(toRel);
    return {};
}

void BackingStore::noteChanged(const std::string& rel) const
{
    auto [parentRel, name] = splitRel(rel);
    nameIndex_.changed(rootFd(), parentRel, name);
}

}  // namespace hc::projfs
