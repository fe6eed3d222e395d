#include "hcs/ipc/system_instance.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/hresult.h"
#include "hcs/ipc/runtime_paths.h"

namespace hc::hcs {

namespace {

constexpr int kFirstActivatedFd = 3;  // SD_LISTEN_FDS_START

int socketOption(int fd, int option)
{
    int value = 0;
    socklen_t size = sizeof value;
    return getsockopt(fd, SOL_SOCKET, option, &value, &size) == 0 ? value : -1;
}

}  // namespace

std::string systemSocketPath()
{
    const char* override = std::getenv("HCS_SYSTEM_SOCKET");
    return override && override[0] ? override : kSystemSocketPath;
}

Result<int> takeActivatedSocket()
{
    const char* pid = std::getenv("LISTEN_PID");
    const char* fds = std::getenv("LISTEN_FDS");
    if (!pid || !fds) return -1;
    bool forUs = std::strtol(pid, nullptr, 10) == static_cast<long>(getpid());
    std::string count = fds;
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    if (!forUs) return -1;  // meant for a process that exec'd us: not ours to take
    if (count != "1") {
        return makeError(E_INVALIDARG, "socket activation passed LISTEN_FDS=" + count +
                                           " descriptors; hcsd takes exactly one listening socket");
    }
    const int fd = kFirstActivatedFd;
    if (socketOption(fd, SO_DOMAIN) != AF_UNIX || socketOption(fd, SO_TYPE) != SOCK_STREAM ||
        socketOption(fd, SO_ACCEPTCONN) != 1) {
        return makeError(E_INVALIDARG,
                         "socket activation: descriptor 3 is not a listening Unix stream socket (ListenStream=)");
    }
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return errnoError(errno, "socket activation: FD_CLOEXEC");
    return fd;
}

Status prepareSystemSocketDirectory(const std::string& socketPath)
{
    if (socketPath.empty() || socketPath[0] != '/')
        return makeError(E_INVALIDARG, "the socket path must be absolute, not \"" + socketPath + "\"");
    const std::string dir = parentDirectory(socketPath);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return errnoError(errno, "cannot create " + dir);
    if (Status trusted = checkTrustedDirectory(dir); !trusted) return trusted;
    struct stat st {};
    if (lstat(dir.c_str(), &st) != 0) return errnoError(errno, "cannot stat " + dir);
    if ((st.st_mode & 0755) != 0755 && chmod(dir.c_str(), (st.st_mode & 07777) | 0755) != 0)
        return errnoError(errno, "cannot make " + dir + " reachable (0755)");
    return {};
}

Status shareSocketWithGroup(const std::string& socketPath)
{
    group entry{};
    group* found = nullptr;
    std::vector<char> buffer(16384);
    if (getgrnam_r(kSystemGroup, &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
        return makeError(E_INVALIDARG, std::string("the group ") + kSystemGroup +
                                           " does not exist (groupadd --system " + kSystemGroup + ")");
    }
    if (chown(socketPath.c_str(), 0, entry.gr_gid) != 0 || chmod(socketPath.c_str(), 0660) != 0)
        return errnoError(errno, "cannot give " + socketPath + " to the group " + kSystemGroup);
    return {};
}

bool maySystemSocket(const std::string& path)
{
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
    return faccessat(AT_FDCWD, path.c_str(), W_OK, AT_EACCESS) == 0;
}

}  // namespace hc::hcs
