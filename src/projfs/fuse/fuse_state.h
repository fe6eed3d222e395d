// Internal to src/projfs/fuse: the state every FUSE handler reaches through fuse_req_userdata.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "projfs/core/dispatcher.h"
#include "projfs/core/enumeration_session.h"
#include "projfs/core/inode.h"
#include "projfs/core/request_context.h"
#include "projfs/core/virtualization_instance.h"
#include "projfs/fuse/passthrough.h"
#include "projfs/fuse/projected_fuse.h"

#include <sys/types.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace hc::projfs {

class FileHandle;

// Attributes and names change only through this mount or the provider's calls (which invalidate), so
// the kernel may cache them for long.
inline constexpr double kCacheTimeoutSeconds = 60.0;

// One directory handle (fi->fh between opendir and releasedir).
struct OpenDirectory {
    std::shared_ptr<EnumerationSession> session;
};

struct ProjectedFuse::State {
    explicit State(VirtualizationInstance& inst) : instance(inst), dispatcher(inst), inodes(inst.inodes()) {}

    VirtualizationInstance& instance;  // for its executor and invalidation hooks; requests go to `dispatcher`
    Dispatcher dispatcher;
    InodeMap& inodes;         // the instance's (the invalidation hooks map paths to the kernel's inode numbers)
    Passthrough passthrough;  // granted (or not) by the INIT exchange
    fuse_session* session = nullptr;
    std::string mountPoint;
    int abortFd = -1;  // the connection's fusectl abort file, opened at mount (see projected_fuse.cpp)
    bool mounted = false;
    std::thread loop;
    unsigned threads = 1;

    // Requests that may wait for the provider, by serial, so FUSE INTERRUPT can find them safely.
    std::mutex interruptsMutex;
    uint64_t nextSerial = 1;
    std::unordered_map<uint64_t, std::shared_ptr<Interruption>> interrupts;

    // Directory handles the kernel has not released. Handles still open when the session ends (Stop
    // with a directory open: the kernel sends no RELEASEDIR to a connection that is gone) are freed by
    // unmount() after the loop ended. They get no EndDirectoryEnumeration: Stop refuses every callback
    // from its first moment, and ending them from the stopping thread could overlap a Get of the same
    // enumeration still running on a session thread.
    std::mutex openDirectoriesMutex;
    std::unordered_set<OpenDirectory*> openDirectories;

    // Open file handles (fi->fh: FileHandle*, file_handle.h). Like directories, files still open when the
    // session ends get no RELEASE; unmount() destroys their handles after the loop ended (and after the
    // session is gone: no passthrough ioctl then), so restarts of a long-running provider do not leak one
    // descriptor per file left open. Only an ownership registry: per-file state is on the Inode.
    std::mutex openFilesMutex;
    std::unordered_set<FileHandle*> openFiles;

    void closeLeftoverFiles();  // file_handle.cpp

    void forgetDirectory(OpenDirectory* dir)
    {
        {
            std::lock_guard lock(openDirectoriesMutex);
            openDirectories.erase(dir);
        }
        delete dir;
    }
    void freeOpenDirectories()
    {
        std::lock_guard lock(openDirectoriesMutex);
        for (OpenDirectory* dir : openDirectories) {
            dir->session->close();  // a no-op once Stop began (see above)
            delete dir;
        }
        openDirectories.clear();
    }
};

const fuse_lowlevel_ops& projectedFuseOperations();

}  // namespace hc::projfs
