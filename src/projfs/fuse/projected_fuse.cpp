#include "projfs/fuse/projected_fuse.h"

#include "base/hresult.h"
#include "base/log.h"
#include "projfs/fuse/fuse_state.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>

namespace hc::projfs {
namespace {

// Ends a connection whose mount is detached but still busy (open files keep the kernel side alive,
// and the session threads would wait in read() forever). Needs the fusectl file system.
void abortConnection(dev_t device)
{
    const char* base = "/sys/fs/fuse/connections";
    std::string abortPath = std::string(base) + "/" + std::to_string(minor(device)) + "/abort";
    if (::access(abortPath.c_str(), F_OK) != 0) ::mount("fusectl", base, "fusectl", 0, nullptr);
    int fd = ::open(abortPath.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        HC_LOG(Warn, "projfs", "cannot abort FUSE connection " + abortPath + ": " + std::strerror(errno));
        return;
    }
    (void)!::write(fd, "1", 1);
    ::close(fd);
}

}  // namespace

ProjectedFuse::ProjectedFuse(std::unique_ptr<State> state) : state_(std::move(state)) {}

ProjectedFuse::~ProjectedFuse()
{
    unmount();
}

Result<std::unique_ptr<ProjectedFuse>> ProjectedFuse::mount(VirtualizationInstance& instance,
                                                            const std::string& mountPoint, unsigned threads)
{
    struct stat rootStat {};
    if (::fstat(instance.store().rootFd(), &rootStat) != 0) return makeError(hresultFromErrno(errno), "stat root");
    auto state = std::make_unique<State>(instance, rootStat.st_ino);
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
    state->loop = std::thread([raw] {
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
    std::unique_ptr<ProjectedFuse> fuse(new ProjectedFuse(std::move(state)));
    struct stat mounted {};
    if (::stat(mountPoint.c_str(), &mounted) == 0) fuse->state_->mountDevice = mounted.st_dev;
    return fuse;
}

void ProjectedFuse::unmount()
{
    State& s = *state_;
    if (!s.mounted) return;
    s.mounted = false;
    s.instance.setItemChangedListener(nullptr);
    fuse_session_exit(s.session);
    fuse_session_unmount(s.session);
    // Without open files the kernel ends the connection itself and the session threads return.
    auto ended = std::async(std::launch::async, [&s] { s.loop.join(); });
    if (ended.wait_for(std::chrono::milliseconds(500)) != std::future_status::ready) {
        abortConnection(s.mountDevice);
        ended.wait();
    }
    fuse_session_destroy(s.session);
    s.session = nullptr;
}

}  // namespace hc::projfs
