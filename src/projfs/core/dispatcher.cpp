#include "projfs/core/dispatcher.h"

#include "base/hresult.h"
#include "projfs/core/item_updates.h"
#include "projfs/core/subtree_detach.h"
#include "projfs/core/virtualization_instance.h"
#include "projfs/store/rel_path.h"

#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>  // RENAME_EXCHANGE
#include <cstring>

namespace hc::projfs {
namespace {

// Customer bit (0x20000000) + failure: an HRESULT no Windows API returns, so it cannot be mistaken.
constexpr uint32_t kErrnoHresultBase = 0xA0000000u | (0x0FFu << 16);

Error syscallError(int err, const std::string& what)
{
    return makeError(errnoHresult(err), what + ": " + std::strerror(err));
}

const HRESULT kNoSuchItem = HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);

// Longest name one directory entry can have (NAME_MAX of the backing file systems).
constexpr size_t kMaxNameBytes = 255;

// Why `name` cannot name an item here: a name longer than NAME_MAX is ENAMETOOLONG, as on any Linux file
// system (the kernel leaves that check to us); any other invalid name gets `invalid`.
std::optional<Error> nameError(const std::string& name, HRESULT invalid)
{
    if (name.size() > kMaxNameBytes) {
        return makeError(errnoHresult(ENAMETOOLONG), "a name of " + std::to_string(name.size()) + " bytes is too long");
    }
    if (!isValidComponent(name)) return makeError(invalid, "'" + name + "' cannot be a name here");
    return std::nullopt;
}

bool isHardLinked(const struct stat& st)
{
    return !S_ISDIR(st.st_mode) && st.st_nlink > 1;
}

}  // namespace

HRESULT errnoHresult(int err)
{
    return static_cast<HRESULT>(kErrnoHresultBase | (static_cast<uint32_t>(err) & 0xFFFFu));
}

int errnoCarriedBy(HRESULT hr)
{
    uint32_t bits = static_cast<uint32_t>(hr);
    return (bits & 0xFFFF0000u) == kErrnoHresultBase ? static_cast<int>(bits & 0xFFFFu) : 0;
}

int errnoForCaller(HRESULT hr)
{
    if (SUCCEEDED(hr)) return 0;
    if (int err = errnoCarriedBy(hr); err != 0) return err;
    int err = errnoFromHresult(hr);
    return err == 0 ? EIO : err;
}

OpenFile::OpenFile(InodeMap& inodes, std::shared_ptr<Inode> inode, UniqueFd fd)
    : inodes_(inodes), inode_(std::move(inode)), fd_(std::move(fd))
{
    inodes_.pin(*inode_);
    inodes_.addOpenDescriptor(*inode_, fd_.get());
}

OpenFile::~OpenFile()
{
    Notifications::dropHandle(*inode_, notify);
    inodes_.removeOpenDescriptor(*inode_, fd_.get());
    inodes_.unpin(*inode_);
    fd_.reset();
}

Dispatcher::Dispatcher(VirtualizationInstance& instance) : instance_(instance), inodes_(instance.inodes()) {}

Result<std::string> Dispatcher::pathOf(uint64_t ino)
{
    auto rel = inodes_.path(ino);
    if (!rel) return makeError(kNoSuchItem, "inode " + std::to_string(ino) + " has no name (deleted or forgotten)");
    return *rel;
}

// A listed item (only the provider's listing knows it) as a program sees it before anything is on disk:
// what its placeholder will look like (store/backing_store.h), with a number that stays put while listed.
struct stat Dispatcher::listedAttributes(const std::string& dirRel, const std::string& name,
                                         const PRJ_FILE_BASIC_INFO& info, const ProviderExtras& extras)
{
    PRJ_PLACEHOLDER_INFO placeholder{};
    placeholder.FileBasicInfo = info;
    std::string rel = joinRel(dirRel, name);
    struct stat st = placeholderAttributes(placeholderSpecFrom(placeholder, rel, extras));
    st.st_ino = listedNumber(rel);
    return st;
}

uint64_t Dispatcher::listedNumber(const std::string& rel)
{
    return std::hash<std::string>{}(rel) | (1ull << 63);
}

void Dispatcher::ensureOnDisk(const RequestContext& ctx, uint64_t ino, Completion<std::string> done)
{
    auto location = inodes_.listedLocation(ino);
    if (!location) return done(pathOf(ino));
    // The parent first (a listed directory's child can only be known once the directory was opened, but
    // its own parent may be listed still when the chain is walked from a long-lived handle).
    ensureOnDisk(
        ctx, location->first,
        [this, ctx, ino, parent = location->first, name = location->second, done](Result<std::string> dir) {
            if (!dir) return done(dir.error());
            instance_.resolveChild(
                ctx, *dir, name,
                [this, ctx, ino, parent, name, dirRel = *dir, done](Result<std::optional<std::string>> found) {
                    if (!found) return done(found.error());
                    if (!found->has_value()) {
                        // The provider no longer has it: the name is gone. (The provider's own I/O sees only
                        // the disk and changes nothing.)
                        if (!instance_.isProviderRequest(ctx)) inodes_.removed(parent, name);
                        return done(makeError(kNoSuchItem, "'" + joinRel(dirRel, name) + "' is no longer projected"));
                    }
                    std::string rel = joinRel(dirRel, **found);
                    auto st = instance_.store().statItem(rel);
                    if (!st) return done(st.error());
                    if (**found != name) inodes_.renamed(parent, name, parent, **found);
                    inodes_.materialized(ino, st->st_ino);
                    if (materialized_) materialized_(ino);
                    done(std::move(rel));
                });
        });
}

