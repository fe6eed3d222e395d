#include "hcs/protocol/paths.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/hresult.h"

namespace hc::hcs {

Status ensurePrivateDirectory(const std::string& path)
{
    if (path.empty() || path[0] != '/') return makeError(E_INVALIDARG, "not an absolute path: " + path);
    // Create parents first (they keep whatever mode the umask gives; only the leaf must be private).
    for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
        std::string parent = path.substr(0, pos);
        if (mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
            return makeError(hresultFromErrno(errno), "cannot create " + parent + ": " + std::strerror(errno));
        }
    }
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        return makeError(hresultFromErrno(errno), "cannot create " + path + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) {
        return makeError(hresultFromErrno(errno), "cannot stat " + path + ": " + std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) return makeError(E_ACCESSDENIED, path + " is not a directory");
    if (st.st_uid != geteuid()) return makeError(E_ACCESSDENIED, path + " belongs to another user");
    if ((st.st_mode & 0077) != 0 && chmod(path.c_str(), 0700) != 0) {
        return makeError(E_ACCESSDENIED, path + " is accessible by other users and cannot be made private");
    }
    return {};
}

Result<std::string> userRuntimeDirectory()
{
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    if (xdg && xdg[0] == '/' && access(xdg, W_OK | X_OK) == 0) {
        std::string dir = std::string(xdg) + "/hostcompute";
        if (ensurePrivateDirectory(dir)) return dir;
    }
    std::string dir = "/tmp/hostcompute-" + std::to_string(geteuid());
    if (auto st = ensurePrivateDirectory(dir); !st) return st.error();
    return dir;
}

std::string serviceSocketPath()
{
    const char* env = std::getenv("HCS_SOCKET");
    if (env && env[0]) return env;
    auto dir = userRuntimeDirectory();
    if (!dir) return "/tmp/hostcompute-" + std::to_string(geteuid()) + "/hcsd.sock";
    return *dir + "/hcsd.sock";
}

}  // namespace hc::hcs
