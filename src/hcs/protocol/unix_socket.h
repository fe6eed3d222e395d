// The socket helpers moved to base/unix_socket.h (hcsd's VM backend uses them without the wire
// protocol); this header keeps the protocol-side spelling hc::hcs::connectUnixSocket working.
#pragma once

#include "base/unix_socket.h"

namespace hc::hcs {

using hc::connectUnixSocket;
using hc::listenUnixSocket;
using hc::writeAll;

}  // namespace hc::hcs