void Dispatcher::ensureChildOnDisk(const RequestContext& ctx, uint64_t parent, const std::string& name,
                                   Completion<void> done)
{
    auto child = inodes_.child(parent, name);
    if (!child || !inodes_.listedLocation(*child)) return done(Status());
    ensureOnDisk(ctx, *child, [done](Result<std::string> rel) {
        if (!rel) return done(rel.error());
        done(Status());
    });
}

Result<EntryAnswer> Dispatcher::entryAt(uint64_t parent, const std::string& name, const std::string& rel)
{
    auto st = instance_.store().statItem(rel);
    if (!st) return st.error();
    EntryAnswer entry;
    entry.ino = inodes_.remember(parent, name, st->st_ino, isHardLinked(*st));
    entry.attr = *st;
    stabilize(inodes_.get(entry.ino).get(), rel, entry.attr);
    return entry;
}

// While an item is the provider's — the root, or a placeholder (hydrated or not) nobody changed — a program
// sees its ctime equal to its mtime, the provider's time: writing the placeholder, hydrating it and filling
// its directory with placeholders change the backing ctime, and programs take a new ctime for a change
// (tar: "file changed as we read it"). Any local change makes the item dirty or full, and its real ctime
// shows from then on (docs/projfs-design.md, "Stable attributes").
void Dispatcher::stabilize(Inode* inode, const std::string& rel, struct stat& st)
{
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return;
    if (!rel.empty()) {
        auto record = instance_.record(inode, rel);
        if (!record || record->dirty) return;
        if (record->state != ItemState::Placeholder && record->state != ItemState::HydratedPlaceholder) return;
    }
    st.st_ctim = st.st_mtim;
}

std::string Dispatcher::diskName(const std::string& parentRel, const std::string& name)
{
    auto found = instance_.store().findChild(parentRel, name);
    return found.ok() && found->has_value() ? **found : name;
}

// A name the provider's last listing of the directory has and nothing on disk has (no local item, no
// tombstone) is answered from that listing: no GetPlaceholderInfo, no placeholder yet.
std::optional<EntryAnswer> Dispatcher::listedEntry(const RequestContext& ctx, uint64_t parent,
                                                   const std::string& parentRel, const std::string& name)
{
    if (instance_.isProviderRequest(ctx)) return std::nullopt;
    auto listed = instance_.listedChild(parentRel, name);
    if (!listed) return std::nullopt;
    auto onDisk = instance_.store().findChild(parentRel, name);
    if (!onDisk || onDisk->has_value()) return std::nullopt;
    if (!instance_.isProviderBacked(ctx, parentRel)) return std::nullopt;
    struct stat attr = listedAttributes(parentRel, listed->name, listed->info, listed->extras);
    auto ino = inodes_.rememberListed(parent, listed->name, attr);
    if (!ino) return std::nullopt;
    return EntryAnswer{*ino, attr};
}

void Dispatcher::lookup(const RequestContext& ctx, uint64_t parent, const std::string& name,
                        Completion<EntryAnswer> done)
{
    if (auto bad = nameError(name, kNoSuchItem)) return done(*bad);
    ensureOnDisk(ctx, parent, [this, ctx, parent, name, done](Result<std::string> parentRel) {
        if (!parentRel) return done(parentRel.error());
        if (auto listed = listedEntry(ctx, parent, *parentRel, name)) return done(std::move(*listed));
        instance_.resolveChild(ctx, *parentRel, name,
                               [this, parent, parentRel = *parentRel, done](Result<std::optional<std::string>> found) {
                                   if (!found) return done(found.error());
                                   if (!found->has_value()) return done(makeError(kNoSuchItem, "no such item"));
                                   done(entryAt(parent, **found, joinRel(parentRel, **found)));
                               });
    });
}

Result<struct stat> Dispatcher::getattr(uint64_t ino, const OpenFile* file)
{
    struct stat st {};
    if (file != nullptr && ::fstat(file->fd(), &st) == 0) {
        if (auto rel = inodes_.path(ino)) stabilize(inodes_.get(ino).get(), *rel, st);
        return st;
    }
    if (auto listed = inodes_.listedAttributes(ino)) return *listed;
    auto rel = pathOf(ino);
    if (!rel) {
        // No name left but still open (unlinked while open): the open file answers, as on any file system.
        UniqueFd open(inodes_.duplicateOpenDescriptor(ino));
        if (open.get() >= 0 && ::fstat(open.get(), &st) == 0) return st;
        return rel.error();
    }
    auto result = instance_.store().statItem(*rel);
    if (!result) return result.error();
    stabilize(inodes_.get(ino).get(), *rel, *result);
    return *result;
}

