#include "projfs/fuse/projected_fuse.h"

#include "base/hresult.h"
#include "base/log.h"
#include "projfs/fuse/file_handle.h"
#include "projfs/fuse/fuse_state.h"
#include "projfs/fuse/init_negotiation.h"
#include "projfs/store/rel_path.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <future>

namespace hc::projfs {
namespace {

constexpr const char* kFusectl = "/sys/fs/fuse/connections";

// FUSE passthrough is used when the kernel offers it unless HOSTCOMPUTE_PROJFS_PASSTHROUGH=0 (for
// comparisons, and a way out should a kernel misbehave).
bool passthroughWanted()
{
    const char* setting = std::getenv("HOSTCOMPUTE_PROJFS_PASSTHROUGH");
    return setting == nullptr || std::string(setting) != "0";
}

// Opens the abort file of the connection serving `device`, right after we mounted it: at that moment
// the connection number is certainly ours. The descriptor pins that connection's fusectl inode; once
// the connection is gone the kernel clears the inode's link to it, so a later write through this
// descriptor is a no-op — it can never abort a newer connection that reuses the number (writing to
// /sys/fs/fuse/connections/<n>/abort by path at stop time could, and did, abort someone else's mount).
int openAbortFile(dev_t device)
{
    std::string dir = std::string(kFusectl) + "/" + std::to_string(minor(device));
    if (::access(dir.c_str(), F_OK) != 0) ::mount("fusectl", kFusectl, "fusectl", 0, nullptr);
    int fd = ::open((dir + "/abort").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        HC_LOG(Warn, "projfs",
               "cannot open " + dir + "/abort (a busy mount cannot be forced down at stop): " + std::strerror(errno));
    }
    return fd;
}

// How long a detached, idle mount gets to end its connection by itself before it is forced down. The
// kernel ends it as soon as the superblock goes, but on a loaded machine that can take a while.
constexpr auto kIdleUnmountGrace = std::chrono::seconds(10);

}  // namespace

ProjectedFuse::ProjectedFuse(std::unique_ptr<State> state) : state_(std::move(state)) {}

ProjectedFuse::~ProjectedFuse()
{
    unmount();
}

Result<std::unique_ptr<ProjectedFuse>> ProjectedFuse::mount(VirtualizationInstance& instance,
                                                            const std::string& mountPoint, unsigned threads)
{
    auto state = std::make_unique<State>(instance);
    state->mountPoint = mountPoint;
    state->threads = threads == 0 ? 1 : threads;

    std::string options = "default_permissions,fsname=projfs,subtype=projfs";
    if (::geteuid() == 0) options += ",allow_other";
    const char* argv[] = {"projfs", "-o", options.c_str()};
    fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
    const fuse_lowlevel_ops& ops = projectedFuseOperations();
    state->session = fuse_session_new(&args, &ops, sizeof(ops), state.get());
    fuse_opt_free_args(&args);  // fuse_session_new may have copied them
    if (state->session == nullptr) {
        return makeError(HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_UNAVAILABLE), "fuse_session_new failed");
    }
    if (fuse_session_mount(state->session, mountPoint.c_str()) != 0) {
        fuse_session_destroy(state->session);
        return makeError(HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_UNAVAILABLE),
                         "cannot mount FUSE over '" + mountPoint + "' (is /dev/fuse available?)");
    }
    state->mounted = true;
    State* raw = state.get();
    // A listed item was written to disk: the kernel drops the attributes it got from the listing (attributes
    // only, offset -1: this waits for no page or inode lock, so it is safe inside the request that wrote it,
    // and it must happen before that request is answered).
    raw->dispatcher.setMaterializedListener([raw](uint64_t ino) {
        if (raw->session) fuse_lowlevel_notify_inval_inode(raw->session, ino, -1, 0);
    });
    state->loop = std::thread([raw] {
        InitOutcome init = negotiateInit(raw->session, /*wantPassthrough=*/passthroughWanted());
        raw->passthrough.setGranted(init.passthrough);
        fuse_loop_config* config = fuse_loop_cfg_create();
        fuse_loop_cfg_set_max_threads(config, raw->threads);
        fuse_loop_cfg_set_idle_threads(config, raw->threads);
        fuse_session_loop_mt(raw->session, config);
        fuse_loop_cfg_destroy(config);
    });
    // The provider changed an item the kernel may have cached: drop its attributes and pages. Done on
    // the executor, never inside a request for the same inode (that could deadlock in the kernel).
    instance.setItemChangedListener([raw, &instance](const std::string& rel) {
        instance.executor().post([raw, rel] {
            if (auto ino = raw->inodes.inodeOf(rel); ino && raw->session) {
                fuse_lowlevel_notify_inval_inode(raw->session, *ino, 0, 0);
            }
        });
    });
    // The provider deleted an item: the name is forgotten now (a lookup racing with this finds what is on
    // disk afterwards), the kernel's entry and the old inode's attributes are dropped on the executor.
    instance.setItemRemovedListener([raw, &instance](const std::string& rel) {
        auto [parentRel, name] = splitRel(rel);
        auto parent = raw->inodes.inodeOf(parentRel);
        if (!parent) return;  // the kernel never saw the directory, so not the item either
        auto ino = raw->inodes.inodeOf(rel);
        raw->inodes.removed(*parent, name);
        instance.executor().post([raw, parentIno = *parent, name = name, ino] {
            if (!raw->session) return;
            fuse_lowlevel_notify_inval_entry(raw->session, parentIno, name.c_str(), name.size());
            if (ino) fuse_lowlevel_notify_inval_inode(raw->session, *ino, -1, 0);
        });
    });
    // The provider changed what a directory's listing shows: drop the kernel's cached listing (it lives in
    // the directory's page cache) on the executor, for the same reason.
    // Its listed items (entries the kernel holds with the listing's attributes) are forgotten too: the next
    // use looks them up again.
    instance.setListingChangedListener([raw, &instance](const std::string& dirRel) {
        auto ino = raw->inodes.inodeOf(dirRel);
        if (!ino) return;  // the kernel never saw the directory, so it cached no listing of it
        auto listed = raw->inodes.detachListedChildren(*ino);
        instance.executor().post([raw, ino = *ino, listed = std::move(listed)] {
            if (!raw->session) return;
            fuse_lowlevel_notify_inval_inode(raw->session, ino, 0, 0);
            for (const std::string& name : listed)
                fuse_lowlevel_notify_inval_entry(raw->session, ino, name.c_str(), name.size());
        });
    });
    std::unique_ptr<ProjectedFuse> fuse(new ProjectedFuse(std::move(state)));
    struct stat mounted {};
    if (::stat(mountPoint.c_str(), &mounted) == 0) {
        fuse->state_->abortFd = openAbortFile(mounted.st_dev);
    } else {
        HC_LOG(Warn, "projfs", "cannot stat the new mount " + mountPoint + ": " + std::strerror(errno));
    }
    return fuse;
}

