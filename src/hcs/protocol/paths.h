// Where hcsd listens and keeps its state, shared by hcsd and the client library so both agree.
#pragma once

#include <string>

#include "base/result.h"

namespace hc::hcs {

// $HCS_SOCKET, else <runtime dir>/hcsd.sock.
std::string serviceSocketPath();
// $XDG_RUNTIME_DIR/hostcompute when set and usable, else /tmp/hostcompute-<uid>. Created 0700.
Result<std::string> userRuntimeDirectory();
// Creates `path` (and missing parents) with mode 0700; fails if it exists but belongs to another user
// or is accessible by others (a private directory must stay private).
Status ensurePrivateDirectory(const std::string& path);

}  // namespace hc::hcs
