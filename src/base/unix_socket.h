// Unix stream sockets by path: the few calls hcsd, the client library and the QEMU backend share.
// Every descriptor is created close-on-exec.
#pragma once

#include <string>

#include "base/result.h"

namespace hc {

// Binds and listens at `path` (which must not exist), mode 0600.
Result<int> listenUnixSocket(const std::string& path, int backlog = 64);
// Connects to `path`. Fails with HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) / ECONNREFUSED mapping when nobody listens.
Result<int> connectUnixSocket(const std::string& path);
// Writes all of `data` (blocking socket; EINTR-safe, never raises SIGPIPE).
Status writeAll(int fd, const std::string& data);

}  // namespace hc
