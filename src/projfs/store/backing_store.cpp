#include "projfs/store/backing_store.h"

#include "base/guid.h"
#include "base/hresult.h"
#include "projfs/store/name_rules.h"
#include "projfs/store/rel_path.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/xattr.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hc::projfs {
namespace {

Error errnoError(int err, const std::string& what)
{
    return makeError(hresultFromErrno(err), what + ": " + std::strerror(err));
}

// Tombstones are empty regular files with no permission bits, confirmed by the state attribute.
bool looksLikeTombstone(const struct stat& st)
{
    return S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0 && st.st_size == 0;
}

int openForAttributes(int rootFd, const std::string& rel)
{
    // O_NONBLOCK: never wait on a FIFO; O_NOFOLLOW: symbolic links carry no state.
    return ::openat(rootFd, atPath(rel), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
}

}  // namespace

std::string temporaryName(const char* purpose)
{
    return std::string(kReservedNamePrefix) + purpose + "~" + formatGuid(newGuid());
}

namespace {

// Reads one attribute through `get` (fgetxattr or lgetxattr); nullopt when absent.
template <typename Get>
Result<std::optional<std::string>> readAttribute(Get&& get, const char* name)
{
    char buf[512];
    ssize_t n = get(name, buf, sizeof(buf));
    if (n < 0) {
        if (errno == ENODATA || errno == ENOTSUP) return std::optional<std::string>();
        return errnoError(errno, std::string("reading attribute ") + name);
    }
    return std::optional<std::string>(std::string(buf, static_cast<size_t>(n)));
}

template <typename Get>
Result<ItemRecord> readRecordWith(Get&& get, bool isDirectory)
{
    ItemRecord record;
    record.isDirectory = isDirectory;
    auto state = readAttribute(get, kXattrState);
    if (!state) return state.error();
    if (state->has_value()) {
        auto parsed = parseItemState(**state);
        if (!parsed) {
            return makeError(HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_METADATA_CORRUPT),
                             "unknown ProjFS state '" + **state + "'");
        }
        record.state = *parsed;
    }
    auto origin = readAttribute(get, kXattrOrigin);
    if (!origin) return origin.error();
    if (origin->has_value()) {
        record.projected = true;
        record.originPath = **origin;
    }
    auto dirty = readAttribute(get, kXattrDirty);
    if (!dirty) return dirty.error();
    record.dirty = dirty->has_value();
    PRJ_PLACEHOLDER_VERSION_INFO version{};
    if (get(kXattrVersion, &version, sizeof(version)) == static_cast<ssize_t>(sizeof(version)))
        record.version = version;
    return record;
}

}  // namespace

Result<std::optional<std::string>> readXattr(int fd, const char* name)
{
    return readAttribute([fd](const char* n, void* buf, size_t size) { return ::fgetxattr(fd, n, buf, size); }, name);
}

Status writeXattr(int fd, const char* name, const void* data, size_t size)
{
    if (::fsetxattr(fd, name, data, size, 0) != 0) return errnoError(errno, std::string("writing attribute ") + name);
    return {};
}

Result<ItemRecord> readRecordFromFd(int fd, bool isDirectory)
{
    return readRecordWith([fd](const char* n, void* buf, size_t size) { return ::fgetxattr(fd, n, buf, size); },
                          isDirectory);
}

Result<ItemRecord> readRecordFromPath(const std::string& path, bool isDirectory)
{
    return readRecordWith(
        [&path](const char* n, void* buf, size_t size) { return ::lgetxattr(path.c_str(), n, buf, size); },
        isDirectory);
}

Result<std::unique_ptr<BackingStore>> BackingStore::open(const std::string& rootPath)
{
    int fd = ::open(rootPath.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errnoError(errno, "opening virtualization root '" + rootPath + "'");
    return std::make_unique<BackingStore>(UniqueFd(fd));
}

Result<struct stat> BackingStore::statItem(const std::string& rel) const
{
    struct stat st {};
    if (::fstatat(rootFd(), atPath(rel), &st, AT_SYMLINK_NOFOLLOW) != 0) return errnoError(errno, "stat '" + rel + "'");
    return st;
}

Result<ItemRecord> BackingStore::readRecord(const std::string& rel) const
{
    auto st = statItem(rel);
    if (!st) return st.error();
    // Only files and directories carry ProjFS state; never open devices, FIFOs or links to look.
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) return ItemRecord{};
    UniqueFd fd(openForAttributes(rootFd(), rel));
    if (!fd.valid()) return errnoError(errno, "open '" + rel + "'");
    return readRecordFromFd(fd.get(), S_ISDIR(st->st_mode));
}

