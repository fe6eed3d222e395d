// Test seam of the computecore client library: unit tests drive the C API with a fake ServiceChannel
// whose replies and events they control. Production code never calls this; without it the library
// connects with connectService() on first use.
#pragma once

#include <memory>

#include "hcs/client/service_channel.h"

namespace hc::hcs {

// Every later call that opens a connection uses `channel` (nullptr: back to connectService()). Handles
// already open keep the channel they were opened on.
void setServiceChannelForTesting(std::shared_ptr<ServiceChannel> channel);

}  // namespace hc::hcs
