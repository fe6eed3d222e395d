// The FUSE operations, in protocol order, each a short translation: the kernel's request becomes one
// Dispatcher call (core/dispatcher.h), whose answer becomes the reply. Only this file replies; errors become
// errno in one place (replyError). No store access and no ProjFS rule here.
#include "projfs/fuse/fuse_state.h"

#include "base/hresult.h"
#include "base/log.h"
#include "projfs/fuse/file_handle.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <type_traits>
#include <vector>

namespace hc::projfs {
namespace {

using State = ProjectedFuse::State;

State& stateOf(fuse_req_t req)
{
    return *static_cast<State*>(fuse_req_userdata(req));
}

// The one place an error becomes the caller's errno.
void replyError(fuse_req_t req, HRESULT hr)
{
    fuse_reply_err(req, errnoForCaller(hr));
}

void replyOk(fuse_req_t req)
{
    fuse_reply_err(req, 0);
}

// ---- one request on its way to an answer ----

void onInterrupt(fuse_req_t req, void* data);

// FuseRequest: what one kernel request carries through the dispatcher (EdenFS's FuseRequestContext): its
// RequestContext and, for a request that may wait for the provider, its entry in the interrupt registry
// (FUSE INTERRUPT finds the Interruption by serial, never by a pointer that may be gone). answer() makes
// the request's one completion: it replies with the value or the error, then leaves the registry.
class FuseRequest : public std::enable_shared_from_this<FuseRequest> {
public:
    static std::shared_ptr<FuseRequest> start(fuse_req_t req, bool interruptible)
    {
        auto r = std::shared_ptr<FuseRequest>(new FuseRequest(req));
        if (interruptible) r->registerInterrupt();
        return r;
    }
    ~FuseRequest() { leaveRegistry(); }

    const RequestContext& ctx() const { return ctx_; }
    State& state() const { return state_; }

    // `send(req, value)` (or `send(req)` for Completion<void>) replies on success; an error replies errno.
    template <typename T, typename Send>
    Completion<T> answer(Send send)
    {
        return [self = shared_from_this(), send = std::move(send)](Result<T> result) mutable {
            if (!result) {
                replyError(self->req_, result.hr());
            } else if constexpr (std::is_void_v<T>) {
                send(self->req_);
            } else {
                send(self->req_, std::move(result).value());
            }
            self->leaveRegistry();
        };
    }

private:
    explicit FuseRequest(fuse_req_t req) : req_(req), state_(stateOf(req))
    {
        ctx_.tid = static_cast<pid_t>(fuse_req_ctx(req)->pid);
    }

    void registerInterrupt()
    {
        State& s = state_;
        {
            std::lock_guard lock(s.interruptsMutex);
            serial_ = s.nextSerial++;
            s.interrupts.emplace(serial_, ctx_.interruption);
        }
        fuse_req_interrupt_func(req_, onInterrupt, reinterpret_cast<void*>(static_cast<uintptr_t>(serial_)));
    }
    // After the reply: req_ is gone by then, so only state_ is used.
    void leaveRegistry()
    {
        if (serial_ == 0) return;
        std::lock_guard lock(state_.interruptsMutex);
        state_.interrupts.erase(std::exchange(serial_, 0));
    }

