// The FUSE operations, in protocol order, each a short translation: resolve the inode to a
// root-relative path, do one backing-store call or ask the instance, reply.
#include "projfs/fuse/fuse_state.h"

#include "projfs/fuse/file_handle.h"

#include "base/hresult.h"
#include "base/log.h"
#include "projfs/core/enumeration_session.h"
#include "projfs/store/rel_path.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace hc::projfs {
namespace {

using State = ProjectedFuse::State;

State& stateOf(fuse_req_t req)
{
    return *static_cast<State*>(fuse_req_userdata(req));
}

int errnoOf(HRESULT hr)
{
    int err = errnoFromHresult(hr);
    return err == 0 ? EIO : err;
}

// ---- requests that may wait for the provider ----

void onInterrupt(fuse_req_t req, void* data)
{
    State& s = stateOf(req);
    std::shared_ptr<Interruption> interruption;
    {
        std::lock_guard lock(s.interruptsMutex);
        auto it = s.interrupts.find(reinterpret_cast<uintptr_t>(data));
        if (it != s.interrupts.end()) interruption = it->second;
    }
    if (interruption) interruption->fire();
}

// A request that may be answered later. finish() must be called once, right after the reply.
struct AsyncRequest {
    fuse_req_t req;
    uint64_t serial;
    RequestContext ctx;
};

AsyncRequest beginAsync(fuse_req_t req)
{
    State& s = stateOf(req);
    AsyncRequest r{req, 0, RequestContext{}};
    r.ctx.tid = static_cast<pid_t>(fuse_req_ctx(req)->pid);
    {
        std::lock_guard lock(s.interruptsMutex);
        r.serial = s.nextSerial++;
        s.interrupts.emplace(r.serial, r.ctx.interruption);
    }
    fuse_req_interrupt_func(req, onInterrupt, reinterpret_cast<void*>(static_cast<uintptr_t>(r.serial)));
    return r;
}

void finishAsync(State& s, const AsyncRequest& r)
{
    std::lock_guard lock(s.interruptsMutex);
    s.interrupts.erase(r.serial);
}

// ---- helpers ----

std::optional<std::string> pathOf(State& s, fuse_ino_t ino)
{
    return s.inodes.path(ino);
}

// Who asked, for notifications (no interrupt hook: notifications are not cancellable).
RequestContext contextOf(fuse_req_t req)
{
    RequestContext ctx;
    ctx.tid = static_cast<pid_t>(fuse_req_ctx(req)->pid);
    return ctx;
}

struct stat withFuseInode(State& s, struct stat st)
{
    st.st_ino = s.inodes.fuseInode(st.st_ino);
    return st;
}

// Replies with the entry for (parent, name), which exists on disk at `rel`.
void replyEntry(fuse_req_t req, fuse_ino_t parent, const std::string& name, const std::string& rel)
{
    State& s = stateOf(req);
    auto st = s.store.statItem(rel);
    if (!st) return (void)fuse_reply_err(req, errnoOf(st.hr()));
    fuse_entry_param e{};
    e.ino = s.inodes.remember(parent, name, st->st_ino);
    e.attr = withFuseInode(s, *st);
    e.attr_timeout = kCacheTimeoutSeconds;
    e.entry_timeout = kCacheTimeoutSeconds;
    if (fuse_reply_entry(req, &e) != 0) s.inodes.forget(e.ino, 1);
}

// The on-disk spelling of a name the kernel gives (it may be a case variant in projected directories).
std::string diskName(State& s, const std::string& parentRel, const char* name)
{
    auto found = s.store.findChild(parentRel, name);
    return found.ok() && found->has_value() ? **found : std::string(name);
}

void replyStatus(fuse_req_t req, const Status& status)
{
    fuse_reply_err(req, status ? 0 : errnoOf(status.hr()));
}

// ---- operations ----

void opInit(void* userdata, fuse_conn_info* conn)
{
    (void)userdata;
    if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
    if (conn->capable & FUSE_CAP_SPLICE_MOVE) conn->want |= FUSE_CAP_SPLICE_MOVE;
    // Lookups and readdirs in one directory run in parallel: a provider callback may itself look up a
    // sibling (its own I/O), and slow callbacks must not serialize a whole directory.
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;  // every write must reach the store (state changes)
    conn->max_background = 64;
    HC_LOG(Debug, "projfs",
           "FUSE init: capable " + std::to_string(conn->capable) + " want " + std::to_string(conn->want));
}

void opLookup(fuse_req_t req, fuse_ino_t parent, const char* name)
{
    State& s = stateOf(req);
    auto parentRel = pathOf(s, parent);
    if (!parentRel) return (void)fuse_reply_err(req, ENOENT);
    if (!isValidComponent(name)) return (void)fuse_reply_err(req, ENOENT);
    auto r = beginAsync(req);
    s.instance.resolveChild(r.ctx, *parentRel, name,
                            [&s, r, parent, parentRel](Result<std::optional<std::string>> found) {
                                if (!found) {
                                    fuse_reply_err(r.req, errnoOf(found.hr()));
                                } else if (!found->has_value()) {
                                    fuse_reply_err(r.req, ENOENT);
                                } else {
                                    replyEntry(r.req, parent, **found, joinRel(*parentRel, **found));
                                }
                                finishAsync(s, r);
                            });
}

void opForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    stateOf(req).inodes.forget(ino, nlookup);
    fuse_reply_none(req);
}

void opForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets)
{
    for (size_t i = 0; i < count; ++i)
        stateOf(req).inodes.forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

// The kernel still has an entry for an item that is gone from disk (a lookup answered just before the
// provider deleted it can land after the deletion's invalidation): forget the name and drop the kernel's
// entry, so the next access looks it up again instead of failing until the entry expires.
void forgetStaleEntry(State& s, fuse_ino_t ino)
{
    auto location = s.inodes.detach(ino);
    if (!location) return;
    s.instance.executor().post([&s, parent = location->first, name = location->second] {
        if (s.session) fuse_lowlevel_notify_inval_entry(s.session, parent, name.c_str(), name.size());
    });
}

void opGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi)
{
    State& s = stateOf(req);
    struct stat st {};
    if (fi != nullptr && fi->fh != 0 && ::fstat(FileHandle::of(fi)->fd(), &st) == 0) {
        st = withFuseInode(s, st);
        return (void)fuse_reply_attr(req, &st, kCacheTimeoutSeconds);
    }
    auto rel = pathOf(s, ino);
    if (!rel) {
        forgetStaleEntry(s, ino);
        return (void)fuse_reply_err(req, ENOENT);
    }
    auto result = s.store.statItem(*rel);
    if (!result) {
        if (result.hr() == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)) forgetStaleEntry(s, ino);
        return (void)fuse_reply_err(req, errnoOf(result.hr()));
    }
    st = withFuseInode(s, *result);
    fuse_reply_attr(req, &st, kCacheTimeoutSeconds);
}

