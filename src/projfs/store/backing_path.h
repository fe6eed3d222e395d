// BackingPath: an item under the virtualization root named for the *at() system calls. The kernel takes
// at most PATH_MAX - 1 bytes per path argument, but items may lie deeper below the root than that (a
// program's working directory can be anywhere, so ext4 lets it build trees of any depth). A root-relative
// path that fits is passed as it is, the root descriptor with it: no extra system call, no copy. A longer
// one is reached by opening the directories on its way (O_PATH) in steps that fit, from the root; the
// rest is named relative to the last one, whose descriptor this object holds until it is destroyed.
// No descriptor is cached between requests: at most one per object is open, so nothing grows with the
// number of deep directories (docs/projfs-design.md, "Paths deeper than PATH_MAX").
#pragma once

#include "base/unique_fd.h"

#include <cerrno>
#include <string>

namespace hc::projfs {

class BackingPath {
public:
    // Names `rel` ("" = the root) below `rootFd`; `rel` must outlive this object. A directory on the way
    // that cannot be opened is remembered as error() (an errno value), and the calls then fail with it.
    BackingPath(int rootFd, const std::string& rel);
    BackingPath(const BackingPath&) = delete;
    BackingPath& operator=(const BackingPath&) = delete;

    bool ok() const { return error_ == 0; }
    int error() const { return error_; }
    // The errno of a call just made through this path: error() if the path could not be reached, else errno.
    int failure() const { return error_ != 0 ? error_ : errno; }
    // The directory descriptor and the path relative to it ("." for the root itself).
    int dirFd() const { return dirFd_; }
    const char* path() const { return path_; }

private:
    int dirFd_;
    const char* path_;
    UniqueFd held_;
    int error_ = 0;
};

// unlinkat and renameat2 of root-relative paths of any depth; like the calls: 0, or -1 and errno.
int unlinkBelow(int rootFd, const std::string& rel, int flags);
int renameBelow(int rootFd, const std::string& fromRel, const std::string& toRel, unsigned flags);

// The longest path the kernel takes in one argument (PATH_MAX includes the terminating NUL).
inline constexpr size_t kMaxPathArgument = 4095;

}  // namespace hc::projfs
