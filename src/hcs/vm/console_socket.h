// The host path a ComPort's socket is created at is the client's choice (an absolute NamedPipe),
// so hcsd must never destroy what is there: only a stale socket — a socket, owned by hcsd's user,
// that nobody listens on (a VM that is gone) — may be replaced. Anything else (a regular file, a
// directory, a symbolic link, a live socket, another user's socket) refuses the Create.
#pragma once

#include <string>

#include "base/result.h"

namespace hc::hcs::vm {

// OK when `path` is free (absent, or was a stale socket and has been removed); otherwise
// HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS) saying what is there.
Status claimSocketPath(const std::string& path);

}  // namespace hc::hcs::vm