// Stop sequence (the session loop must end before /dev/fuse is closed, so no loop thread ever reads a
// closed or reused descriptor):
//   1. fuse_session_exit: the loop threads stop after the request they are reading.
//   2. detach the mount. As root we try a plain umount first: it succeeds only when nothing uses the
//      mount, and then the kernel ends the connection itself (the threads' read() fails with ENODEV).
//      If it is busy (open files, a cwd) we detach it lazily and abort the connection at once through
//      the abort file opened at mount time: open files would keep it alive forever.
//   3. join the loop (forcing through the abort file after kIdleUnmountGrace if the kernel is slow).
//   4. fuse_session_unmount: finds the connection gone (POLLERR), closes /dev/fuse, unmounts nothing.
void ProjectedFuse::unmount()
{
    State& s = *state_;
    if (!s.mounted) return;
    s.mounted = false;
    s.instance.setItemChangedListener(nullptr);
    s.instance.setItemRemovedListener(nullptr);
    s.instance.setListingChangedListener(nullptr);
    fuse_session_exit(s.session);
    bool busy = false;
    if (::geteuid() == 0) {
        if (::umount2(s.mountPoint.c_str(), UMOUNT_NOFOLLOW) != 0) {
            busy = errno == EBUSY;
            if (::umount2(s.mountPoint.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
                HC_LOG(Warn, "projfs", "cannot detach " + s.mountPoint + ": " + std::strerror(errno));
            }
        }
    } else {
        // fusermount3 detaches lazily and closes /dev/fuse; nothing better is possible without privileges.
        fuse_session_unmount(s.session);
    }
    auto forceDown = [&s] {
        if (s.abortFd >= 0) (void)!::write(s.abortFd, "1", 1);
    };
    if (busy) forceDown();
    auto ended = std::async(std::launch::async, [&s] { s.loop.join(); });
    if (ended.wait_for(kIdleUnmountGrace) != std::future_status::ready) {
        HC_LOG(Warn, "projfs", "FUSE connection of " + s.mountPoint + " did not end; aborting it");
        forceDown();
        ended.wait();
    }
    fuse_session_unmount(s.session);  // no-op if already done above
    fuse_session_destroy(s.session);
    s.session = nullptr;      // before the leftover handles: their passthrough ids died with the session
    s.freeOpenDirectories();  // no handler runs any more
    s.closeLeftoverFiles();
    if (s.abortFd >= 0) ::close(s.abortFd);
    s.abortFd = -1;
}

}  // namespace hc::projfs
