// TriggeringProcesses: the process id and image path ProjFS reports with every callback
// (PRJ_CALLBACK_DATA::TriggeringProcessId / TriggeringProcessImageFileName) for the thread the kernel
// names in a request. Finding them costs two /proc reads (status for the thread group, exe for the image);
// they are cached per thread id for at most `capacity` threads, least recently used first out.
//
// Thread ids are reused once a thread is gone, so each entry holds a pidfd of its thread (PIDFD_THREAD,
// Linux 6.9) and is trusted only while polling that pidfd does not report the thread's exit: a cache hit
// costs one poll and no /proc read, and a reused id is never given the old process's answer. A thread
// that exits while being read is not cached. Without pidfds (older kernels) every lookup reads /proc.
//
// Lifecycle: owned by the VirtualizationInstance; entries (and their pidfds) live until evicted, found
// dead, or the cache is destroyed. Thread-safe: one mutex, never held while reading /proc.
#pragma once

#include "base/unique_fd.h"

#include <sys/types.h>

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hc::projfs {

struct TriggeringProcess {
    uint32_t pid = 0;    // the thread's process (thread group); 0 = unknown (gone, or no /proc)
    std::wstring image;  // its executable's path; empty when unknown
};

class TriggeringProcesses {
public:
    static constexpr size_t kDefaultCapacity = 64;
    explicit TriggeringProcesses(size_t capacity = kDefaultCapacity);

    // What to report for requesting thread `tid` (0 or less: nobody known). Never null.
    std::shared_ptr<const TriggeringProcess> lookup(pid_t tid);

    uint64_t procReads() const;  // lookups that read /proc, since construction
    size_t cached() const;

private:
    struct Entry {
        UniqueFd pidfd;
        std::shared_ptr<const TriggeringProcess> info;
        std::list<pid_t>::iterator lru;
    };
    void forget(std::unordered_map<pid_t, Entry>::iterator it);  // mutex held

    const size_t capacity_;
    mutable std::mutex mutex_;
    std::unordered_map<pid_t, Entry> entries_;
    std::list<pid_t> lru_;  // most recently used first
    uint64_t procReads_ = 0;
};

}  // namespace hc::projfs