namespace {

// chmod / chown / utimes of the backing item — by its path under `root`, or through `fd` when the item
// has no name left (`fd` >= 0); an errno error names the call that failed.
Status applyMetadata(int root, const std::string& rel, int fd, const struct stat& attr, unsigned toSet)
{
    const char* path = atPath(rel);
    if (toSet & kAttrMode) {
        mode_t mode = attr.st_mode & 07777;
        if ((fd >= 0 ? ::fchmod(fd, mode) : ::fchmodat(root, path, mode, 0)) != 0) {
            return syscallError(errno, "chmod '" + rel + "'");
        }
    }
    if (toSet & (kAttrUid | kAttrGid)) {
        uid_t uid = (toSet & kAttrUid) ? attr.st_uid : static_cast<uid_t>(-1);
        gid_t gid = (toSet & kAttrGid) ? attr.st_gid : static_cast<gid_t>(-1);
        if ((fd >= 0 ? ::fchown(fd, uid, gid) : ::fchownat(root, path, uid, gid, AT_SYMLINK_NOFOLLOW)) != 0) {
            return syscallError(errno, "chown '" + rel + "'");
        }
    }
    if (toSet & (kAttrAtime | kAttrMtime)) {
        timespec times[2];
        times[0] = (toSet & kAttrAtimeNow) ? timespec{0, UTIME_NOW}
                   : (toSet & kAttrAtime)  ? attr.st_atim
                                           : timespec{0, UTIME_OMIT};
        times[1] = (toSet & kAttrMtimeNow) ? timespec{0, UTIME_NOW}
                   : (toSet & kAttrMtime)  ? attr.st_mtim
                                           : timespec{0, UTIME_OMIT};
        if ((fd >= 0 ? ::futimens(fd, times) : ::utimensat(root, path, times, AT_SYMLINK_NOFOLLOW)) != 0) {
            return syscallError(errno, "set times of '" + rel + "'");
        }
    }
    return {};
}

}  // namespace

void Dispatcher::setattr(const RequestContext& ctx, uint64_t ino, const OpenFile* file, const struct stat& attr,
                         unsigned toSet, Completion<struct stat> done)
{
    if (inodes_.listedLocation(ino)) {
        return ensureOnDisk(ctx, ino, [this, ctx, ino, file, attr, toSet, done](Result<std::string> rel) {
            if (!rel) return done(rel.error());
            setattr(ctx, ino, file, attr, toSet, done);
        });
    }
    auto rel = pathOf(ino);
    auto inode = inodes_.get(ino);
    if (!rel) return done(setattrUnlinked(ino, file, attr, toSet, rel.error()));
    if (!inode) return done(makeError(kNoSuchItem, "inode " + std::to_string(ino) + " is not known"));
    int handleFd = file != nullptr ? file->fd() : -1;
    auto finish = [this, inode, rel = *rel, attr, toSet, handleFd, done]() {
        if (toSet & kAttrSize) {
            UniqueFd opened;
            int fd = handleFd;
            if (fd < 0) {
                auto reopened = instance_.store().openItem(rel, O_WRONLY | O_NOFOLLOW);
                if (!reopened) return done(reopened.error());
                opened = std::move(reopened).value();
                fd = opened.get();
            }
            if (::ftruncate(fd, attr.st_size) != 0) return done(syscallError(errno, "truncate '" + rel + "'"));
        }
        if (auto applied = applyMetadata(instance_.store().rootFd(), rel, -1, attr, toSet); !applied) {
            return done(applied.error());
        }
        if (toSet & (kAttrMode | kAttrUid | kAttrGid | kAttrAtime | kAttrMtime)) {
            (void)instance_.metadataChanged(inode.get(), rel);  // a placeholder becomes dirty
        }
        done(instance_.store().statItem(rel));
    };
    if (!(toSet & kAttrSize)) return finish();
    instance_.prepareForWrite(ctx, inode, *rel, attr.st_size == 0, [finish, done](HRESULT hr) {
        if (FAILED(hr)) return done(makeError(hr, "preparing the file for writing failed"));
        finish();
    });
}

// setattr of an item that has no name left but is still open (ftruncate, fchmod, fchown, futimens after
// unlink): applied through an open descriptor. Its content is on disk already (it was opened, so hydrated
// or full), and a file without a name has no ProjFS state left to change.
Result<struct stat> Dispatcher::setattrUnlinked(uint64_t ino, const OpenFile* file, const struct stat& attr,
                                                unsigned toSet, Error noName)
{
    UniqueFd duplicate;
    int fd = file != nullptr ? file->fd() : -1;
    if (fd < 0) {
        duplicate.reset(inodes_.duplicateOpenDescriptor(ino));
        fd = duplicate.get();
    }
    if (fd < 0) return noName;
    if ((toSet & kAttrSize) && ::ftruncate(fd, attr.st_size) != 0) return syscallError(errno, "truncate");
    if (auto applied = applyMetadata(-1, "", fd, attr, toSet); !applied) return applied.error();
    struct stat st {};
    if (::fstat(fd, &st) != 0) return syscallError(errno, "stat");
    return st;
}