int applyMetadata(State& s, Inode* inode, const std::string& rel, const struct stat* attr, int toSet)
{
    int root = s.store.rootFd();
    const char* path = atPath(rel);
    if ((toSet & FUSE_SET_ATTR_MODE) && ::fchmodat(root, path, attr->st_mode & 07777, 0) != 0) return errno;
    if (toSet & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
        uid_t uid = (toSet & FUSE_SET_ATTR_UID) ? attr->st_uid : static_cast<uid_t>(-1);
        gid_t gid = (toSet & FUSE_SET_ATTR_GID) ? attr->st_gid : static_cast<gid_t>(-1);
        if (::fchownat(root, path, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) return errno;
    }
    if (toSet & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
        timespec times[2];
        times[0] = (toSet & FUSE_SET_ATTR_ATIME_NOW) ? timespec{0, UTIME_NOW}
                   : (toSet & FUSE_SET_ATTR_ATIME)   ? attr->st_atim
                                                     : timespec{0, UTIME_OMIT};
        times[1] = (toSet & FUSE_SET_ATTR_MTIME_NOW) ? timespec{0, UTIME_NOW}
                   : (toSet & FUSE_SET_ATTR_MTIME)   ? attr->st_mtim
                                                     : timespec{0, UTIME_OMIT};
        if (::utimensat(root, path, times, AT_SYMLINK_NOFOLLOW) != 0) return errno;
    }
    if (toSet &
        (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
        (void)s.instance.metadataChanged(inode, rel);
    }
    return 0;
}

void opSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int toSet, fuse_file_info* fi)
{
    State& s = stateOf(req);
    auto rel = pathOf(s, ino);
    auto inode = s.inodes.get(ino);
    if (!rel || !inode) return (void)fuse_reply_err(req, ENOENT);
    int handleFd = fi != nullptr && fi->fh != 0 ? FileHandle::of(fi)->fd() : -1;
    auto finish = [&s, inode, rel = *rel, attr = *attr, toSet, handleFd](fuse_req_t r) {
        if (toSet & FUSE_SET_ATTR_SIZE) {
            int rc = handleFd >= 0 ? ::ftruncate(handleFd, attr.st_size) : -1;
            if (handleFd < 0) {
                auto fd = s.store.openItem(rel, O_WRONLY | O_NOFOLLOW);
                rc = fd ? ::ftruncate(fd->get(), attr.st_size) : (errno = errnoOf(fd.hr()), -1);
            }
            if (rc != 0) return (void)fuse_reply_err(r, errno);
        }
        if (int err = applyMetadata(s, inode.get(), rel, &attr, toSet); err != 0) return (void)fuse_reply_err(r, err);
        auto st = s.store.statItem(rel);
        if (!st) return (void)fuse_reply_err(r, errnoOf(st.hr()));
        struct stat out = withFuseInode(s, *st);
        fuse_reply_attr(r, &out, kCacheTimeoutSeconds);
    };
    if (!(toSet & FUSE_SET_ATTR_SIZE)) return finish(req);
    auto r = beginAsync(req);
    s.instance.prepareForWrite(r.ctx, inode, *rel, attr->st_size == 0, [&s, r, finish](HRESULT hr) {
        if (FAILED(hr)) {
            fuse_reply_err(r.req, errnoOf(hr));
        } else {
            finish(r.req);
        }
        finishAsync(s, r);
    });
}

void opReadlink(fuse_req_t req, fuse_ino_t ino)
{
    State& s = stateOf(req);
    auto rel = pathOf(s, ino);
    if (!rel) return (void)fuse_reply_err(req, ENOENT);
    char buf[PATH_MAX + 1];
    ssize_t n = ::readlinkat(s.store.rootFd(), rel->c_str(), buf, PATH_MAX);
    if (n < 0) return (void)fuse_reply_err(req, errno);
    buf[n] = '\0';
    fuse_reply_readlink(req, buf);
}

// Shared by mknod, mkdir, symlink, link: a new, full item at (parent, name).
// Sends NEW_FILE_CREATED (or HARDLINK_CREATED when `linkedFrom` is set) before the reply.
template <typename Create>
void createItem(fuse_req_t req, fuse_ino_t parent, const char* name, Create&& create, bool isDirectory = false,
                const std::string* linkedFrom = nullptr)
{
    State& s = stateOf(req);
    auto parentRel = pathOf(s, parent);
    if (!parentRel) return (void)fuse_reply_err(req, ENOENT);
    if (!isValidComponent(name)) return (void)fuse_reply_err(req, EINVAL);
    std::string rel = joinRel(*parentRel, name);
    if (auto status = s.instance.prepareNewItem(rel); !status) return (void)fuse_reply_err(req, errnoOf(status.hr()));
    if (auto created = s.store.createEntry(rel, create); !created) return replyStatus(req, created);
    const fuse_ctx* ctx = fuse_req_ctx(req);
    ::fchownat(s.store.rootFd(), rel.c_str(), ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW);
    Notifications& notifications = s.instance.notifications();
    if (!notifications.listening()) return replyEntry(req, parent, name, rel);
    auto reply = [req, parent, n = std::string(name), rel] { replyEntry(req, parent, n, rel); };
    if (linkedFrom) return notifications.hardlinkCreated(contextOf(req), *linkedFrom, rel, std::move(reply));
    notifications.itemCreated(contextOf(req), rel, isDirectory, std::move(reply));
}

void opMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev)
{
    createItem(req, parent, name, [&](int root, const char* rel) { return ::mknodat(root, rel, mode, rdev); });
}

void opMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode)
{
    createItem(
        req, parent, name, [&](int root, const char* rel) { return ::mkdirat(root, rel, mode); }, true);
}

void opSymlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name)
{
    createItem(req, parent, name, [&](int root, const char* rel) { return ::symlinkat(target, root, rel); });
}

void removeEntry(fuse_req_t req, fuse_ino_t parent, const char* name, bool isDirectory)
{
    State& s = stateOf(req);
    auto parentRel = pathOf(s, parent);
    if (!parentRel) return (void)fuse_reply_err(req, ENOENT);
    std::string actual = diskName(s, *parentRel, name);
    std::string rel = joinRel(*parentRel, actual);
    // PRE_DELETE may veto (the caller gets EACCES); without a listener this runs at once.
    s.instance.notifications().preDelete(contextOf(req), rel, isDirectory,
                                         [&s, req, parent, actual, rel, isDirectory](HRESULT vetoed) {
                                             if (FAILED(vetoed)) return (void)fuse_reply_err(req, errnoOf(vetoed));
                                             Status status = s.instance.removeItem(rel, isDirectory);
                                             if (status) s.inodes.removed(parent, actual);
                                             replyStatus(req, status);
                                         });
}

void opUnlink(fuse_req_t req, fuse_ino_t parent, const char* name)
{
    removeEntry(req, parent, name, false);
}

void opRmdir(fuse_req_t req, fuse_ino_t parent, const char* name)
{
    removeEntry(req, parent, name, true);
}

void opRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newParent, const char* newName,
              unsigned flags)
{
    State& s = stateOf(req);
    auto fromDir = pathOf(s, parent);
    auto toDir = pathOf(s, newParent);
    if (!fromDir || !toDir) return (void)fuse_reply_err(req, ENOENT);
    if (!isValidComponent(newName)) return (void)fuse_reply_err(req, EINVAL);
    std::string from = diskName(s, *fromDir, name);
    std::string fromRel = joinRel(*fromDir, from);
    std::string toRel = joinRel(*toDir, newName);
    bool isDirectory = false;
    if (s.instance.notifications().listening()) {
        auto st = s.store.statItem(fromRel);
        isDirectory = st.ok() && S_ISDIR(st->st_mode);
    }
    // PRE_RENAME may veto; FILE_RENAMED goes out after the rename, before the reply.
    auto rename = [&s, req, parent, from, newParent, to = std::string(newName), fromRel, toRel, flags,
                   isDirectory](HRESULT vetoed) {
        if (FAILED(vetoed)) return (void)fuse_reply_err(req, errnoOf(vetoed));
        Status status = s.instance.renameItem(fromRel, toRel, flags);
        if (!status) return replyStatus(req, status);
        s.inodes.renamed(parent, from, newParent, to);
        s.instance.notifications().renamed(contextOf(req), fromRel, toRel, isDirectory,
                                           [req] { fuse_reply_err(req, 0); });
    };
    s.instance.notifications().preRename(contextOf(req), fromRel, toRel, isDirectory, std::move(rename));
}

void opLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newParent, const char* newName)
{
    State& s = stateOf(req);
    auto rel = pathOf(s, ino);
    auto newParentRel = pathOf(s, newParent);
    if (!rel || !newParentRel) return (void)fuse_reply_err(req, ENOENT);
    // PRE_SET_HARDLINK may veto; HARDLINK_CREATED goes out from createItem.
    auto link = [req, newParent, n = std::string(newName), from = *rel](HRESULT vetoed) {
        if (FAILED(vetoed)) return (void)fuse_reply_err(req, errnoOf(vetoed));
        createItem(
            req, newParent, n.c_str(),
            [&](int root, const char* target) { return ::linkat(root, from.c_str(), root, target, 0); }, false, &from);
    };
    s.instance.notifications().preSetHardlink(contextOf(req), *rel, joinRel(*newParentRel, newName), std::move(link));
}

void replyOpen(fuse_req_t req, const std::shared_ptr<Inode>& inode, const std::string& rel, fuse_file_info* fi)
{
    State& s = stateOf(req);
    int flags = (fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY)) | O_NOFOLLOW;
    auto fd = s.store.openItem(rel, flags);
    if (!fd) return (void)fuse_reply_err(req, errnoOf(fd.hr()));
    auto* handle = new FileHandle(s, inode, std::move(fd).value());
    fi->fh = handle->token();
    fi->keep_cache = 1;  // content on disk is final: placeholders were hydrated before this open
    auto reply = [req, handle, info = *fi]() mutable {
        int replied;
        if (auto backingId = handle->registerPassthrough()) {
            replied = Passthrough::replyOpen(req, info, *backingId);
        } else {
            replied = fuse_reply_open(req, &info);
        }
        if (replied != 0) delete handle;
    };
    Notifications& notifications = s.instance.notifications();
    if (!notifications.listening()) return reply();
    // FILE_OPENED / FILE_OVERWRITTEN before the reply: the mask the provider returns rules this handle.
    auto type = (fi->flags & O_TRUNC) ? PRJ_NOTIFICATION_FILE_OVERWRITTEN : PRJ_NOTIFICATION_FILE_OPENED;
    bool writable = (fi->flags & O_ACCMODE) != O_RDONLY;
    notifications.handleOpened(contextOf(req), rel, inode, handle->fd(), writable, type, handle->notify,
                               std::move(reply));
}

void opOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi)
{
    State& s = stateOf(req);
    auto rel = pathOf(s, ino);
    auto inode = s.inodes.get(ino);
    if (!rel || !inode) {
        forgetStaleEntry(s, ino);
        return (void)fuse_reply_err(req, ENOENT);
    }
    // Hydrate at open: an open is a synchronous, interruptible request (a page-cache read is not).
    auto r = beginAsync(req);
    fuse_file_info info = *fi;
    auto then = [&s, r, ino, inode, rel = *rel, info](HRESULT hr) mutable {
        if (FAILED(hr)) {
            if (hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)) forgetStaleEntry(s, ino);
            fuse_reply_err(r.req, errnoOf(hr));
        } else {
            replyOpen(r.req, inode, rel, &info);
        }
        finishAsync(s, r);
    };
    bool writing = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
    if (writing) return s.instance.prepareForWrite(r.ctx, inode, *rel, (fi->flags & O_TRUNC) != 0, std::move(then));
    s.instance.ensureHydrated(r.ctx, inode, *rel, std::move(then));
}

void opRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi)
{
    fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
    buf.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    buf.buf[0].fd = FileHandle::of(fi)->fd();
    buf.buf[0].pos = off;
    fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

void opWriteBuf(fuse_req_t req, fuse_ino_t, fuse_bufvec* in, off_t off, fuse_file_info* fi)
{
    fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
    out.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    out.buf[0].fd = FileHandle::of(fi)->fd();
    out.buf[0].pos = off;
    ssize_t n = fuse_buf_copy(&out, in, static_cast<fuse_buf_copy_flags>(0));
    if (n < 0) return (void)fuse_reply_err(req, static_cast<int>(-n));
    fuse_reply_write(req, static_cast<size_t>(n));
}

void opFlush(fuse_req_t req, fuse_ino_t, fuse_file_info*)
{
    fuse_reply_err(req, 0);
}

void opRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi)
{
    State& s = stateOf(req);
    Notifications& notifications = s.instance.notifications();
    FileHandle* handle = FileHandle::of(fi);
    // FILE_HANDLE_CLOSED_*: decided while the descriptor is open (fstat), sent after it is closed.
    std::optional<Notifications::ClosedHandle> closed;
    if (notifications.listening()) {
        closed = notifications.takeHandle(handle->inode(), handle->notify, handle->fd(), pathOf(s, ino));
    }
    delete handle;
    if (!closed) return (void)fuse_reply_err(req, 0);
    notifications.sendHandleClosed(contextOf(req), *closed, [req] { fuse_reply_err(req, 0); });
}

