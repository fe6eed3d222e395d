#include "hcs/service/file_acl.h"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/hresult.h"

namespace hc::hcs::service {

namespace {

// The kernel's POSIX ACL xattr layout (include/uapi/linux/posix_acl_xattr.h).
constexpr const char* kAccessAclName = "system.posix_acl_access";
constexpr uint32_t kAclVersion = 2;
constexpr uint16_t kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kGroup = 0x08, kMask = 0x10, kOther = 0x20;
constexpr uint32_t kUndefinedId = 0xFFFFFFFF;

struct Entry {
    uint16_t tag;
    uint16_t perm;
    uint32_t id;
};

struct Acl {
    std::vector<Entry> entries;

    Entry* find(uint16_t tag, uint32_t id = kUndefinedId)
    {
        for (auto& e : entries) {
            if (e.tag == tag && (id == kUndefinedId || e.id == id)) return &e;
        }
        return nullptr;
    }
    bool hasNamed() const
    {
        return std::any_of(entries.begin(), entries.end(),
                           [](const Entry& e) { return e.tag == kUser || e.tag == kGroup; });
    }
    // The mask is the union of the group class (owning group and named entries); sorted as the kernel wants.
    void normalise()
    {
        std::erase_if(entries, [](const Entry& e) { return e.tag == kMask; });
        if (hasNamed()) {
            uint16_t mask = 0;
            for (const auto& e : entries) {
                if (e.tag == kUser || e.tag == kGroup || e.tag == kGroupObj) mask |= e.perm;
            }
            entries.push_back({kMask, mask, kUndefinedId});
        }
        std::sort(entries.begin(), entries.end(),
                  [](const Entry& a, const Entry& b) { return a.tag != b.tag ? a.tag < b.tag : a.id < b.id; });
    }
};

// Little-endian on the wire, like the kernel's le16/le32 fields (this project builds for x86-64).
Result<Acl> readAcl(const std::string& path, const struct stat& st)
{
    Acl acl;
    ssize_t size = getxattr(path.c_str(), kAccessAclName, nullptr, 0);
    if (size < 0 && errno == EOPNOTSUPP)
        return makeError(E_NOTIMPL, "the file system of " + path + " has no POSIX ACLs");
    if (size < 0 && errno != ENODATA) return errnoError(errno, "cannot read the ACL of " + path);
    if (size < 0) {
        // No ACL yet: the one the mode bits stand for.
        acl.entries = {{kUserObj, static_cast<uint16_t>((st.st_mode >> 6) & 7), kUndefinedId},
                       {kGroupObj, static_cast<uint16_t>((st.st_mode >> 3) & 7), kUndefinedId},
                       {kOther, static_cast<uint16_t>(st.st_mode & 7), kUndefinedId}};
        return acl;
    }
    std::vector<char> raw(static_cast<size_t>(size));
    size = getxattr(path.c_str(), kAccessAclName, raw.data(), raw.size());
    if (size < 0) return errnoError(errno, "cannot read the ACL of " + path);
    uint32_t version = 0;
    if (size < 4 || (size - 4) % 8 != 0 || (std::memcpy(&version, raw.data(), 4), version != kAclVersion))
        return makeError(E_FAIL, "the ACL of " + path + " is not in the format this version knows");
    for (ssize_t at = 4; at < size; at += 8) {
        Entry e{};
        std::memcpy(&e.tag, raw.data() + at, 2);
        std::memcpy(&e.perm, raw.data() + at + 2, 2);
        std::memcpy(&e.id, raw.data() + at + 4, 4);
        acl.entries.push_back(e);
    }
    return acl;
}

Status writeAcl(const std::string& path, const Acl& acl)
{
    std::vector<char> raw(4 + 8 * acl.entries.size());
    std::memcpy(raw.data(), &kAclVersion, 4);
    size_t at = 4;
    for (const auto& e : acl.entries) {
        std::memcpy(raw.data() + at, &e.tag, 2);
        std::memcpy(raw.data() + at + 2, &e.perm, 2);
        std::memcpy(raw.data() + at + 4, &e.id, 4);
        at += 8;
    }
    if (setxattr(path.c_str(), kAccessAclName, raw.data(), raw.size(), 0) != 0) {
        if (errno == EOPNOTSUPP) return makeError(E_NOTIMPL, "the file system of " + path + " has no POSIX ACLs");
        return errnoError(errno, "cannot change the ACL of " + path);
    }
    return {};
}

Result<struct stat> statFile(const std::string& path)
{
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return errnoError(errno, "cannot reach " + path);
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISBLK(st.st_mode))
        return makeError(E_INVALIDARG, path + " is not a file, a directory or a block device");
    return st;
}

}  // namespace

Status grantUserAccess(const std::string& path, uid_t uid)
{
    auto st = statFile(path);
    if (!st) return st.error();
    auto acl = readAcl(path, *st);
    if (!acl) return acl.error();
    const uint16_t perm = S_ISDIR(st->st_mode) ? 7 : 6;
    if (Entry* e = acl->find(kUser, uid)) {
        e->perm |= perm;
    } else {
        acl->entries.push_back({kUser, perm, static_cast<uint32_t>(uid)});
    }
    acl->normalise();
    return writeAcl(path, *acl);
}

Status revokeUserAccess(const std::string& path, uid_t uid)
{
    auto st = statFile(path);
    if (!st) return st.error();
    auto acl = readAcl(path, *st);
    if (!acl) return acl.error();
    if (!acl->find(kUser, uid)) return {};
    std::erase_if(acl->entries, [uid](const Entry& e) { return e.tag == kUser && e.id == uid; });
    if (acl->hasNamed()) {
        acl->normalise();
        return writeAcl(path, *acl);
    }
    // Only the owner, owning group and others are left: the mode bits say it all.
    const Entry* owner = acl->find(kUserObj);
    const Entry* group = acl->find(kGroupObj);
    const Entry* other = acl->find(kOther);
    if (!owner || !group || !other)
        return makeError(E_FAIL, "the ACL of " + path + " lacks its owner, group or other entry");
    mode_t mode = (st->st_mode & ~static_cast<mode_t>(0777)) | ((owner->perm & 7) << 6) | ((group->perm & 7) << 3) |
                  (other->perm & 7);
    if (removexattr(path.c_str(), kAccessAclName) != 0 && errno != ENODATA)
        return errnoError(errno, "cannot remove the ACL of " + path);
    if (chmod(path.c_str(), mode & 07777) != 0) return errnoError(errno, "cannot restore the mode of " + path);
    return {};
}

}  // namespace hc::hcs::service