Result<std::string> Dispatcher::readlink(uint64_t ino)
{
    auto rel = pathOf(ino);
    if (!rel) return rel.error();
    char buf[PATH_MAX + 1];
    ssize_t n = ::readlinkat(instance_.store().rootFd(), rel->c_str(), buf, PATH_MAX);
    if (n < 0) return syscallError(errno, "readlink '" + *rel + "'");
    return std::string(buf, static_cast<size_t>(n));
}

// A new item gets the owner and mode its creator asked for. The kernel applied the caller's umask to `mode`
// already, so the provider process's umask (applied again by mkdirat/openat/mknodat) is undone by setting
// the mode exactly. In a set-group-ID directory the item keeps the directory's group the backing file
// system gave it, and a new directory keeps S_ISGID, as the kernel's inode_init_owner() does; S_ISGID on a
// new file of another group is dropped for a caller without privilege (supplementary groups not consulted).
// The chown comes before the chmod because chown clears set-ID bits. Failures are ignored: a provider that
// runs unprivileged cannot give items away, and its items stay its own.
void Dispatcher::settleNewItem(const std::string& rel, Creator who, mode_t mode)
{
    const int root = instance_.store().rootFd();
    const std::string parentRel = splitRel(rel).first;
    struct stat dir {};
    const bool inheritGroup = ::fstatat(root, atPath(parentRel), &dir, 0) == 0 && (dir.st_mode & S_ISGID) != 0;
    const gid_t gid = inheritGroup ? dir.st_gid : who.gid;
    (void)::fchownat(root, rel.c_str(), who.uid, inheritGroup ? static_cast<gid_t>(-1) : who.gid, AT_SYMLINK_NOFOLLOW);
    if (S_ISLNK(mode)) return;
    mode_t perms = mode & 07777;
    if (S_ISDIR(mode) && inheritGroup) perms |= S_ISGID;
    if (!S_ISDIR(mode) && (perms & S_ISGID) && who.uid != 0 && gid != who.gid) perms &= ~S_ISGID;
    (void)::fchmodat(root, rel.c_str(), perms, 0);
}

// Shared by mknod, mkdir, symlink, link: a new, full item at (parent, name). `mode` (type and permissions)
// is what the creator asked for; 0 for a hard link, whose owner and mode are the existing item's.
// Sends NEW_FILE_CREATED (or HARDLINK_CREATED when `linkedFrom` is set) before the answer.
void Dispatcher::createItem(const RequestContext& ctx, Creator who, uint64_t parent, const std::string& name,
                            const std::function<int(int root, const char* rel)>& make, mode_t mode,
                            const std::string* linkedFrom, Completion<EntryAnswer> done)
{
    if (inodes_.listedLocation(parent)) {
        std::optional<std::string> from = linkedFrom ? std::optional(*linkedFrom) : std::nullopt;
        return ensureOnDisk(ctx, parent,
                            [this, ctx, who, parent, name, make, mode, from, done](Result<std::string> dir) {
                                if (!dir) return done(dir.error());
                                createItem(ctx, who, parent, name, make, mode, from ? &*from : nullptr, done);
                            });
    }
    const bool isDirectory = S_ISDIR(mode);
    auto parentRel = pathOf(parent);
    if (!parentRel) return done(parentRel.error());
    if (auto bad = nameError(name, E_INVALIDARG)) return done(*bad);
    std::string rel = joinRel(*parentRel, name);
    if (auto status = instance_.prepareNewItem(rel); !status) return done(status.error());
    if (auto created = instance_.store().createEntry(rel, make); !created) return done(created.error());
    if (mode != 0) settleNewItem(rel, who, mode);
    Notifications& notifications = instance_.notifications();
    auto answer = [this, parent, name, rel, done] { done(entryAt(parent, name, rel)); };
    if (!notifications.listening()) return answer();
    if (linkedFrom) return notifications.hardlinkCreated(ctx, *linkedFrom, rel, std::move(answer));
    notifications.itemCreated(ctx, rel, isDirectory, std::move(answer));
}

void Dispatcher::mknod(const RequestContext& ctx, Creator who, uint64_t parent, const std::string& name, mode_t mode,
                       dev_t rdev, Completion<EntryAnswer> done)
{
    createItem(
        ctx, who, parent, name, [mode, rdev](int root, const char* rel) { return ::mknodat(root, rel, mode, rdev); },
        (mode & S_IFMT) != 0 ? mode : (S_IFREG | mode), nullptr, std::move(done));
}

void Dispatcher::mkdir(const RequestContext& ctx, Creator who, uint64_t parent, const std::string& name, mode_t mode,
                       Completion<EntryAnswer> done)
{
    createItem(
        ctx, who, parent, name, [mode](int root, const char* rel) { return ::mkdirat(root, rel, mode); },
        S_IFDIR | (mode & 07777), nullptr, std::move(done));
}

void Dispatcher::symlink(const RequestContext& ctx, Creator who, const std::string& target, uint64_t parent,
                         const std::string& name, Completion<EntryAnswer> done)
{
    createItem(
        ctx, who, parent, name, [target](int root, const char* rel) { return ::symlinkat(target.c_str(), root, rel); },
        S_IFLNK | 0777, nullptr, std::move(done));
}

