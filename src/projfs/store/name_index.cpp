#include "projfs/store/name_index.h"

#include "projfs/store/name_rules.h"
#include "projfs/store/rel_path.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace hc::projfs {
namespace {

bool earlier(const timespec& a, const timespec& b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

}  // namespace

bool NameIndex::Version::operator==(const Version& o) const
{
    return ino == o.ino && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec &&
           ctime.tv_sec == o.ctime.tv_sec && ctime.tv_nsec == o.ctime.tv_nsec;
}

std::optional<std::string> NameIndex::find(int rootFd, const std::string& rel, const std::wstring& folded, int& err)
{
    err = 0;
    timespec before{};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &before);
    struct stat st {};
    if (::fstatat(rootFd, atPath(rel), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        err = errno;
        return std::nullopt;
    }
    const Version version{st.st_ino, st.st_mtim, st.st_ctim};
    {
        std::lock_guard lock(mutex_);
        auto it = directories_.find(rel);
        if (it != directories_.end() && it->second.version == version) {
            lru_.splice(lru_.begin(), lru_, it->second.lru);
            auto hit = it->second.byFolded.find(folded);
            if (hit == it->second.byFolded.end()) return std::nullopt;
            return hit->second;
        }
    }
    // (Re)build from a names-only listing.
    int fd = ::openat(rootFd, atPath(rel), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        err = errno;
        return std::nullopt;
    }
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
        err = errno;
        ::close(fd);
        return std::nullopt;
    }
    Directory built;
    built.version = version;
    while (dirent* d = ::readdir(dir)) {
        std::string_view name = d->d_name;
        if (name == "." || name == ".." || isReservedName(name)) continue;
        built.byFolded.try_emplace(caseFoldedName(wideFromDiskName(name)), name);
    }
    ::closedir(dir);
    std::optional<std::string> result;
    if (auto hit = built.byFolded.find(folded); hit != built.byFolded.end()) result = hit->second;
    // Keep it only if no change of this tick can hide behind an unchanged timestamp (see the header).
    bool settled = earlier(version.mtime, before) && earlier(version.ctime, before);
    size_t count = built.byFolded.size();
    if (settled && count <= kMaxIndexedNames) {
        std::lock_guard lock(mutex_);
        if (auto old = directories_.find(rel); old != directories_.end()) {
            names_ -= old->second.byFolded.size();
            lru_.erase(old->second.lru);
            directories_.erase(old);
        }
        evictFor(count);
        lru_.push_front(rel);
        built.lru = lru_.begin();
        names_ += count;
        directories_.emplace(rel, std::move(built));
    }
    return result;
}

void NameIndex::evictFor(size_t names)
{
    while (!lru_.empty() && names_ + names > kMaxIndexedNames) {
        auto it = directories_.find(lru_.back());
        names_ -= it->second.byFolded.size();
        directories_.erase(it);
        lru_.pop_back();
    }
}

size_t NameIndex::indexedDirectories() const
{
    std::lock_guard lock(mutex_);
    return directories_.size();
}

}  // namespace hc::projfs
