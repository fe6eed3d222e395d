// HcsGrantVmAccess / HcsRevokeVmAccess on Linux: a POSIX access ACL entry (what `setfacl -m u:UID:rw`
// writes) for the user a compute system runs as, on one file or directory. Written as the
// "system.posix_acl_access" extended attribute directly (the kernel's format: a version, then
// tag/permission/id entries sorted by tag and id), so hcsd needs no libacl. The caller's rights decide:
// hcsd calls these under the caller's FileIdentity, so only the file's owner (or root) may change it.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"

namespace hc::hcs::service {

// Adds (or widens) the entry user:<uid>: rw- for a file, rwx for a directory, and the mask that lets it
// take effect. The file's other entries stay as they are.
Status grantUserAccess(const std::string& path, uid_t uid);

// Removes the entry user:<uid> (nothing to do when there is none). When no named entry is left, the ACL
// is removed and the group bits of the mode are the owning group's again.
Status revokeUserAccess(const std::string& path, uid_t uid);

}  // namespace hc::hcs::service