void Dispatcher::link(const RequestContext& ctx, Creator who, uint64_t ino, uint64_t newParent,
                      const std::string& newName, Completion<EntryAnswer> done)
{
    if (inodes_.listedLocation(ino)) {
        return ensureOnDisk(ctx, ino, [this, ctx, who, ino, newParent, newName, done](Result<std::string> rel) {
            if (!rel) return done(rel.error());
            link(ctx, who, ino, newParent, newName, done);
        });
    }
    auto rel = pathOf(ino);
    auto newParentRel = pathOf(newParent);
    if (!rel) return done(rel.error());
    if (!newParentRel) return done(newParentRel.error());
    // PRE_SET_HARDLINK may veto; HARDLINK_CREATED goes out from createItem.
    auto linkNow = [this, ctx, who, newParent, newName, from = *rel, done](HRESULT vetoed) {
        if (FAILED(vetoed)) return done(makeError(vetoed, "the provider refused the hard link"));
        createItem(
            ctx, who, newParent, newName,
            [from](int root, const char* target) { return ::linkat(root, from.c_str(), root, target, 0); },
            0 /* a new name of an existing item: its owner and mode stay */, &from, done);
    };
    instance_.notifications().preSetHardlink(ctx, *rel, joinRel(*newParentRel, newName), std::move(linkNow));
}

void Dispatcher::removeEntry(const RequestContext& ctx, uint64_t parent, const std::string& name, bool isDirectory,
                             Completion<void> done)
{
    // A listed item is written to disk first (as Windows opens it for the delete), so it leaves a tombstone.
    if (auto child = inodes_.child(parent, name); child && inodes_.listedLocation(*child)) {
        return ensureChildOnDisk(ctx, parent, name, [this, ctx, parent, name, isDirectory, done](Status written) {
            if (!written) return done(std::move(written));
            removeEntry(ctx, parent, name, isDirectory, done);
        });
    }
    auto parentRel = pathOf(parent);
    if (!parentRel) return done(parentRel.error());
    if (auto bad = nameError(name, kNoSuchItem)) return done(*bad);
    std::string actual = diskName(*parentRel, name);
    std::string rel = joinRel(*parentRel, actual);
    auto remove = [this, parent, actual, rel, isDirectory, done](bool providerHasIt) {
        Status status = instance_.removeItem(rel, isDirectory, providerHasIt);
        if (status) inodes_.removed(parent, actual);
        done(std::move(status));
    };
    // PRE_DELETE may veto (the caller gets EACCES); without a listener this runs at once.
    instance_.notifications().preDelete(
        ctx, rel, isDirectory, [this, ctx, parentRel = *parentRel, rel, remove, done](HRESULT vetoed) {
            if (FAILED(vetoed)) return done(makeError(vetoed, "the provider refused the delete"));
            auto unknown = stateCannotTell(ctx, parentRel, rel);
            if (!unknown) return remove(false);
            // Whether it leaves a tombstone depends on the provider having the name (QueryFileName).
            instance_.providerHasItem(ctx, rel, *unknown == Unknown::Link, [remove, done](Result<bool> has) {
                if (!has) return done(has.error());
                remove(*has);
            });
        });
}

// An item in a provider-backed directory whose on-disk state cannot say whether the provider has its
// name: a symbolic link (links carry no state) or a local item that never was projected (made over the
// provider's name after a delete, or never the provider's). nullopt: the state says enough.
std::optional<Dispatcher::Unknown> Dispatcher::stateCannotTell(const RequestContext& ctx, const std::string& parentRel,
                                                               const std::string& rel)
{
    if (instance_.isProviderRequest(ctx) || !instance_.isProviderBacked(ctx, parentRel)) return std::nullopt;
    auto st = instance_.store().statItem(rel);
    if (!st) return std::nullopt;
    if (S_ISLNK(st->st_mode)) return Unknown::Link;
    auto record = instance_.record(rel);
    if (!record || record->projected || record->state != ItemState::Full) return std::nullopt;
    return Unknown::LocalItem;
}

void Dispatcher::unlink(const RequestContext& ctx, uint64_t parent, const std::string& name, Completion<void> done)
{
    removeEntry(ctx, parent, name, false, std::move(done));
}

void Dispatcher::rmdir(const RequestContext& ctx, uint64_t parent, const std::string& name, Completion<void> done)
{
    removeEntry(ctx, parent, name, true, std::move(done));
}

