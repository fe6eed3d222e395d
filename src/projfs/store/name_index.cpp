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
    {
        std::lock_guard lock(mutex_);
        ++listings_;
    }
    Directory built;
    built.version = version;
    while (dirent* d = ::readdir(dir)) {
        std::string_view name = d->d_name;
        if (name == "." || name == ".." || isReservedName(name)) continue;
        std::wstring folded = caseFoldedName(wideFromDiskName(name));
        if (auto [it, inserted] = built.byFolded.try_emplace(folded, name); !inserted) {
            built.moreSpellings.emplace(std::move(folded), name);
        }
    }
    ::closedir(dir);
    std::optional<std::string> result;
    if (auto hit = built.byFolded.find(folded); hit != built.byFolded.end()) result = hit->second;
    // Keep it only if no change of this tick can hide behind an unchanged timestamp (see the header).
    bool settled = earlier(version.mtime, before) && earlier(version.ctime, before);
    size_t count = built.names();
    if (settled && count <= kMaxIndexedNames) {
        std::lock_guard lock(mutex_);
        if (auto old = directories_.find(rel); old != directories_.end()) {
            names_ -= old->second.names();
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
        names_ -= it->second.names();
        directories_.erase(it);
        lru_.pop_back();
    }
}

template <typename Change>
void NameIndex::applyOwnChange(int rootFd, const std::string& rel, Change&& change)
{
    auto it = directories_.find(rel);
    if (it == directories_.end()) return;
    Directory& directory = it->second;
    struct stat st {};
    // The path may name another directory by now (renamed over): that index is of no use any more.
    if (::fstatat(rootFd, atPath(rel), &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_ino != directory.version.ino) {
        names_ -= directory.names();
        lru_.erase(directory.lru);
        directories_.erase(it);
        return;
    }
    names_ -= directory.names();
    change(directory);
    names_ += directory.names();
    directory.version = Version{st.st_ino, st.st_mtim, st.st_ctim};
    evictFor(0);  // `directory` may be gone after this
}

namespace {

void addSpelling(auto& directory, const std::wstring& folded, std::string_view name)
{
    auto [it, inserted] = directory.byFolded.try_emplace(folded, name);
    if (inserted || it->second == name) return;
    auto range = directory.moreSpellings.equal_range(folded);
    for (auto other = range.first; other != range.second; ++other) {
        if (other->second == name) return;
    }
    directory.moreSpellings.emplace(folded, name);
}

void removeSpelling(auto& directory, const std::wstring& folded, std::string_view name)
{
    auto range = directory.moreSpellings.equal_range(folded);
    for (auto other = range.first; other != range.second; ++other) {
        if (other->second == name) {
            directory.moreSpellings.erase(other);
            return;
        }
    }
    auto it = directory.byFolded.find(folded);
    if (it == directory.byFolded.end() || it->second != name) return;
    if (range.first != range.second) {  // another spelling of the same name takes its place
        it->second = range.first->second;
        directory.moreSpellings.erase(range.first);
    } else {
        directory.byFolded.erase(it);
    }
}

}  // namespace

// Two threads' changes of one name can reach the index in the other order than they reached the disk
// (a placeholder linked in by one, deleted by another, noted the other way round), so a note does not
// trust its caller: under the mutex it looks at the disk and records what is there now. Every change is
// followed by its note, so the last note for a name always reflects the disk.
void NameIndex::changed(int rootFd, const std::string& rel, std::string_view name)
{
    if (isReservedName(name)) return;
    std::wstring folded = caseFoldedName(wideFromDiskName(name));
    std::string path = rel.empty() ? std::string(name) : rel + "/" + std::string(name);
    std::lock_guard lock(mutex_);
    applyOwnChange(rootFd, rel, [&](Directory& directory) {
        struct stat st {};
        if (::fstatat(rootFd, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
            addSpelling(directory, folded, name);
        } else {
            removeSpelling(directory, folded, name);
        }
    });
}

void NameIndex::restamp(int rootFd, const std::string& rel)
{
    std::lock_guard lock(mutex_);
    applyOwnChange(rootFd, rel, [](Directory&) {});
}

uint64_t NameIndex::listings() const
{
    std::lock_guard lock(mutex_);
    return listings_;
}

size_t NameIndex::indexedDirectories() const
{
    std::lock_guard lock(mutex_);
    return directories_.size();
}

}  // namespace hc::projfs
