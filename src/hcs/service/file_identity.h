// hcsd's system instance runs as root for users who are not: the host files a document names (disk
// images, shared directories, kernels) must be checked with the rights of the system's owner, not
// root's. FileIdentity switches the CALLING THREAD's file-system identity (fsuid, fsgid and
// supplementary groups, by raw system calls, which are per thread) to a user's for its lifetime and
// restores hcsd's own in its destructor. With a non-zero fsuid the kernel also drops root's file
// capabilities (CAP_DAC_OVERRIDE, CAP_FOWNER...), so opens, faccessat(AT_EACCESS) and setxattr are
// judged exactly as for that user. Lifecycle: a stack object on the event-loop thread around one
// synchronous check; nothing else runs on that thread meanwhile.
#pragma once

#include <sys/types.h>

#include <vector>

#include "base/result.h"

namespace hc::hcs::service {

class FileIdentity {
public:
    // Becomes `uid` (with its primary group and the groups of its passwd entry). Nothing changes when
    // `uid` is hcsd's own effective user or root; check status() before relying on the switch.
    explicit FileIdentity(uid_t uid);
    ~FileIdentity();
    FileIdentity(const FileIdentity&) = delete;
    FileIdentity& operator=(const FileIdentity&) = delete;

    // E_ACCESSDENIED when the user is unknown or hcsd may not switch (it is not root).
    const Status& status() const { return status_; }

private:
    Status status_;
    bool switched_ = false;
    uid_t savedUid_ = 0;
    gid_t savedGid_ = 0;
    std::vector<gid_t> savedGroups_;
};

}  // namespace hc::hcs::service