    fuse_req_t req_;  // valid until the reply
    State& state_;
    RequestContext ctx_;
    uint64_t serial_ = 0;
};

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

// Requests that may wait for the provider can be interrupted; the others (notifications are not
// cancellable) only carry who asked.
std::shared_ptr<FuseRequest> interruptible(fuse_req_t req)
{
    return FuseRequest::start(req, true);
}
std::shared_ptr<FuseRequest> plain(fuse_req_t req)
{
    return FuseRequest::start(req, false);
}

// ---- replies ----

fuse_entry_param entryParam(const EntryAnswer& entry)
{
    fuse_entry_param e{};
    e.ino = entry.ino;
    e.attr = entry.attr;
    e.attr_timeout = kCacheTimeoutSeconds;
    e.entry_timeout = kCacheTimeoutSeconds;
    return e;
}

// An entry the kernel did not receive gives its lookup reference back.
void replyEntry(fuse_req_t req, const EntryAnswer& entry)
{
    State& s = stateOf(req);
    fuse_entry_param e = entryParam(entry);
    if (fuse_reply_entry(req, &e) != 0) s.dispatcher.forget(entry.ino, 1);
}

void replyAttr(fuse_req_t req, const struct stat& st)
{
    fuse_reply_attr(req, &st, kCacheTimeoutSeconds);
}

// The kernel still has an entry for an item that is gone from disk (a lookup answered just before the
// provider deleted it can land after the deletion's invalidation): forget the name and drop the kernel's
// entry, so the next access looks it up again instead of failing until the entry expires.
void forgetStaleEntry(State& s, fuse_ino_t ino)
{
    auto location = s.dispatcher.forgetStaleEntry(ino);
    if (!location) return;
    s.instance.executor().post([&s, parent = location->first, name = location->second] {
        if (s.session) fuse_lowlevel_notify_inval_entry(s.session, parent, name.c_str(), name.size());
    });
}

bool isGone(HRESULT hr)
{
    return hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
}

Creator creatorOf(fuse_req_t req)
{
    const fuse_ctx* ctx = fuse_req_ctx(req);
    return Creator{ctx->uid, ctx->gid};
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
    // Every listing is READDIRPLUS (not only its first page): a provider's entries then reach the kernel
    // with their attributes, so `ls -l` needs no LOOKUP and no placeholder per entry.
    conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;  // every write must reach the store (state changes)
    conn->max_background = 64;
    HC_LOG(Debug, "projfs",
           "FUSE init: capable " + std::to_string(conn->capable) + " want " + std::to_string(conn->want));
}

void opLookup(fuse_req_t req, fuse_ino_t parent, const char* name)
{
    auto r = interruptible(req);
    r->state().dispatcher.lookup(r->ctx(), parent, name, r->answer<EntryAnswer>(replyEntry));
}

void opForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    stateOf(req).dispatcher.forget(ino, nlookup);
    fuse_reply_none(req);
}

void opForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets)
{
    for (size_t i = 0; i < count; ++i)
        stateOf(req).dispatcher.forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

void opGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi)
{
    State& s = stateOf(req);
    const OpenFile* file = fi != nullptr && fi->fh != 0 ? FileHandle::of(fi)->file() : nullptr;
    auto st = s.dispatcher.getattr(ino, file);
    if (!st) {
        if (isGone(st.hr())) forgetStaleEntry(s, ino);
        return replyError(req, st.hr());
    }
    replyAttr(req, *st);
}

void opSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int toSet, fuse_file_info* fi)
{
    static_assert(FUSE_SET_ATTR_MODE == kAttrMode && FUSE_SET_ATTR_SIZE == kAttrSize &&
                  FUSE_SET_ATTR_MTIME_NOW == kAttrMtimeNow && FUSE_SET_ATTR_ATIME_NOW == kAttrAtimeNow);
    auto r = interruptible(req);
    const OpenFile* file = fi != nullptr && fi->fh != 0 ? FileHandle::of(fi)->file() : nullptr;
    r->state().dispatcher.setattr(r->ctx(), ino, file, *attr, static_cast<unsigned>(toSet),
                                  r->answer<struct stat>(replyAttr));
}

void opReadlink(fuse_req_t req, fuse_ino_t ino)
{
    auto target = stateOf(req).dispatcher.readlink(ino);
    if (!target) return replyError(req, target.hr());
    fuse_reply_readlink(req, target->c_str());
}

void opMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev)
{
    auto r = plain(req);
    r->state().dispatcher.mknod(r->ctx(), creatorOf(req), parent, name, mode, rdev, r->answer<EntryAnswer>(replyEntry));
}

void opMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode)
{
    auto r = plain(req);
    r->state().dispatcher.mkdir(r->ctx(), creatorOf(req), parent, name, mode, r->answer<EntryAnswer>(replyEntry));
}

void opSymlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name)
{
    auto r = plain(req);
    r->state().dispatcher.symlink(r->ctx(), creatorOf(req), target, parent, name, r->answer<EntryAnswer>(replyEntry));
}

void opUnlink(fuse_req_t req, fuse_ino_t parent, const char* name)
{
    auto r = plain(req);
    r->state().dispatcher.unlink(r->ctx(), parent, name, r->answer<void>(replyOk));
}

void opRmdir(fuse_req_t req, fuse_ino_t parent, const char* name)
{
    auto r = plain(req);
    r->state().dispatcher.rmdir(r->ctx(), parent, name, r->answer<void>(replyOk));
}

void opRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newParent, const char* newName,
              unsigned flags)
{
    auto r = plain(req);
    r->state().dispatcher.rename(r->ctx(), parent, name, newParent, newName, flags, r->answer<void>(replyOk));
}

void opLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newParent, const char* newName)
{
    auto r = plain(req);
    r->state().dispatcher.link(r->ctx(), creatorOf(req), ino, newParent, newName, r->answer<EntryAnswer>(replyEntry));
}

