#include "projfs/fuse/mount_table.h"

#include "base/hresult.h"
#include "base/log.h"

#include <limits.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace hc::projfs {
namespace {

constexpr const char* kProjfsType = "fuse.projfs";  // "fuse." + the subtype ProjectedFuse::mount sets

// mountinfo writes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& field)
{
    std::string out;
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size()) {
            const std::string digits = field.substr(i + 1, 3);
            if (digits.size() == 3 && digits.find_first_not_of("01234567") == std::string::npos) {
                out.push_back(static_cast<char>(std::strtol(digits.c_str(), nullptr, 8)));
                i += 3;
                continue;
            }
        }
        out.push_back(field[i]);
    }
    return out;
}

std::string normalAbsolute(const std::string& path)
{
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    std::string out = (ec ? std::filesystem::path(path) : absolute).lexically_normal().string();
    while (out.size() > 1 && out.back() == '/')
        out.pop_back();
    return out;
}

// The paths `path` may stand for: itself, and while its last component is a symbolic link in a
// reachable directory, what the link names (a root given through a link to a dead mount).
std::vector<std::string> candidatePaths(const std::string& path)
{
    std::vector<std::string> candidates{normalAbsolute(path)};
    for (int hops = 0; hops < 8; ++hops) {
        std::filesystem::path current(candidates.back());
        char parent[PATH_MAX];
        if (::realpath(current.parent_path().c_str(), parent) == nullptr) break;
        std::filesystem::path resolved = std::filesystem::path(parent) / current.filename();
        struct stat st {};
        if (::lstat(resolved.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
            if (resolved.string() != candidates.back()) candidates.push_back(resolved.string());
            break;
        }
        char target[PATH_MAX];
        ssize_t n = ::readlink(resolved.c_str(), target, sizeof target - 1);
        if (n <= 0) break;
        std::filesystem::path next(std::string(target, static_cast<size_t>(n)));
        if (next.is_relative()) next = std::filesystem::path(parent) / next;
        candidates.push_back(normalAbsolute(next.string()));
    }
    return candidates;
}

Status detach(const std::string& mountPoint)
{
    if (::umount2(mountPoint.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) return {};
    const int umountErr = errno;
    if (umountErr != EPERM) return errnoError(umountErr, "detach the dead projfs mount '" + mountPoint + "'");
    // Without CAP_SYS_ADMIN, the setuid helper that made the mount takes it down (it checks ownership).
    const char* argv[] = {"fusermount3", "-u", "-z", mountPoint.c_str(), nullptr};
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, argv[0], nullptr, nullptr, const_cast<char* const*>(argv), environ);
    if (rc != 0) return errnoError(rc, "run fusermount3 to detach the dead projfs mount '" + mountPoint + "'");
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return makeError(HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED),
                         "fusermount3 -u -z '" + mountPoint + "' failed (exit status " +
                             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
    }
    return {};
}

}  // namespace

bool pathIsOrIsBelow(const std::string& path, const std::string& ancestor)
{
    if (ancestor == "/") return true;
    return path.compare(0, ancestor.size(), ancestor) == 0 &&
           (path.size() == ancestor.size() || path[ancestor.size()] == '/');
}

std::vector<ProjfsMount> projfsMounts()
{
    std::vector<ProjfsMount> mounts;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        // id parent major:minor root mount-point options [optional fields...] - type source super-options
        std::istringstream fields(line);
        std::string field, mountPoint;
        for (int i = 0; i < 5 && fields >> field; ++i)
            if (i == 4) mountPoint = field;
        while (fields >> field && field != "-") {
        }
        std::string type;
        if (!(fields >> type) || type != kProjfsType) continue;
        ProjfsMount mount;
        mount.mountPoint = unescape(mountPoint);
        // statfs always reaches the file system's process (stat may be answered from the kernel's cache).
        struct statfs st {};
        mount.dead = ::statfs(mount.mountPoint.c_str(), &st) != 0 && errno == ENOTCONN;
        mounts.push_back(std::move(mount));
    }
    return mounts;
}

Result<int> detachDeadMountsCovering(const std::string& path)
{
    const std::vector<std::string> candidates = candidatePaths(path);
    int detached = 0;
    for (const ProjfsMount& mount : projfsMounts()) {
        if (!mount.dead) continue;
        for (const std::string& candidate : candidates) {
            if (!pathIsOrIsBelow(candidate, mount.mountPoint)) continue;
            if (auto status = detach(mount.mountPoint); !status) return status.error();
            HC_LOG(Info, "projfs", "detached the dead projfs mount on '" + mount.mountPoint + "' (its provider died)");
            ++detached;
            break;
        }
    }
    return detached;
}

}  // namespace hc::projfs
