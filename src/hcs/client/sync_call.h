// Synchronous requests (HcsOpenComputeSystem, HcsWaitForComputeSystemExit, HcsGetServiceProperties):
// send one request and block the calling thread until its reply, with a bound so a hung service
// cannot hang the caller forever. Safe on the dispatch thread: replies arrive on the reader thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "base/result.h"
#include "hcs/client/service_channel.h"

namespace hc::hcs {

// How long a synchronous call waits for hcsd beyond any time the call itself asks hcsd to wait.
inline constexpr std::chrono::seconds kServiceReplyGrace{60};

// Sends `method` with `params` and waits for the reply, at most `limit` (nullopt: no limit). On timeout the request
// is cancelled and the result is HCS_E_CONNECTION_TIMEOUT.
Result<ServiceReply> callAndWait(ServiceChannel& channel, protocol::Method method, protocol::Params params,
                                 std::optional<std::chrono::milliseconds> limit);

}  // namespace hc::hcs