void opFsync(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi)
{
    int fd = FileHandle::of(fi)->fd();
    int rc = datasync ? ::fdatasync(fd) : ::fsync(fd);
    fuse_reply_err(req, rc == 0 ? 0 : errno);
}

void opOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi)
{
    State& s = stateOf(req);
    auto rel = pathOf(s, ino);
    if (!rel) return (void)fuse_reply_err(req, ENOENT);
    RequestContext ctx;
    ctx.tid = static_cast<pid_t>(fuse_req_ctx(req)->pid);
    auto* dir = new OpenDirectory{s.instance.openEnumeration(ctx, *rel)};
    fi->fh = reinterpret_cast<uint64_t>(dir);
    {
        std::lock_guard lock(s.openDirectoriesMutex);
        s.openDirectories.insert(dir);
    }
    if (fuse_reply_open(req, fi) != 0) s.forgetDirectory(dir);
}

// Directory offsets as the kernel sees them: "." is at 0 (next 1), ".." at 1 (next 2), and the
// session's entry i (offset i + 1 in EnumerationSession) at kDotEntries + i (next kDotEntries + i + 1).
// The dots are not provider entries and never reach the provider or the merge.
constexpr size_t kDotEntries = 2;

// Encodes entries from the kernel offset `offset` into a reply of at most `size` bytes.
void replyDirectory(fuse_req_t req, EnumerationSession& session, size_t size, size_t offset, bool plus,
                    fuse_ino_t dirIno)
{
    State& s = stateOf(req);
    std::vector<char> buf(size);
    size_t used = 0;
    // Adds one entry; false when the reply is full.
    auto add = [&](const char* name, const fuse_entry_param& e, off_t next) {
        size_t need = plus ? fuse_add_direntry_plus(req, nullptr, 0, name, nullptr, 0)
                           : fuse_add_direntry(req, nullptr, 0, name, nullptr, 0);
        if (used + need > size) return false;
        used += plus ? fuse_add_direntry_plus(req, buf.data() + used, size - used, name, &e, next)
                     : fuse_add_direntry(req, buf.data() + used, size - used, name, &e.attr, next);
        return true;
    };
    for (size_t i = offset; i < kDotEntries; ++i) {
        fuse_entry_param e{};  // the kernel links no dentry for the dots (e.ino 0 in readdirplus)
        e.attr.st_mode = S_IFDIR;
        e.attr.st_ino = i == 0 || dirIno == FUSE_ROOT_ID ? dirIno : FUSE_ROOT_ID;  // ".." : any non-zero number
        if (!add(i == 0 ? "." : "..", e, static_cast<off_t>(i + 1))) return (void)fuse_reply_buf(req, buf.data(), used);
    }
    const auto& entries = session.entries();
    for (size_t i = offset > kDotEntries ? offset - kDotEntries : 0; i < entries.size(); ++i) {
        const MergedEntry& entry = entries[i];
        fuse_entry_param e{};  // e.ino 0: the kernel caches nothing and looks the name up when used
        e.attr.st_mode = entry.isDirectory ? S_IFDIR : S_IFREG;
        // Virtual entries have no inode yet; any non-zero number keeps readdir() from skipping them.
        e.attr.st_ino =
            entry.onDisk ? s.inodes.fuseInode(entry.inode) : (std::hash<std::string>{}(entry.name) | (1ull << 63));
        e.attr.st_size = entry.info.FileSize;
        if (plus && entry.onDisk) {
            auto child = s.store.statItem(joinRel(session.directory(), entry.name));
            if (child.ok()) {
                e.ino = s.inodes.remember(dirIno, entry.name, child->st_ino);
                e.attr = withFuseInode(s, *child);
                e.attr_timeout = kCacheTimeoutSeconds;
                e.entry_timeout = kCacheTimeoutSeconds;
            }
        }
        if (!add(entry.name.c_str(), e, static_cast<off_t>(kDotEntries + i + 1))) break;
    }
    fuse_reply_buf(req, buf.data(), used);
}

