#include "hcs/ipc/stale_socket.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/hresult.h"
#include "hcs/ipc/unix_socket.h"

namespace hc::hcs {

namespace {

Error occupied(const std::string& path, const std::string& what)
{
    return makeError(HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS), "\"" + path + "\" already exists and is " + what +
                                                                   "; only a stale socket of this user is replaced");
}

const char* kindOf(mode_t mode)
{
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    return "not a socket";
}

}  // namespace

Status claimSocketPath(const std::string& path)
{
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        int err = errno;
        return makeError(hresultFromErrno(err), "cannot inspect \"" + path + "\": " + std::strerror(err));
    }
    if (!S_ISSOCK(st.st_mode)) return occupied(path, kindOf(st.st_mode));
    if (st.st_uid != geteuid())
        return occupied(path, "a socket of another user (uid " + std::to_string(st.st_uid) + ")");
    if (auto fd = connectUnixSocket(path)) {
        close(*fd);
        return occupied(path, "a socket somebody listens on");
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
        int err = errno;
        return makeError(hresultFromErrno(err),
                         "cannot remove the stale socket \"" + path + "\": " + std::strerror(err));
    }
    return {};
}

}  // namespace hc::hcs