void Dispatcher::rename(const RequestContext& ctx, uint64_t parent, const std::string& name, uint64_t newParent,
                        const std::string& newName, unsigned flags, Completion<void> done)
{
    if (auto child = inodes_.child(parent, name); child && inodes_.listedLocation(*child)) {
        return ensureChildOnDisk(ctx, parent, name,
                                 [this, ctx, parent, name, newParent, newName, flags, done](Status written) {
                                     if (!written) return done(std::move(written));
                                     rename(ctx, parent, name, newParent, newName, flags, done);
                                 });
    }
    auto fromDir = pathOf(parent);
    auto toDir = pathOf(newParent);
    if (!fromDir) return done(fromDir.error());
    if (!toDir) return done(toDir.error());
    if (auto bad = nameError(name, kNoSuchItem)) return done(*bad);
    if (auto bad = nameError(newName, E_INVALIDARG)) return done(*bad);
    std::string from = diskName(*fromDir, name);
    std::string fromRel = joinRel(*fromDir, from);
    std::string toRel = joinRel(*toDir, newName);
    bool isDirectory = false;
    Notifications& notifications = instance_.notifications();
    if (notifications.listening()) {
        auto st = instance_.store().statItem(fromRel);
        isDirectory = st.ok() && S_ISDIR(st->st_mode);
    }
    // PRE_RENAME may veto; a directory placeholder is then detached from the provider (its subtree's items
    // written to disk, SubtreeDetach); FILE_RENAMED goes out after the rename, before the answer.
    auto renameNow = [this, ctx, parent, from, newParent, newName, fromRel, toRel, flags, isDirectory,
                      done](Status prepared) {
        if (!prepared) return done(std::move(prepared));
        Status status = instance_.renameItem(fromRel, toRel, flags);
        if (!status) return done(std::move(status));
        if (flags & RENAME_EXCHANGE) {
            inodes_.exchanged(parent, from, newParent, newName);
        } else {
            inodes_.renamed(parent, from, newParent, newName);
        }
        instance_.notifications().renamed(ctx, fromRel, toRel, isDirectory, [done] { done(Status()); });
    };
    auto detachThenRename = [this, ctx, fromRel, toRel, flags, renameNow](HRESULT vetoed) {
        if (FAILED(vetoed)) return renameNow(makeError(vetoed, "the provider refused the rename"));
        // An exchange moves the target too.
        std::vector<std::string> moving{fromRel};
        if (flags & RENAME_EXCHANGE) moving.push_back(toRel);
        detachPlaceholderDirectories(ctx, std::move(moving), renameNow);
    };
    notifications.preRename(ctx, fromRel, toRel, isDirectory, std::move(detachThenRename));
}

void Dispatcher::detachPlaceholderDirectories(const RequestContext& ctx, std::vector<std::string> rels,
                                              Completion<void> done)
{
    while (!rels.empty()) {
        std::string rel = std::move(rels.back());
        rels.pop_back();
        auto record = instance_.record(rel);
        if (!record || !record->isDirectory || record->state != ItemState::Placeholder) continue;
        return SubtreeDetach::start(instance_, ctx, rel, [this, ctx, rels, done](Status detached) {
            if (!detached) return done(std::move(detached));
            detachPlaceholderDirectories(ctx, rels, done);
        });
    }
    done(Status());
}

void Dispatcher::openHydrated(const RequestContext& ctx, const std::shared_ptr<Inode>& inode, const std::string& rel,
                              int flags, Completion<std::unique_ptr<OpenFile>> done)
{
    auto fd = instance_.store().openItem(rel, (flags & ~(O_CREAT | O_EXCL | O_NOCTTY)) | O_NOFOLLOW);
    if (!fd) return done(fd.error());
    auto file =
        std::make_shared<std::unique_ptr<OpenFile>>(std::make_unique<OpenFile>(inodes_, inode, std::move(fd).value()));
    auto answer = [file, done] { done(std::move(*file)); };
    Notifications& notifications = instance_.notifications();
    if (!notifications.listening()) return answer();
    // FILE_OPENED / FILE_OVERWRITTEN before the answer: the mask the provider returns rules this handle.
    auto type = (flags & O_TRUNC) ? PRJ_NOTIFICATION_FILE_OVERWRITTEN : PRJ_NOTIFICATION_FILE_OPENED;
    bool writable = (flags & O_ACCMODE) != O_RDONLY;
    OpenFile& opened = **file;
    notifications.handleOpened(ctx, rel, inode, opened.fd(), writable, type, opened.notify, std::move(answer));
}

void Dispatcher::open(const RequestContext& ctx, uint64_t ino, int flags, Completion<std::unique_ptr<OpenFile>> done)
{
    if (inodes_.listedLocation(ino)) {
        return ensureOnDisk(ctx, ino, [this, ctx, ino, flags, done](Result<std::string> rel) {
            if (!rel) return done(rel.error());
            open(ctx, ino, flags, done);
        });
    }
    auto rel = pathOf(ino);
    auto inode = inodes_.get(ino);
    if (!rel) return done(rel.error());
    if (!inode) return done(makeError(kNoSuchItem, "inode " + std::to_string(ino) + " is not known"));
    // Hydrate at open: an open is a synchronous, interruptible request (a page-cache read is not).
    auto then = [this, ctx, inode, rel = *rel, flags, done](HRESULT hr) {
        if (FAILED(hr)) return done(makeError(hr, "'" + rel + "' could not be made ready: " + hresultName(hr)));
        openHydrated(ctx, inode, rel, flags, done);
    };
    bool writing = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    if (writing) return instance_.prepareForWrite(ctx, inode, *rel, (flags & O_TRUNC) != 0, std::move(then));
    instance_.ensureHydrated(ctx, inode, *rel, std::move(then));
}

