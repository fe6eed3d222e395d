#include "projfs/store/backing_path.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>  // renameat2

#include <cerrno>

namespace hc::projfs {

BackingPath::BackingPath(int rootFd, const std::string& rel) : dirFd_(rootFd), path_(rel.empty() ? "." : rel.c_str())
{
    if (rel.size() <= kMaxPathArgument) return;
    // Open the longest run of whole directories that fits, then go on from there until the rest fits.
    size_t start = 0;
    std::string step;
    while (rel.size() - start > kMaxPathArgument) {
        size_t cut = rel.rfind('/', start + kMaxPathArgument);
        if (cut == std::string::npos || cut <= start) {  // no component boundary within reach: not a valid path
            error_ = ENAMETOOLONG;
            return;
        }
        step.assign(rel, start, cut - start);
        int next = ::openat(dirFd_, step.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (next < 0) {
            error_ = errno;
            return;
        }
        held_.reset(next);
        dirFd_ = next;
        start = cut + 1;
    }
    path_ = rel.c_str() + start;
}

int unlinkBelow(int rootFd, const std::string& rel, int flags)
{
    BackingPath at(rootFd, rel);
    if (!at.ok()) {
        errno = at.error();
        return -1;
    }
    return ::unlinkat(at.dirFd(), at.path(), flags);
}

int renameBelow(int rootFd, const std::string& fromRel, const std::string& toRel, unsigned flags)
{
    BackingPath from(rootFd, fromRel);
    BackingPath to(rootFd, toRel);
    if (!from.ok() || !to.ok()) {
        errno = from.ok() ? to.error() : from.error();
        return -1;
    }
    return ::renameat2(from.dirFd(), from.path(), to.dirFd(), to.path(), flags);
}

}  // namespace hc::projfs