Status BackingStore::setState(const std::string& rel, ItemState state)
{
    UniqueFd fd(openForAttributes(rootFd(), rel));
    if (!fd.valid()) return errnoError(errno, "open '" + rel + "'");
    if (state == ItemState::Full) {
        // Full items keep their origin (so deleting them still leaves a tombstone) but no state.
        if (::fremovexattr(fd.get(), kXattrState) != 0 && errno != ENODATA) return errnoError(errno, "marking full");
        ::fremovexattr(fd.get(), kXattrDirty);
        return {};
    }
    const char* name = itemStateName(state);
    return writeXattr(fd.get(), kXattrState, name, std::strlen(name));
}

Status BackingStore::setDirty(const std::string& rel)
{
    UniqueFd fd(openForAttributes(rootFd(), rel));
    if (!fd.valid()) return errnoError(errno, "open '" + rel + "'");
    return writeXattr(fd.get(), kXattrDirty, "1", 1);
}

Result<std::optional<std::string>> BackingStore::findChild(const std::string& parentRel, std::string_view name) const
{
    std::string exact = joinRel(parentRel, name);
    struct stat st {};
    if (::fstatat(rootFd(), exact.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        return std::optional<std::string>(std::string(name));
    }
    if (errno != ENOENT) return errnoError(errno, "stat '" + exact + "'");
    if (isReservedName(name)) return std::optional<std::string>();
    int err = 0;
    auto found = nameIndex_.find(rootFd(), parentRel, caseFoldedName(wideFromDiskName(name)), err);
    if (err != 0) return errnoError(err, "list directory '" + parentRel + "'");
    return found;
}

Result<std::vector<DiskEntry>> BackingStore::listDirectory(const std::string& rel) const
{
    int fd = ::openat(rootFd(), atPath(rel), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errnoError(errno, "open directory '" + rel + "'");
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
                UniqueFd item(::openat(::dirfd(dir), d->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
                auto state = item.valid() ? readXattr(item.get(), kXattrState)
                                          : Result<std::optional<std::string>>(std::nullopt);
                entry.tombstone = state.ok() && state->has_value() && **state == itemStateName(ItemState::Tombstone);
            }
        }
        out.push_back(std::move(entry));
    }
    ::closedir(dir);
    return out;
}

namespace {

Status applyPlaceholderAttributes(int fd, const PlaceholderSpec& spec)
{
    const char* state = itemStateName(ItemState::Placeholder);
    if (auto s = writeXattr(fd, kXattrState, state, std::strlen(state)); !s) return s;
    if (auto s = writeXattr(fd, kXattrVersion, &spec.version, sizeof(spec.version)); !s) return s;
    if (auto s = writeXattr(fd, kXattrOrigin, spec.originPath.data(), spec.originPath.size()); !s) return s;
    timespec times[2] = {spec.lastAccessTime, spec.lastWriteTime};
    if (::futimens(fd, times) != 0) return errnoError(errno, "setting placeholder times");
    return {};
}

}  // namespace

Status BackingStore::writePlaceholder(const std::string& rel, const PlaceholderSpec& spec)
{
    auto [parentRel, name] = splitRel(rel);
    auto parent = statItem(parentRel);
    if (!parent) return makeError(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND), "parent of '" + rel + "' does not exist");
    if (!S_ISDIR(parent->st_mode))
        return makeError(HRESULT_FROM_WIN32(ERROR_DIRECTORY), "parent of '" + rel + "' is not a directory");

    bool replaceTombstone = false;
    if (auto existing = readRecord(rel); existing.ok()) {
        if (existing->state == ItemState::Tombstone) {
            replaceTombstone = true;
        } else if (existing->state == ItemState::Placeholder && existing->isDirectory == spec.isDirectory) {
            int flags = spec.isDirectory ? O_RDONLY | O_DIRECTORY : O_WRONLY | O_NOFOLLOW | O_NONBLOCK;
            UniqueFd fd(::openat(rootFd(), rel.c_str(), flags | O_CLOEXEC));
            if (!fd.valid()) return errnoError(errno, "open '" + rel + "'");
            if (!spec.isDirectory && ::ftruncate(fd.get(), spec.size) != 0)
                return errnoError(errno, "resize placeholder");
            return applyPlaceholderAttributes(fd.get(), spec);
        } else {
            return makeError(HRESULT_FROM_WIN32(ERROR_FILE_EXISTS), "'" + rel + "' already exists");
        }
    } else if (existing.hr() != HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)) {
        return existing.error();
    }

    if (!spec.isDirectory) {
        // Fastest and cleanest: an anonymous inode, finished, then linked in (no temporary name to insert
        // and remove). File systems without O_TMPFILE take the temporary-name path below.
        auto placed = placeAnonymousFile(rel, spec, replaceTombstone);
        if (!placed || *placed) return placed ? Status() : Status(placed.error());
    }
    return placeUnderTemporaryName(rel, spec, replaceTombstone);
}