void Dispatcher::create(const RequestContext& ctx, Creator who, uint64_t parent, const std::string& name, mode_t mode,
                        int flags, Completion<CreatedFile> done)
{
    if (inodes_.listedLocation(parent)) {
        return ensureOnDisk(ctx, parent, [this, ctx, who, parent, name, mode, flags, done](Result<std::string> dir) {
            if (!dir) return done(dir.error());
            create(ctx, who, parent, name, mode, flags, done);
        });
    }
    auto parentRel = pathOf(parent);
    if (!parentRel) return done(parentRel.error());
    if (auto bad = nameError(name, E_INVALIDARG)) return done(*bad);
    std::string rel = joinRel(*parentRel, name);
    if (auto status = instance_.prepareNewItem(rel); !status) return done(status.error());
    // Exclusive first, so the owner and mode are set only on a file this call made (the kernel asks to
    // create only names it found missing, but the disk may have changed since).
    const int openFlags = (flags & ~(O_NOCTTY | O_EXCL)) | O_NOFOLLOW;
    auto fd = instance_.store().openItem(rel, openFlags | O_CREAT | O_EXCL, mode);
    if (fd) {
        settleNewItem(rel, who, S_IFREG | (mode & 07777));
    } else if (!(flags & O_EXCL) && errnoForCaller(fd.hr()) == EEXIST) {
        fd = instance_.store().openItem(rel, openFlags, mode);
    }
    if (!fd) return done(fd.error());
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return done(syscallError(errno, "stat the new '" + rel + "'"));
    auto created = std::make_shared<CreatedFile>();
    created->entry.ino = inodes_.remember(parent, name, st.st_ino, isHardLinked(st));
    created->entry.attr = st;
    auto inode = inodes_.get(created->entry.ino);
    created->file = std::make_unique<OpenFile>(inodes_, inode, std::move(fd).value());
    auto answer = [created, done] { done(std::move(*created)); };
    Notifications& notifications = instance_.notifications();
    if (!notifications.listening()) return answer();
    bool writable = (flags & O_ACCMODE) != O_RDONLY;
    OpenFile& opened = *created->file;
    notifications.handleOpened(ctx, rel, inode, opened.fd(), writable, PRJ_NOTIFICATION_NEW_FILE_CREATED, opened.notify,
                               std::move(answer));
}

void Dispatcher::release(const RequestContext& ctx, uint64_t ino, std::unique_ptr<OpenFile> file, Completion<void> done)
{
    Notifications& notifications = instance_.notifications();
    // FILE_HANDLE_CLOSED_*: decided while the descriptor is open (fstat), sent after it is closed.
    std::optional<Notifications::ClosedHandle> closed;
    if (notifications.listening()) {
        closed = notifications.takeHandle(file->inode(), file->notify, file->fd(), inodes_.path(ino));
    }
    file.reset();
    if (!closed) return done(Status());
    notifications.sendHandleClosed(ctx, *closed, [done] { done(Status()); });
}

void Dispatcher::opendir(const RequestContext& ctx, uint64_t ino, Completion<std::shared_ptr<EnumerationSession>> done)
{
    ensureOnDisk(ctx, ino, [this, ctx, done](Result<std::string> rel) {
        if (!rel) return done(rel.error());
        done(instance_.openEnumeration(ctx, *rel));
    });
}

void Dispatcher::readdir(const RequestContext& ctx, EnumerationSession& session, size_t offset, size_t budgetBytes,
                         Completion<void> done)
{
    session.fetch(ctx, offset, budgetBytes, [done](HRESULT hr) {
        if (SUCCEEDED(hr)) return done(Status());
        // Whatever the provider said, a listing that failed is EIO (an interrupted one stays what it is):
        // ENOENT, the usual "not found", is taken by glibc's readdir for the end of the directory, so the
        // program would see a short or empty directory and no error.
        HRESULT reported = hr == HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED) ? hr : errnoHresult(EIO);
        done(makeError(reported, "listing the directory failed: " + hresultName(hr)));
    });
}

DirEntryAnswer Dispatcher::directoryEntry(uint64_t dirIno, const EnumerationSession& session, size_t index, bool plus)
{
    const MergedEntry& entry = session.entries().at(index);
    DirEntryAnswer out;
    out.name = entry.name;
    out.attr.st_mode = entry.isDirectory ? S_IFDIR : entry.symlink ? S_IFLNK : S_IFREG;
    // Virtual entries have no inode yet; any non-zero number keeps readdir() from skipping them.
    out.attr.st_ino = entry.onDisk ? entry.inode : listedNumber(joinRel(session.directory(), entry.name));
    out.attr.st_size = entry.info.FileSize;
    if (!plus) return out;
    if (entry.onDisk) {
        std::string rel = joinRel(session.directory(), entry.name);
        auto child = instance_.store().statItem(rel);
        if (child.ok()) {
            out.ino = inodes_.remember(dirIno, entry.name, child->st_ino, isHardLinked(*child));
            out.attr = *child;
            stabilize(inodes_.get(out.ino).get(), rel, out.attr);
        }
    } else if (!entry.symlink && session.providerBacked()) {
        // A listed item: the kernel may cache it with the listing's attributes; nothing is written to disk
        // until a program opens or changes it.
        struct stat attr = listedAttributes(session.directory(), entry.name, entry.info, entry.extras);
        if (auto ino = inodes_.rememberListed(dirIno, entry.name, attr)) {
            out.ino = *ino;
            out.attr = attr;
        }
    }
    return out;
}

