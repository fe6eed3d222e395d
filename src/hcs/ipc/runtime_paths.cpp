#include "hcs/ipc/runtime_paths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

#include "base/hresult.h"

namespace hc::hcs {

namespace {

constexpr int kMaxSymlinkHops = 40;  // as the kernel's path walk (ELOOP)

bool trustedOwner(uid_t uid)
{
    return uid == 0 || uid == geteuid();
}

std::string octalMode(mode_t mode)
{
    std::ostringstream out;
    out << '0' << std::oct << (mode & 07777);
    return out.str();
}

Error untrusted(const std::string& path, const std::string& why)
{
    return makeError(E_ACCESSDENIED, "refusing " + path + ": " + why);
}

// One directory met on the walk: another user must not be able to change it or what is in it.
Status checkDirectory(const std::string& path, const struct stat& st)
{
    if (!S_ISDIR(st.st_mode)) return untrusted(path, "not a directory");
    if (!trustedOwner(st.st_uid)) return untrusted(path, "it belongs to uid " + std::to_string(st.st_uid));
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)
        return untrusted(path, "other users may write into it (mode " + octalMode(st.st_mode) + ", not sticky)");
    return {};
}

std::vector<std::string> components(const std::string& path)
{
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(path);
    while (std::getline(in, part, '/')) {
        if (!part.empty() && part != ".") parts.push_back(part);
    }
    return parts;
}

}  // namespace

RuntimeEnvironment RuntimeEnvironment::fromProcess()
{
    RuntimeEnvironment environment;
    if (const char* xdg = std::getenv("XDG_RUNTIME_DIR")) environment.xdgRuntimeDir = xdg;
    if (const char* socket = std::getenv("HCS_SOCKET")) environment.socketOverride = socket;
    return environment;
}

std::string parentDirectory(const std::string& path)
{
    size_t slash = path.rfind('/');
    return slash == std::string::npos || slash == 0 ? std::string("/") : path.substr(0, slash);
}

// Walks `path` from the root as the kernel would, checking every directory it passes and every
// symbolic link it follows (a link's owner decides where it points).
Status checkTrustedDirectory(const std::string& path)
{
    if (path.empty() || path[0] != '/') return makeError(E_INVALIDARG, "not an absolute path: " + path);
    std::vector<std::string> pending = components(path);
    std::reverse(pending.begin(), pending.end());  // back() is the next component
    std::string current;                           // "" is the root
    struct stat st {};
    if (lstat("/", &st) != 0) return errnoError(errno, "cannot stat /");
    if (Status ok = checkDirectory("/", st); !ok) return ok;
    int hops = 0;
    while (!pending.empty()) {
        std::string name = pending.back();
        pending.pop_back();
        if (name == "..") {
            current = current.empty() ? current : current.substr(0, current.rfind('/'));
            continue;
        }
        std::string next = current + "/" + name;
        if (lstat(next.c_str(), &st) != 0) {
            if (errno == ENOENT) return makeError(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND), next + " does not exist");
            return errnoError(errno, "cannot stat " + next);
        }
        if (S_ISLNK(st.st_mode)) {
            if (!trustedOwner(st.st_uid))
                return untrusted(next, "it is a symbolic link owned by uid " + std::to_string(st.st_uid));
            if (++hops > kMaxSymlinkHops) return untrusted(path, "too many symbolic links");
            char target[PATH_MAX];
            ssize_t n = readlink(next.c_str(), target, sizeof target - 1);
            if (n < 0) return errnoError(errno, "cannot read the link " + next);
            target[n] = '\0';
            std::vector<std::string> parts = components(target);
            for (auto it = parts.rbegin(); it != parts.rend(); ++it)
                pending.push_back(*it);
            if (target[0] == '/') current.clear();
            continue;
        }
        if (Status ok = checkDirectory(next, st); !ok) return ok;
        current = next;
    }
    return {};
}

Status ensurePrivateDirectory(const std::string& path)
{
    if (path.empty() || path[0] != '/') return makeError(E_INVALIDARG, "not an absolute path: " + path);
    // Missing parents are created 0755; existing ones must be trusted (checked below for all of them).
    for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
        std::string parent = path.substr(0, pos);
        if (mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) return errnoError(errno, "cannot create " + parent);
    }
    if (Status parent = checkTrustedDirectory(parentDirectory(path)); !parent) return parent;
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return errnoError(errno, "cannot create " + path);
    // Opened without following a link, then judged and tightened through that descriptor: what is
    // checked is what is used.
    int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP || errno == ENOTDIR) return untrusted(path, "it is not a directory (a symbolic link?)");
        return errnoError(errno, "cannot open " + path);
    }
    struct stat st {};
    Status result;
    if (fstat(fd, &st) != 0) {
        result = errnoError(errno, "cannot stat " + path);
    } else if (st.st_uid != geteuid()) {
        result = untrusted(path, "it belongs to uid " + std::to_string(st.st_uid) + ", not to this user (uid " +
                                     std::to_string(geteuid()) + ")");
    } else if ((st.st_mode & 0077) != 0 && fchmod(fd, 0700) != 0) {
        result = untrusted(path, "it is accessible by other users and cannot be made private");
    }
    close(fd);
    return result;
}

Status prepareSocketDirectory(const std::string& socketPath)
{
    if (socketPath.empty() || socketPath[0] != '/')
        return makeError(E_INVALIDARG, "the socket path must be absolute, not \"" + socketPath + "\"");
    const std::string dir = parentDirectory(socketPath);
    struct stat st {};
    if (lstat(dir.c_str(), &st) != 0 && errno == ENOENT) return ensurePrivateDirectory(dir);
    return checkTrustedDirectory(dir);
}

Result<std::string> userRuntimeDirectory(const RuntimeEnvironment& environment)
{
    const std::string& xdg = environment.xdgRuntimeDir;
    if (!xdg.empty() && xdg[0] == '/' && access(xdg.c_str(), W_OK | X_OK) == 0 && checkTrustedDirectory(xdg)) {
        std::string dir = xdg + "/hostcompute";
        if (ensurePrivateDirectory(dir)) return dir;
    }
    std::string dir = environment.tmpRoot + "/hostcompute-" + std::to_string(geteuid());
    if (Status st = ensurePrivateDirectory(dir); !st) {
        return makeError(st.hr(), st.error().message +
                                      " (remove it, or set XDG_RUNTIME_DIR or HCS_SOCKET to a "
                                      "directory of your own)");
    }
    return dir;
}

Result<std::string> serviceSocketPath(const RuntimeEnvironment& environment)
{
    const std::string& socket = environment.socketOverride;
    if (socket.empty()) {
        auto dir = userRuntimeDirectory(environment);
        if (!dir) return dir.error();
        return *dir + "/hcsd.sock";
    }
    if (socket[0] != '/') return makeError(E_INVALIDARG, "HCS_SOCKET must be an absolute path, not " + socket);
    // A directory that does not exist yet is created private by whoever starts hcsd there.
    Status trusted = checkTrustedDirectory(parentDirectory(socket));
    if (!trusted && trusted.hr() != HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND))
        return makeError(trusted.hr(), "HCS_SOCKET=" + socket + ": " + trusted.error().message);
    return socket;
}

}  // namespace hc::hcs