// OPEN's reply, passthrough when the mount has it; a reply the kernel did not take ends the handle.
void replyOpen(fuse_req_t req, fuse_file_info info, std::unique_ptr<OpenFile> file)
{
    auto* handle = new FileHandle(stateOf(req), std::move(file));
    info.fh = handle->token();
    info.keep_cache = 1;  // content on disk is final: placeholders were hydrated before this open
    int replied;
    if (auto backingId = handle->registerPassthrough()) {
        replied = Passthrough::replyOpen(req, info, *backingId);
    } else {
        replied = fuse_reply_open(req, &info);
    }
    if (replied != 0) delete handle;
}

void opOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi)
{
    auto r = interruptible(req);
    State& s = r->state();
    fuse_file_info info = *fi;
    s.dispatcher.open(r->ctx(), ino, fi->flags,
                      [&s, ino, answer = r->answer<std::unique_ptr<OpenFile>>([info](fuse_req_t q, auto file) {
                          replyOpen(q, info, std::move(file));
                      })](Result<std::unique_ptr<OpenFile>> opened) {
                          if (!opened && isGone(opened.hr())) forgetStaleEntry(s, ino);
                          answer(std::move(opened));
                      });
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
    if (n < 0) return replyError(req, errnoHresult(static_cast<int>(-n)));
    fuse_reply_write(req, static_cast<size_t>(n));
}

void opFlush(fuse_req_t req, fuse_ino_t, fuse_file_info*)
{
    replyOk(req);
}

void opRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi)
{
    auto r = plain(req);
    FileHandle* handle = FileHandle::of(fi);
    std::unique_ptr<OpenFile> file = handle->release();
    delete handle;
    r->state().dispatcher.release(r->ctx(), ino, std::move(file), r->answer<void>(replyOk));
}

void opFsync(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi)
{
    int fd = FileHandle::of(fi)->fd();
    int rc = datasync ? ::fdatasync(fd) : ::fsync(fd);
    if (rc != 0) return replyError(req, errnoHresult(errno));
    replyOk(req);
}

// fallocate(2) on an open file. The kernel sends it only for a handle open for writing, and such an open
// already made the file full (a placeholder is hydrated first: Dispatcher::open), so it is the backing
// file's own fallocate, whatever the mode (the kernel passes KEEP_SIZE, PUNCH_HOLE and ZERO_RANGE on).
void opFallocate(fuse_req_t req, fuse_ino_t, int mode, off_t offset, off_t length, fuse_file_info* fi)
{
    if (::fallocate(FileHandle::of(fi)->fd(), mode, offset, length) != 0) {
        return replyError(req, errnoHresult(errno));
    }
    replyOk(req);
}

void replyOpendir(fuse_req_t req, fuse_file_info info, std::shared_ptr<EnumerationSession> session)
{
    State& s = stateOf(req);
    auto* dir = new OpenDirectory{std::move(session)};
    info.fh = reinterpret_cast<uint64_t>(dir);
    // A projected listing changes only through this mount (the kernel then drops its cache itself) or the
    // provider's calls (which invalidate it: the listing-changed listener in projected_fuse.cpp), so the
    // kernel may serve a second listing without asking the provider again.
    if (dir->session->providerBacked()) {
        info.cache_readdir = 1;
        info.keep_cache = 1;
    }
    {
        std::lock_guard lock(s.openDirectoriesMutex);
        s.openDirectories.insert(dir);
    }
    if (fuse_reply_open(req, &info) != 0) s.forgetDirectory(dir);
}

void opOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi)
{
    // Interruptible: a listed directory is written to disk first (GetPlaceholderInfo).
    auto r = interruptible(req);
    fuse_file_info info = *fi;
    r->state().dispatcher.opendir(r->ctx(), ino,
                                  r->answer<std::shared_ptr<EnumerationSession>>(
                                      [info](fuse_req_t q, std::shared_ptr<EnumerationSession> session) {
                                          replyOpendir(q, info, std::move(session));
                                      }));
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
    auto need = [&](const char* name) {
        return plus ? fuse_add_direntry_plus(req, nullptr, 0, name, nullptr, 0)
                    : fuse_add_direntry(req, nullptr, 0, name, nullptr, 0);
    };
    auto add = [&](const char* name, const fuse_entry_param& e, off_t next) {
        used += plus ? fuse_add_direntry_plus(req, buf.data() + used, size - used, name, &e, next)
                     : fuse_add_direntry(req, buf.data() + used, size - used, name, &e.attr, next);
    };
    for (size_t i = offset; i < kDotEntries; ++i) {
        const char* name = i == 0 ? "." : "..";
        if (used + need(name) > size) return (void)fuse_reply_buf(req, buf.data(), used);
        fuse_entry_param e{};  // the kernel links no dentry for the dots (e.ino 0 in readdirplus)
        e.attr.st_mode = S_IFDIR;
        e.attr.st_ino = i == 0 || dirIno == FUSE_ROOT_ID ? dirIno : FUSE_ROOT_ID;  // ".." : any non-zero number
        add(name, e, static_cast<off_t>(i + 1));
    }
    const size_t count = session.entries().size();
    for (size_t i = offset > kDotEntries ? offset - kDotEntries : 0; i < count; ++i) {
        // Measured before the dispatcher is asked: an entry that does not fit takes no lookup reference.
        if (used + need(session.entries()[i].name.c_str()) > size) break;
        DirEntryAnswer entry = s.dispatcher.directoryEntry(dirIno, session, i, plus);
        fuse_entry_param e{};  // e.ino 0: the kernel caches nothing and looks the name up when used
        e.attr = entry.attr;
        if (entry.ino != 0) e = entryParam(EntryAnswer{entry.ino, entry.attr});
        add(entry.name.c_str(), e, static_cast<off_t>(kDotEntries + i + 1));
    }
    fuse_reply_buf(req, buf.data(), used);
}

void readDirectory(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi, bool plus)
{
    auto session = reinterpret_cast<OpenDirectory*>(fi->fh)->session;
    const size_t offset = static_cast<size_t>(off);
    // Offset 0 is a rewind (the session rescans); a read that starts at a dot after entries were produced
    // (seekdir) answers from what the session has, so it does not rescan.
    if (offset != 0 && offset <= kDotEntries && (!session->entries().empty() || session->complete())) {
        return replyDirectory(req, *session, size, offset, plus, ino);
    }
    auto r = interruptible(req);
    const size_t sessionOffset = offset > kDotEntries ? offset - kDotEntries : 0;
    r->state().dispatcher.readdir(r->ctx(), *session, sessionOffset, size,
                                  r->answer<void>([session, size, offset, plus, ino](fuse_req_t q) {
                                      replyDirectory(q, *session, size, offset, plus, ino);
                                  }));
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
    replyOk(req);
}

void opStatfs(fuse_req_t req, fuse_ino_t)
{
    auto st = stateOf(req).dispatcher.statfs();
    if (!st) return replyError(req, st.hr());
    fuse_reply_statfs(req, &*st);
}

void replyXattr(fuse_req_t req, size_t size, const Result<XattrAnswer>& answer)
{
    if (!answer) return replyError(req, answer.hr());
    if (size == 0) return (void)fuse_reply_xattr(req, answer->length);
    fuse_reply_buf(req, answer->data.data(), answer->length);
}

void opGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size)
{
    auto r = interruptible(req);
    r->state().dispatcher.getxattr(
        r->ctx(), ino, name, size,
        r->answer<XattrAnswer>([size](fuse_req_t q, const XattrAnswer& answer) { replyXattr(q, size, answer); }));
}

void opListxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    replyXattr(req, size, stateOf(req).dispatcher.listxattr(ino, size));
}

void opSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags)
{
    auto r = interruptible(req);
    r->state().dispatcher.setxattr(r->ctx(), ino, name, std::string(value, size), flags, r->answer<void>(replyOk));
}

void opRemovexattr(fuse_req_t req, fuse_ino_t ino, const char* name)
{
    auto r = interruptible(req);
    r->state().dispatcher.removexattr(r->ctx(), ino, name, r->answer<void>(replyOk));
}

void opCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi)
{
    auto r = plain(req);
    fuse_file_info info = *fi;
    r->state().dispatcher.create(r->ctx(), creatorOf(req), parent, name, mode, fi->flags,
                                 r->answer<CreatedFile>([info](fuse_req_t q, CreatedFile created) mutable {
                                     State& s = stateOf(q);
                                     auto* handle = new FileHandle(s, std::move(created.file));
                                     info.fh = handle->token();
                                     fuse_entry_param e = entryParam(created.entry);
                                     int replied;
                                     if (auto backingId = handle->registerPassthrough()) {
                                         replied = Passthrough::replyCreate(q, e, info, *backingId);
                                     } else {
                                         replied = fuse_reply_create(q, &e, &info);
                                     }
                                     if (replied != 0) {
                                         delete handle;
                                         s.dispatcher.forget(e.ino, 1);
                                     }
                                 }));
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
    ops.fallocate = opFallocate;
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
