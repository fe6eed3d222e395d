// FileHandle: one open of a regular file as FUSE sees it, from OPEN/CREATE to RELEASE (fi->fh is the
// FileHandle*): the runtime's OpenFile (backing descriptor, Inode, notification record) plus whether this
// handle holds a share of the file's passthrough registration (counted on the Inode).
//
// Lifecycle: created when the dispatcher answers an open → registered with the mount (State::openFiles)
// so a session that ends with files open frees them → destroyed once: at RELEASE (after its OpenFile was
// handed to Dispatcher::release), by a failed reply, or by unmount() after the loop ended. Destroying it
// releases the passthrough share (before the descriptor closes), then the OpenFile.
#pragma once

#include "projfs/core/dispatcher.h"
#include "projfs/fuse/projected_fuse.h"

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <cstdint>
#include <memory>
#include <optional>

namespace hc::projfs {

class FileHandle {
public:
    FileHandle(ProjectedFuse::State& state, std::unique_ptr<OpenFile> file);
    ~FileHandle();
    FileHandle(const FileHandle&) = delete;
    FileHandle& operator=(const FileHandle&) = delete;

    static FileHandle* of(const fuse_file_info* fi) { return reinterpret_cast<FileHandle*>(fi->fh); }
    uint64_t token() { return reinterpret_cast<uint64_t>(this); }

    int fd() const { return file_->fd(); }
    const OpenFile* file() const { return file_.get(); }
    // The FUSE passthrough backing id for this open, registering the file if it is the first; nullopt
    // when the mount has no passthrough (the handle is then served through this process).
    std::optional<int32_t> registerPassthrough();
    // RELEASE: the passthrough share ends here, the OpenFile goes to the dispatcher.
    std::unique_ptr<OpenFile> release();

private:
    void releasePassthrough();

    ProjectedFuse::State& state_;
    std::unique_ptr<OpenFile> file_;
    bool passthrough_ = false;
};

}  // namespace hc::projfs
