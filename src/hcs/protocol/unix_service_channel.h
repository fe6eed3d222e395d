// The client side of the hcsd connection: ServiceChannel over a Unix socket (one reader thread),
// and the autostart of a private hcsd behind connectService(). Internal to hcs_protocol; the
// client library only sees service_channel.h.
#pragma once

#include <string>

#include "base/result.h"

namespace hc::hcs {

// Where an hcsd binary is: $HCSD_PATH, else next to the module that contains this code (the
// installed libcomputecore.so's ../bin, or the build tree's tools/hcsd), else "hcsd" from PATH.
std::string locateHcsd();

// Starts `hcsdPath --socket socketPath --idle-exit 300` as a daemon and waits (bounded) until it
// listens. Serialized across processes by an flock on <socketPath>.start.lock, so racing clients
// start one hcsd.
Status startPrivateHcsd(const std::string& hcsdPath, const std::string& socketPath);

}  // namespace hc::hcs
