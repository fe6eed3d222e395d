// FileHandle: one open of a regular file, from OPEN/CREATE to RELEASE (fi->fh is the FileHandle*). It owns
// the backing descriptor and holds its file's Inode (pinned in the InodeMap, so every open of one backing
// file shares one Inode); what the open needs besides — its passthrough registration count, its
// notification record — is on the handle or its Inode, never in a table keyed by descriptor.
//
// Lifecycle: created by the open's reply path after the backing file was opened → registered with the
// mount (State::openFiles) so a session that ends with files open frees them → destroyed once: by RELEASE,
// by a failed reply, or by unmount() after the loop ended. Destroying it is the whole close: the
// notification record is dropped (if RELEASE did not take it), the passthrough registration released
// (before the descriptor closes), the Inode unpinned, the descriptor closed.
#pragma once

#include "projfs/core/inode.h"
#include "projfs/core/notifications.h"
#include "projfs/fuse/projected_fuse.h"
#include "projfs/store/unique_fd.h"

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <cstdint>
#include <memory>
#include <optional>

namespace hc::projfs {

class FileHandle {
public:
    FileHandle(ProjectedFuse::State& state, std::shared_ptr<Inode> inode, UniqueFd fd);
    ~FileHandle();
    FileHandle(const FileHandle&) = delete;
    FileHandle& operator=(const FileHandle&) = delete;

    static FileHandle* of(const fuse_file_info* fi) { return reinterpret_cast<FileHandle*>(fi->fh); }
    uint64_t token() { return reinterpret_cast<uint64_t>(this); }

    int fd() const { return fd_.get(); }
    Inode& inode() { return *inode_; }
    const std::shared_ptr<Inode>& sharedInode() const { return inode_; }
    // The FUSE passthrough backing id for this open, registering the file if it is the first; nullopt
    // when the mount has no passthrough (the handle is then served through this process).
    std::optional<int32_t> registerPassthrough();

    Notifications::OpenHandle notify;  // filled by Notifications::handleOpened, taken at RELEASE

private:
    ProjectedFuse::State& state_;
    std::shared_ptr<Inode> inode_;
    UniqueFd fd_;
    bool passthrough_ = false;
};

}  // namespace hc::projfs