void readDirectory(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi, bool plus)
{
    State& s = stateOf(req);
    auto session = reinterpret_cast<OpenDirectory*>(fi->fh)->session;
    const size_t offset = static_cast<size_t>(off);
    // Offset 0 is a rewind (the session rescans); a read that starts at a dot after entries were produced
    // (seekdir) answers from what the session has, so it does not rescan.
    if (offset != 0 && offset <= kDotEntries && (!session->entries().empty() || session->complete())) {
        return replyDirectory(req, *session, size, offset, plus, ino);
    }
    auto r = beginAsync(req);
    const size_t sessionOffset = offset > kDotEntries ? offset - kDotEntries : 0;
    session->fetch(r.ctx, sessionOffset, size, [&s, r, session, size, offset, plus, ino](HRESULT hr) {
        if (FAILED(hr)) {
            fuse_reply_err(r.req, errnoOf(hr));
        } else {
            replyDirectory(r.req, *session, size, offset, plus, ino);
        }
        finishAsync(s, r);
    });
}

void opReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi)
{
    readDirectory(req, ino, size, off, fi, false);
}

void opReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi)
{
    readDirectory(req, ino, size, off, fi, true);
}

void opReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi)
{
    auto* dir = reinterpret_cast<OpenDirectory*>(fi->fh);
    dir->session->close();
    stateOf(req).forgetDirectory(dir);
    fuse_reply_err(req, 0);
}

void opStatfs(fuse_req_t req, fuse_ino_t)
{
    struct statvfs st {};
    if (::fstatvfs(stateOf(req).store.rootFd(), &st) != 0) return (void)fuse_reply_err(req, errno);
    fuse_reply_statfs(req, &st);
}

// Extended attributes: read through to the backing item; ProjFS's own (user.projfs.*) are read-only.
template <typename Op>
void withBackingItem(fuse_req_t req, fuse_ino_t ino, Op&& op)
{
    State& s = stateOf(req);
    auto rel = pathOf(s, ino);
    if (!rel) return (void)fuse_reply_err(req, ENOENT);
    auto st = s.store.statItem(*rel);
    if (!st) return (void)fuse_reply_err(req, errnoOf(st.hr()));
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) return (void)fuse_reply_err(req, ENOTSUP);
    auto fd = s.store.openItem(*rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (!fd) return (void)fuse_reply_err(req, errnoOf(fd.hr()));
    op(fd->get());
}

void replySized(fuse_req_t req, size_t size, ssize_t n, const std::vector<char>& buf)
{
    if (n < 0) return (void)fuse_reply_err(req, errno);
    if (size == 0) return (void)fuse_reply_xattr(req, static_cast<size_t>(n));
    fuse_reply_buf(req, buf.data(), static_cast<size_t>(n));
}

void opGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size)
{
    withBackingItem(req, ino, [&](int fd) {
        std::vector<char> buf(size);
        replySized(req, size, ::fgetxattr(fd, name, size ? buf.data() : nullptr, size), buf);
    });
}

void opListxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    withBackingItem(req, ino, [&](int fd) {
        std::vector<char> buf(size);
        replySized(req, size, ::flistxattr(fd, size ? buf.data() : nullptr, size), buf);
    });
}

void opSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags)
{
    if (std::strncmp(name, kXattrPrefix, std::strlen(kXattrPrefix)) == 0) return (void)fuse_reply_err(req, EPERM);
    withBackingItem(req, ino,
                    [&](int fd) { fuse_reply_err(req, ::fsetxattr(fd, name, value, size, flags) == 0 ? 0 : errno); });
}

