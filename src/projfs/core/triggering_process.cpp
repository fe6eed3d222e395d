#include "projfs/core/triggering_process.h"

#include "projfs/store/rel_path.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL  // <linux/pidfd.h>, Linux 6.9
#endif

namespace hc::projfs {
namespace {

// A pidfd that reports when thread `tid` exits; invalid when the kernel cannot give one.
UniqueFd openThreadPidfd(pid_t tid)
{
#ifdef SYS_pidfd_open
    return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, tid, PIDFD_THREAD)));
#else
    return UniqueFd();
#endif
}

bool exited(int pidfd)
{
    pollfd p{pidfd, POLLIN, 0};
    int n;
    while ((n = ::poll(&p, 1, 0)) < 0 && errno == EINTR) {
    }
    return n != 0;  // readable (exited), or poll failed: do not trust the entry either way
}

// The kernel names the requesting thread; ProjFS reports its process (the thread group).
uint32_t processOfThread(pid_t tid)
{
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/%d/status", static_cast<int>(tid));
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[2048];  // Tgid is on the fourth line
    ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
    ::close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    const char* tgid = std::strstr(buf, "\nTgid:");
    return tgid ? static_cast<uint32_t>(std::strtoul(tgid + 6, nullptr, 10)) : 0;
}

std::wstring imageOfThread(pid_t tid)
{
    char link[64];
    std::snprintf(link, sizeof(link), "/proc/%d/exe", static_cast<int>(tid));
    char buf[4096];
    ssize_t n = ::readlink(link, buf, sizeof(buf) - 1);
    if (n <= 0) return {};
    return wideFromDiskName(std::string_view(buf, static_cast<size_t>(n)));
}

}  // namespace

TriggeringProcesses::TriggeringProcesses(size_t capacity) : capacity_(capacity) {}

std::shared_ptr<const TriggeringProcess> TriggeringProcesses::lookup(pid_t tid)
{
    static const auto nobody = std::make_shared<const TriggeringProcess>();
    if (tid <= 0) return nobody;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(tid);
        if (it != entries_.end()) {
            if (!exited(it->second.pidfd.get())) {
                lru_.splice(lru_.begin(), lru_, it->second.lru);
                return it->second.info;
            }
            forget(it);  // that thread is gone; `tid` may be somebody else's now
        }
        ++procReads_;
    }
    // The pidfd first: if the thread is still alive after the reads, what they found was its.
    UniqueFd pidfd = capacity_ > 0 ? openThreadPidfd(tid) : UniqueFd();
    auto info = std::make_shared<TriggeringProcess>();
    info->pid = processOfThread(tid);
    if (info->pid != 0) info->image = imageOfThread(tid);
    if (!pidfd.valid() || info->pid == 0 || exited(pidfd.get())) return info;

    std::lock_guard lock(mutex_);
    auto [it, inserted] = entries_.try_emplace(tid);
    if (!inserted) return it->second.info;  // another request for the same thread was faster
    while (entries_.size() > capacity_)
        forget(entries_.find(lru_.back()));
    it->second.pidfd = std::move(pidfd);
    it->second.info = info;
    lru_.push_front(tid);
    it->second.lru = lru_.begin();
    return info;
}

void TriggeringProcesses::forget(std::unordered_map<pid_t, Entry>::iterator it)
{
    lru_.erase(it->second.lru);
    entries_.erase(it);
}

uint64_t TriggeringProcesses::procReads() const
{
    std::lock_guard lock(mutex_);
    return procReads_;
}

size_t TriggeringProcesses::cached() const
{
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace hc::projfs
