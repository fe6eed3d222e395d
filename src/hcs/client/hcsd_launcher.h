// Starting a private hcsd for the client library when nothing listens at the socket: where the binary
// is, and a start that hands hcsd nothing of the caller's (no descriptor but /dev/null as stdio) and
// says why it failed. Internal to the client's connection (unix_service_channel.cpp).
#pragma once

#include <string>

#include "base/result.h"

namespace hc::hcs {

// Where an hcsd binary is: $HCSD_PATH, else next to the module that contains this code (the
// installed libcomputecore.so's ../bin, or the build tree's tools/hcsd), else "hcsd" from PATH.
std::string locateHcsd();

// Starts `hcsdPath --socket socketPath --idle-exit 300` as a daemon and waits (bounded) until it
// listens. Serialized across processes by an flock on <socketPath>.start.lock, so racing clients
// start one hcsd. The socket's directory must already be trusted (prepareSocketDirectory). Failures
// are HCS_E_SERVICE_NOT_AVAILABLE with the reason: HCSD_PATH missing or not executable, the exit
// status or signal of hcsd, a timeout.
Status startPrivateHcsd(const std::string& hcsdPath, const std::string& socketPath);

}  // namespace hc::hcs
