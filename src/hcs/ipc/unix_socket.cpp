#include "hcs/ipc/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/hresult.h"

namespace hc::hcs {

namespace {

Result<sockaddr_un> socketAddress(const std::string& path)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        return makeError(E_INVALIDARG, "socket path is empty or longer than 107 bytes: " + path);
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

}  // namespace

Result<int> listenUnixSocket(const std::string& path, int backlog)
{
    auto addr = socketAddress(path);
    if (!addr) return addr.error();
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return lastErrnoError("socket");
    // Private to the owner from the moment it exists: bind creates the node with ~umask.
    mode_t old = umask(0177);
    int rc = bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(sockaddr_un));
    umask(old);
    if (rc != 0 || listen(fd, backlog) != 0) {
        Error e = lastErrnoError("cannot listen on " + path);
        close(fd);
        return e;
    }
    return fd;
}

Result<int> connectUnixSocket(const std::string& path)
{
    auto addr = socketAddress(path);
    if (!addr) return addr.error();
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return lastErrnoError("socket");
    int rc;
    do {
        rc = connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(sockaddr_un));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        Error e = lastErrnoError("cannot connect to " + path);
        close(fd);
        return e;
    }
    return fd;
}

Result<PeerCredentials> peerCredentials(int fd)
{
    ucred credentials{};
    socklen_t size = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0) return lastErrnoError("SO_PEERCRED");
    return PeerCredentials{credentials.pid, credentials.uid, credentials.gid};
}

Status requireTrustedPeer(int fd, const std::string& what)
{
    auto peer = peerCredentials(fd);
    if (!peer) return peer.error();
    if (peer->uid == geteuid() || peer->uid == 0) return {};
    return makeError(E_ACCESSDENIED, what + " is served by uid " + std::to_string(peer->uid) + " (pid " +
                                         std::to_string(peer->pid) + "), not by this user (uid " +
                                         std::to_string(geteuid()) + ") or root: refusing to talk to it");
}

Status writeAll(int fd, const std::string& data)
{
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return lastErrnoError("write");
        }
        done += static_cast<size_t>(n);
    }
    return {};
}

}  // namespace hc::hcs