void opRemovexattr(fuse_req_t req, fuse_ino_t ino, const char* name)
{
    if (std::strncmp(name, kXattrPrefix, std::strlen(kXattrPrefix)) == 0) return (void)fuse_reply_err(req, EPERM);
    withBackingItem(req, ino, [&](int fd) { fuse_reply_err(req, ::fremovexattr(fd, name) == 0 ? 0 : errno); });
}

void opCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi)
{
    State& s = stateOf(req);
    auto parentRel = pathOf(s, parent);
    if (!parentRel) return (void)fuse_reply_err(req, ENOENT);
    if (!isValidComponent(name)) return (void)fuse_reply_err(req, EINVAL);
    std::string rel = joinRel(*parentRel, name);
    if (auto status = s.instance.prepareNewItem(rel); !status) return (void)fuse_reply_err(req, errnoOf(status.hr()));
    auto fd = s.store.openItem(rel, (fi->flags & ~O_NOCTTY) | O_CREAT | O_NOFOLLOW, mode);
    if (!fd) return (void)fuse_reply_err(req, errnoOf(fd.hr()));
    const fuse_ctx* ctx = fuse_req_ctx(req);
    (void)::fchown(fd->get(), ctx->uid, ctx->gid);
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return (void)fuse_reply_err(req, errno);
    fuse_entry_param e{};
    e.ino = s.inodes.remember(parent, name, st.st_ino);
    e.attr = withFuseInode(s, st);
    e.attr_timeout = kCacheTimeoutSeconds;
    e.entry_timeout = kCacheTimeoutSeconds;
    auto inode = s.inodes.get(e.ino);
    auto* handle = new FileHandle(s, inode, std::move(fd).value());
    fi->fh = handle->token();
    auto reply = [&s, req, handle, e, info = *fi]() mutable {
        int replied;
        if (auto backingId = handle->registerPassthrough()) {
            replied = Passthrough::replyCreate(req, e, info, *backingId);
        } else {
            replied = fuse_reply_create(req, &e, &info);
        }
        if (replied != 0) {
            delete handle;
            s.inodes.forget(e.ino, 1);
        }
    };
    Notifications& notifications = s.instance.notifications();
    if (!notifications.listening()) return reply();
    bool writable = (fi->flags & O_ACCMODE) != O_RDONLY;
    notifications.handleOpened(contextOf(req), rel, inode, handle->fd(), writable, PRJ_NOTIFICATION_NEW_FILE_CREATED,
                               handle->notify, std::move(reply));
}

fuse_lowlevel_ops makeOperations()
{
    fuse_lowlevel_ops ops{};
    ops.init = opInit;
    ops.lookup = opLookup;
    ops.forget = opForget;
    ops.getattr = opGetattr;
    ops.setattr = opSetattr;
    ops.readlink = opReadlink;
    ops.mknod = opMknod;
    ops.mkdir = opMkdir;
    ops.unlink = opUnlink;
    ops.rmdir = opRmdir;
    ops.symlink = opSymlink;
    ops.rename = opRename;
    ops.link = opLink;
    ops.open = opOpen;
    ops.read = opRead;
    ops.flush = opFlush;
    ops.release = opRelease;
    ops.fsync = opFsync;
    ops.opendir = opOpendir;
    ops.readdir = opReaddir;
    ops.releasedir = opReleasedir;
    ops.statfs = opStatfs;
    ops.setxattr = opSetxattr;
    ops.getxattr = opGetxattr;
    ops.listxattr = opListxattr;
    ops.removexattr = opRemovexattr;
    ops.create = opCreate;
    ops.write_buf = opWriteBuf;
    ops.forget_multi = opForgetMulti;
    ops.readdirplus = opReaddirplus;
    return ops;
}

}  // namespace

const fuse_lowlevel_ops& projectedFuseOperations()
{
    static const fuse_lowlevel_ops ops = makeOperations();
    return ops;
}

}  // namespace hc::projfs