Result<bool> BackingStore::placeAnonymousFile(const std::string& rel, const PlaceholderSpec& spec,
                                              bool replaceTombstone)
{
    auto [parentRel, name] = splitRel(rel);
    mode_t mode = spec.readOnly ? 0444 : 0644;
    UniqueFd fd(::openat(rootFd(), atPath(parentRel), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode));
    if (!fd.valid()) {
        if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) return false;
        return errnoError(errno, "creating placeholder");
    }
    if (::ftruncate(fd.get(), spec.size) != 0) return errnoError(errno, "sizing placeholder");
    if (auto s = applyPlaceholderAttributes(fd.get(), spec); !s) return s.error();
    if (replaceTombstone && ::unlinkat(rootFd(), rel.c_str(), 0) == 0) noteChanged(rel);
    // linkat of a descriptor by its /proc path needs no privilege (AT_EMPTY_PATH would).
    std::string self = "/proc/self/fd/" + std::to_string(fd.get());
    if (::linkat(AT_FDCWD, self.c_str(), rootFd(), rel.c_str(), AT_SYMLINK_FOLLOW) != 0) {
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
    if (spec.isDirectory) {
        if (::mkdirat(rootFd(), tmpRel.c_str(), 0755) != 0) return errnoError(errno, "mkdir placeholder");
        fd.reset(::openat(rootFd(), tmpRel.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    } else {
        mode_t mode = spec.readOnly ? 0444 : 0644;
        fd.reset(::openat(rootFd(), tmpRel.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
        if (fd.valid() && ::ftruncate(fd.get(), spec.size) != 0) {
            int err = errno;
            ::unlinkat(rootFd(), tmpRel.c_str(), 0);
            return errnoError(err, "sizing placeholder");
        }
    }
    auto cleanup = [&] { ::unlinkat(rootFd(), tmpRel.c_str(), spec.isDirectory ? AT_REMOVEDIR : 0); };
    if (!fd.valid()) {
        int err = errno;
        cleanup();
        return errnoError(err, "creating placeholder");
    }
    if (auto s = applyPlaceholderAttributes(fd.get(), spec); !s) {
        cleanup();
        return s;
    }
    if (replaceTombstone && ::unlinkat(rootFd(), rel.c_str(), 0) == 0) noteChanged(rel);
    if (::renameat2(rootFd(), tmpRel.c_str(), rootFd(), rel.c_str(), RENAME_NOREPLACE) != 0) {
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
    UniqueFd fd(::openat(rootFd(), tmpRel.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
    if (!fd.valid()) return errnoError(errno, "creating tombstone");
    const char* state = itemStateName(ItemState::Tombstone);
    if (auto s = writeXattr(fd.get(), kXattrState, state, std::strlen(state)); !s) {
        ::unlinkat(rootFd(), tmpRel.c_str(), 0);
        return s;
    }
    ::fchmod(fd.get(), 0);
    return {};
}

Status BackingStore::makeTombstone(const std::string& rel)
{
    auto [parentRel, name] = splitRel(rel);
    std::string tmpRel = joinRel(parentRel, temporaryName("tomb"));
    if (auto s = createTemporaryTombstone(tmpRel); !s) return s;
    if (::renameat(rootFd(), tmpRel.c_str(), rootFd(), rel.c_str()) != 0) {
        int err = errno;
        ::unlinkat(rootFd(), tmpRel.c_str(), 0);
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
    if (::unlinkat(rootFd(), rel.c_str(), 0) != 0) {
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
        if (::unlinkat(rootFd(), child.c_str(), 0) != 0) {
            if (errno == ENOENT) continue;
            return errnoError(errno, "removing tombstone");
        }
        noteChanged(child);
    }
    return {};
}

Result<UniqueFd> BackingStore::openItem(const std::string& rel, int flags, mode_t mode) const
{
    int fd = ::openat(rootFd(), atPath(rel), flags | O_CLOEXEC, mode);
    if (fd < 0) return errnoError(errno, "open '" + rel + "'");
    if (flags & O_CREAT) noteChanged(rel);  // whether new or not: adding a known name changes nothing
    return UniqueFd(fd);
}

Status BackingStore::createEntry(const std::string& rel, const std::function<int(int rootFd, const char* rel)>& create)
{
    if (create(rootFd(), rel.c_str()) != 0) return errnoError(errno, "create '" + rel + "'");
    noteChanged(rel);
    return {};
}

Status BackingStore::removeEntry(const std::string& rel, bool isDirectory)
{
    if (::unlinkat(rootFd(), rel.c_str(), isDirectory ? AT_REMOVEDIR : 0) != 0) {
        return errnoError(errno, std::string(isDirectory ? "rmdir '" : "unlink '") + rel + "'");
    }
    noteChanged(rel);
    return {};
}

Status BackingStore::renameEntry(const std::string& fromRel, const std::string& toRel, unsigned flags)
{
    if (::renameat2(rootFd(), fromRel.c_str(), rootFd(), toRel.c_str(), flags) != 0) {
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
