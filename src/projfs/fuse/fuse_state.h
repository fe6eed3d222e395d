// Internal to src/projfs/fuse: the state every FUSE handler reaches through fuse_req_userdata.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "projfs/core/request_context.h"
#include "projfs/core/virtualization_instance.h"
#include "projfs/fuse/inode_table.h"
#include "projfs/fuse/projected_fuse.h"

#include <sys/types.h>

#include <thread>
#include <unordered_map>

namespace hc::projfs {

// Attributes and names change only through this mount or the provider's calls (which invalidate), so
// the kernel may cache them for long.
inline constexpr double kCacheTimeoutSeconds = 60.0;

struct ProjectedFuse::State {
    State(VirtualizationInstance& inst, uint64_t rootBackingInode)
        : instance(inst), store(inst.store()), inodes(rootBackingInode)
    {
    }

    VirtualizationInstance& instance;
    BackingStore& store;
    InodeTable inodes;
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
};

const fuse_lowlevel_ops& projectedFuseOperations();

}  // namespace hc::projfs
