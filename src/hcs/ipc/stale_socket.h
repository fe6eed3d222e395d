// Paths hcsd listens at are chosen by others (a ComPort's absolute NamedPipe in a document, the
// --socket option), so hcsd must never destroy what is there: only a stale socket — a socket, owned
// by this user, that nobody listens on (a VM or an hcsd that is gone) — may be replaced. Anything
// else (a regular file, a directory, a symbolic link, a live socket, another user's socket) is refused.
#pragma once

#include <string>

#include "base/result.h"

namespace hc::hcs {

// OK when `path` is free (absent, or was a stale socket and has been removed); otherwise
// HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS) saying what is there.
Status claimSocketPath(const std::string& path);

}  // namespace hc::hcs
