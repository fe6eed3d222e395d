#include "hcs/service/file_identity.h"

#include <grp.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "base/hresult.h"

namespace hc::hcs::service {

namespace {

// glibc's setgroups() changes every thread (it broadcasts); the raw call changes this one only.
bool setThreadGroups(const std::vector<gid_t>& groups)
{
    return syscall(SYS_setgroups, groups.size(), groups.data()) == 0;
}

// setfsuid/setfsgid report the previous value; success shows as the new one reading back.
bool setFsUid(uid_t uid)
{
    syscall(SYS_setfsuid, uid);
    return static_cast<uid_t>(syscall(SYS_setfsuid, static_cast<uid_t>(-1))) == uid;
}

bool setFsGid(gid_t gid)
{
    syscall(SYS_setfsgid, gid);
    return static_cast<gid_t>(syscall(SYS_setfsgid, static_cast<gid_t>(-1))) == gid;
}

}  // namespace

FileIdentity::FileIdentity(uid_t uid)
{
    if (uid == geteuid() || uid == 0) return;
    if (geteuid() != 0) {
        status_ = makeError(E_ACCESSDENIED, "hcsd (uid " + std::to_string(geteuid()) +
                                                ") cannot check files with the rights of uid " + std::to_string(uid));
        return;
    }
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
        status_ = makeError(E_ACCESSDENIED, "uid " + std::to_string(uid) + " has no passwd entry");
        return;
    }
    int count = 64;
    std::vector<gid_t> groups(count);
    while (getgrouplist(entry.pw_name, entry.pw_gid, groups.data(), &count) < 0)
        groups.resize(static_cast<size_t>(count));
    groups.resize(static_cast<size_t>(count));

    savedUid_ = geteuid();
    savedGid_ = getegid();
    int savedCount = getgroups(0, nullptr);
    savedGroups_.resize(savedCount > 0 ? static_cast<size_t>(savedCount) : 0);
    if (savedCount > 0) getgroups(savedCount, savedGroups_.data());

    switched_ = true;
    if (!setThreadGroups(groups) || !setFsGid(entry.pw_gid) || !setFsUid(uid)) {
        status_ = makeError(E_ACCESSDENIED, "cannot take the file identity of uid " + std::to_string(uid));
    }
}

FileIdentity::~FileIdentity()
{
    if (!switched_) return;
    setFsUid(savedUid_);
    setFsGid(savedGid_);
    setThreadGroups(savedGroups_);
}

}  // namespace hc::hcs::service
