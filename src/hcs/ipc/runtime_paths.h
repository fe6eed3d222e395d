// Where hcsd listens, shared by hcsd, the client library and the QEMU backend so they agree — and the
// checks that no other local user controls any of it. A directory is trusted when every component of
// its path is a real directory (or a symbolic link owned by root or this user), owned by root or this
// user, and writable by nobody else — unless it is sticky, like /tmp, where others cannot rename or
// remove what this user created.
#pragma once

#include <string>

#include "base/result.h"

namespace hc::hcs {

// Where the default paths come from; tests substitute their own roots.
struct RuntimeEnvironment {
    std::string xdgRuntimeDir;     // $XDG_RUNTIME_DIR ("" when unset)
    std::string tmpRoot = "/tmp";  // the shared fallback root
    std::string socketOverride;    // $HCS_SOCKET ("" when unset)

    static RuntimeEnvironment fromProcess();
};

// $HCS_SOCKET, else <userRuntimeDirectory()>/hcsd.sock. Fails (E_ACCESSDENIED, naming the path and
// its owner) when the socket's directory is one another user controls.
Result<std::string> serviceSocketPath(const RuntimeEnvironment& environment = RuntimeEnvironment::fromProcess());

// $XDG_RUNTIME_DIR/hostcompute when XDG_RUNTIME_DIR is set and trusted, else <tmpRoot>/hostcompute-<euid>.
// Created 0700 when missing; an existing one must be a private directory of this user (never
// followed through a symbolic link, never taken over from another user).
Result<std::string> userRuntimeDirectory(const RuntimeEnvironment& environment = RuntimeEnvironment::fromProcess());

// Creates `path` (and missing parents, 0755) with mode 0700, or accepts it when it is already a directory
// owned by this user (tightening it to 0700). Fails with E_ACCESSDENIED when any component is not
// trusted, when `path` is a symbolic link, or when it belongs to another user.
Status ensurePrivateDirectory(const std::string& path);

// Fails with E_ACCESSDENIED naming the first component of `path` that another user controls (owner,
// write permission, or a symbolic link they own); HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND) when a
// component is missing.
Status checkTrustedDirectory(const std::string& path);

// Before hcsd binds `socketPath`: creates its directory private when missing, else requires it trusted.
Status prepareSocketDirectory(const std::string& socketPath);

// The directory part of a socket path ("/" for "/x").
std::string parentDirectory(const std::string& path);

}  // namespace hc::hcs