Result<struct statvfs> Dispatcher::statfs()
{
    struct statvfs st {};
    if (::fstatvfs(instance_.store().rootFd(), &st) != 0) return syscallError(errno, "statfs of the root");
    return st;
}

// Extended attributes: read through to the backing item; ProjFS's own (user.projfs.*) are read-only.
Result<UniqueFd> Dispatcher::openForXattr(uint64_t ino)
{
    auto rel = pathOf(ino);
    if (!rel) return rel.error();
    auto st = instance_.store().statItem(*rel);
    if (!st) return st.error();
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
        return makeError(errnoHresult(ENOTSUP), "'" + *rel + "' cannot have extended attributes here");
    }
    return instance_.store().openItem(*rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
}

namespace {

// `err` is errno of the call that returned `n` (read at once: nothing may run in between).
Result<XattrAnswer> sizedAnswer(ssize_t n, int err, size_t size, std::vector<char> buf, const char* what)
{
    if (n < 0) return syscallError(err, what);
    XattrAnswer answer;
    answer.length = static_cast<size_t>(n);
    if (size != 0) {
        buf.resize(answer.length);
        answer.data = std::move(buf);
    }
    return answer;
}

bool isRuntimeAttribute(const std::string& name)
{
    return name.compare(0, std::strlen(kXattrPrefix), kXattrPrefix) == 0;
}

}  // namespace

void Dispatcher::getxattr(const RequestContext& ctx, uint64_t ino, const std::string& name, size_t size,
                          Completion<XattrAnswer> done)
{
    if (name.starts_with(kXattrTombstoneQuery))
        return done(tombstoneQuery(ino, name.substr(std::strlen(kXattrTombstoneQuery)), size));
    if (inodes_.listedLocation(ino)) {
        if (!isRuntimeAttribute(name)) return done(makeError(errnoHresult(ENODATA), "'" + name + "' is not set"));
        return ensureOnDisk(ctx, ino, [this, ctx, ino, name, size, done](Result<std::string> rel) {
            if (!rel) return done(rel.error());
            getxattr(ctx, ino, name, size, done);
        });
    }
    auto fd = openForXattr(ino);
    if (!fd) return done(fd.error());
    std::vector<char> buf(size);
    ssize_t n = ::fgetxattr(fd->get(), name.c_str(), size ? buf.data() : nullptr, size);
    done(sizedAnswer(n, errno, size, std::move(buf), "getxattr"));
}

// "Is NAME a tombstone in this directory?" (kXattrTombstoneQuery): the answer only the runtime can give while
// the mount hides tombstones.
Result<XattrAnswer> Dispatcher::tombstoneQuery(uint64_t dirIno, const std::string& child, size_t size)
{
    auto dirRel = pathOf(dirIno);
    if (!dirRel) return dirRel.error();
    const Error noAnswer = makeError(errnoHresult(ENODATA), "'" + child + "' is not a tombstone here");
    if (!isValidComponent(child)) return noAnswer;
    auto found = instance_.store().findChild(*dirRel, child);
    if (!found || !found->has_value()) return noAnswer;
    auto record = instance_.record(joinRel(*dirRel, **found));
    if (!record || record->state != ItemState::Tombstone) return noAnswer;
    XattrAnswer answer;
    answer.length = 1;
    if (size != 0) answer.data = {'1'};
    return answer;
}

Result<XattrAnswer> Dispatcher::listxattr(uint64_t ino, size_t size)
{
    if (inodes_.listedLocation(ino)) return XattrAnswer{};
    auto fd = openForXattr(ino);
    if (!fd) return fd.error();
    std::vector<char> buf(size);
    ssize_t n = ::flistxattr(fd->get(), size ? buf.data() : nullptr, size);
    return sizedAnswer(n, errno, size, std::move(buf), "listxattr");
}

void Dispatcher::setxattr(const RequestContext& ctx, uint64_t ino, const std::string& name, std::string value,
                          int flags, Completion<void> done)
{
    if (isRuntimeAttribute(name)) return done(makeError(errnoHresult(EPERM), "'" + name + "' belongs to the runtime"));
    ensureOnDisk(ctx, ino, [this, ino, name, value = std::move(value), flags, done](Result<std::string> rel) {
        if (!rel) return done(rel.error());
        auto fd = openForXattr(ino);
        if (!fd) return done(fd.error());
        if (::fsetxattr(fd->get(), name.c_str(), value.data(), value.size(), flags) != 0) {
            return done(syscallError(errno, "setxattr"));
        }
        done(Status());
    });
}

void Dispatcher::removexattr(const RequestContext& ctx, uint64_t ino, const std::string& name, Completion<void> done)
{
    if (isRuntimeAttribute(name)) return done(makeError(errnoHresult(EPERM), "'" + name + "' belongs to the runtime"));
    ensureOnDisk(ctx, ino, [this, ino, name, done](Result<std::string> rel) {
        if (!rel) return done(rel.error());
        auto fd = openForXattr(ino);
        if (!fd) return done(fd.error());
        if (::fremovexattr(fd->get(), name.c_str()) != 0) return done(syscallError(errno, "removexattr"));
        done(Status());
    });
}

}  // namespace hc::projfs
