// hcsd's system instance (docs/hcsd.md, "The system instance"): the fixed places it uses, the socket
// systemd hands it (socket activation), and the group that may connect. Shared by hcsd (which listens
// there) and the client library (which looks there before starting a per-user hcsd).
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"

namespace hc::hcs {

constexpr const char* kSystemSocketPath = "/run/hostcompute/hcsd.sock";
constexpr const char* kSystemStateDirectory = "/var/lib/hostcompute";
constexpr const char* kSystemGroup = "hostcompute";

// The system instance's socket: $HCS_SYSTEM_SOCKET when set (tests, unusual installs), else
// kSystemSocketPath.
std::string systemSocketPath();

// The listening socket systemd passed (LISTEN_PID is this process, LISTEN_FDS=1: descriptor 3), made
// close-on-exec, with the LISTEN_* variables removed so children do not see them. -1 when hcsd was not
// socket-activated; an error when it was but the descriptor is not one listening Unix stream socket.
Result<int> takeActivatedSocket();

// Before hcsd binds the system socket itself (no socket activation): its directory exists, is root's
// and 0755 (group members must reach the socket), and nobody else controls the path.
Status prepareSystemSocketDirectory(const std::string& socketPath);

// The socket becomes root:<kSystemGroup> 0660, like docker's and libvirt's. Fails naming the group when
// it does not exist.
Status shareSocketWithGroup(const std::string& socketPath);

// Whether this process may connect to the system socket at `path`: it is a socket and the caller has
// write permission on it (root, or a member of its group).
bool maySystemSocket(const std::string& path);

}  // namespace hc::hcs
