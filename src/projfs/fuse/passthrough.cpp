#include "projfs/fuse/passthrough.h"

#include "base/log.h"

#include <linux/fuse.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

// Kernel UAPI of FUSE passthrough (Linux 6.9); Debian 12's headers predate it.
#ifndef FUSE_DEV_IOC_BACKING_OPEN
struct fuse_backing_map {
    int32_t fd;
    uint32_t flags;
    uint64_t padding;
};
#define FUSE_DEV_IOC_BACKING_OPEN _IOW(229, 1, struct fuse_backing_map)
#define FUSE_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)
#endif
#ifndef FOPEN_PASSTHROUGH
#define FOPEN_PASSTHROUGH (1 << 7)
#endif

namespace hc::projfs {
namespace {

// The open reply as the kernel reads it since 6.9: the old padding word holds the backing id.
struct OpenOut {
    uint64_t fh;
    uint32_t openFlags;
    int32_t backingId;
};
static_assert(sizeof(OpenOut) == sizeof(fuse_open_out));

OpenOut openOut(const fuse_file_info& fi, int32_t backingId)
{
    OpenOut out{};
    out.fh = fi.fh;
    out.openFlags = FOPEN_PASSTHROUGH;  // page-cache flags (keep_cache, direct_io) do not apply
    if (fi.noflush) out.openFlags |= FOPEN_NOFLUSH;
    out.backingId = backingId;
    return out;
}

void splitTimeout(double seconds, uint64_t& whole, uint32_t& nanos)
{
    if (seconds <= 0) {
        whole = 0;
        nanos = 0;
        return;
    }
    double integral = std::floor(seconds);
    whole = static_cast<uint64_t>(integral);
    nanos = static_cast<uint32_t>((seconds - integral) * 1e9);
}

fuse_attr kernelAttr(const struct stat& st)
{
    fuse_attr a{};
    a.ino = st.st_ino;
    a.size = static_cast<uint64_t>(st.st_size);
    a.blocks = static_cast<uint64_t>(st.st_blocks);
    a.atime = static_cast<uint64_t>(st.st_atim.tv_sec);
    a.mtime = static_cast<uint64_t>(st.st_mtim.tv_sec);
    a.ctime = static_cast<uint64_t>(st.st_ctim.tv_sec);
    a.atimensec = static_cast<uint32_t>(st.st_atim.tv_nsec);
    a.mtimensec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
    a.ctimensec = static_cast<uint32_t>(st.st_ctim.tv_nsec);
    a.mode = st.st_mode;
    a.nlink = static_cast<uint32_t>(st.st_nlink);
    a.uid = st.st_uid;
    a.gid = st.st_gid;
    a.rdev = static_cast<uint32_t>(st.st_rdev);
    a.blksize = static_cast<uint32_t>(st.st_blksize);
    return a;
}

}  // namespace

std::optional<int32_t> Passthrough::registerFile(fuse_session* session, Inode& inode, int fd)
{
    if (!enabled_.load() || session == nullptr) return std::nullopt;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    std::lock_guard lock(inode.mutex);  // held across the ioctl: the first registration of a file must be one
    if (!enabled_.load()) return std::nullopt;
    if (inode.passthrough.id != 0) {
        ++inode.passthrough.handles;
        return inode.passthrough.id;
    }
    fuse_backing_map map{};
    map.fd = fd;
    int id = ::ioctl(fuse_session_fd(session), FUSE_DEV_IOC_BACKING_OPEN, &map);
    if (id <= 0) {
        int err = errno;
        enabled_.store(false);
        HC_LOG(Warn, "projfs",
               std::string("FUSE passthrough turned off for this mount (registering a backing file failed: ") +
                   std::strerror(err) + "); reads and writes go through the provider runtime");
        return std::nullopt;
    }
    inode.passthrough = Inode::PassthroughRegistration{id, 1};
    registrations_.fetch_add(1);
    return id;
}

void Passthrough::release(fuse_session* session, Inode& inode)
{
    std::lock_guard lock(inode.mutex);
    if (inode.passthrough.id == 0 || --inode.passthrough.handles > 0) return;
    uint32_t closing = static_cast<uint32_t>(inode.passthrough.id);
    inode.passthrough = {};
    if (session != nullptr && ::ioctl(fuse_session_fd(session), FUSE_DEV_IOC_BACKING_CLOSE, &closing) != 0) {
        HC_LOG(Debug, "projfs", std::string("closing a backing id failed: ") + std::strerror(errno));
    }
}

int Passthrough::replyOpen(fuse_req_t req, const fuse_file_info& fi, int32_t backingId)
{
    OpenOut out = openOut(fi, backingId);
    iovec iov{&out, sizeof out};
    return fuse_reply_iov(req, &iov, 1);
}

int Passthrough::replyCreate(fuse_req_t req, const fuse_entry_param& entry, const fuse_file_info& fi, int32_t backingId)
{
    struct {
        fuse_entry_out entry;
        OpenOut open;
    } out{};
    out.entry.nodeid = entry.ino;
    out.entry.generation = entry.generation;
    splitTimeout(entry.entry_timeout, out.entry.entry_valid, out.entry.entry_valid_nsec);
    splitTimeout(entry.attr_timeout, out.entry.attr_valid, out.entry.attr_valid_nsec);
    out.entry.attr = kernelAttr(entry.attr);
    out.open = openOut(fi, backingId);
    iovec iov{&out, sizeof out};
    return fuse_reply_iov(req, &iov, 1);
}

}  // namespace hc::projfs
