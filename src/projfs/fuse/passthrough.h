// FUSE passthrough: once a regular file is open, its reads, writes and mmaps go from the kernel straight
// to the backing file, never through this process (kernel >= 6.9, FUSE_PASSTHROUGH; needs CAP_SYS_ADMIN).
// Hydrated content is final on disk and every state change happens at open (hydration, conversion to
// full), so nothing is lost by not seeing the I/O itself.
//
// The kernel refuses (EIO on open) a file that is open in passthrough mode and in cached mode at once, so
// the rule is all or nothing per mount: every regular-file open and create is passthrough while the mount
// has it; the first registration that fails turns it off for the mount (such failures come from the
// mount's situation — no privilege, a backing file system stacked too deep — not from one file).
//
// The kernel also insists that all passthrough handles of one inode use the same backing registration
// (EBUSY, then EIO to the opener, otherwise), so registrations are per backing file, kept on its Inode
// (Inode::passthrough, under Inode::mutex) and counted by handle. Lifecycle of a registration: the first
// open/create of a backing file registers its descriptor (FUSE_DEV_IOC_BACKING_OPEN); later opens of the
// same file reuse the id and count up → the id stays registered while any of its handles is open (an
// opener looks the id up after our reply, on its own time) → the release of the last handle (its
// FileHandle's destructor) closes the id (FUSE_DEV_IOC_BACKING_CLOSE), then the descriptor.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "projfs/core/inode.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <optional>

namespace hc::projfs {

class Passthrough {
public:
    // Set once, from the INIT exchange, before any request is served.
    void setGranted(bool granted) { enabled_.store(granted); }
    bool enabled() const { return enabled_.load(); }

    // Registers the open descriptor `fd` of the regular file `inode` (or counts one more handle of its
    // registration); nullopt when passthrough is off or the kernel refused (then the handle is served
    // through this process like before). Each registered handle is released once.
    std::optional<int32_t> registerFile(fuse_session* session, Inode& inode, int fd);
    // One registered handle of `inode` ends; the last closes the registration. Call before closing its fd.
    void release(fuse_session* session, Inode& inode);

    // OPEN and CREATE replies carrying FOPEN_PASSTHROUGH and the backing id (libfuse 3.14 has no field for
    // it, so these build the reply themselves). Return what fuse_reply_* returns.
    static int replyOpen(fuse_req_t req, const fuse_file_info& fi, int32_t backingId);
    static int replyCreate(fuse_req_t req, const fuse_entry_param& entry, const fuse_file_info& fi, int32_t backingId);

    uint64_t registrations() const { return registrations_.load(); }

private:
    std::atomic<bool> enabled_{false};
    std::atomic<uint64_t> registrations_{0};
};

}  // namespace hc::projfs
