// Unix stream sockets by path: the few calls hcsd, the client library and the QEMU backend share.
// Every descriptor is created close-on-exec.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"

namespace hc::hcs {

// Binds and listens at `path` (which must not exist), mode 0600.
Result<int> listenUnixSocket(const std::string& path, int backlog = 64);
// Connects to `path`. Fails with HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) / ECONNREFUSED mapping when nobody listens.
Result<int> connectUnixSocket(const std::string& path);
// Who is on the other end of a connected socket: for a client, the process that called listen().
struct PeerCredentials {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
};
Result<PeerCredentials> peerCredentials(int fd);
// E_ACCESSDENIED unless the peer runs as this process's effective user or as root; `what` names the
// socket in the message. Called before anything is sent to the peer.
Status requireTrustedPeer(int fd, const std::string& what);
// Writes all of `data` (blocking socket; EINTR-safe, never raises SIGPIPE).
Status writeAll(int fd, const std::string& data);

}  // namespace hc::hcs
