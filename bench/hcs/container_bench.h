// hcs_bench container: process-isolated containers (docs/containers.md) next to runc driven by hand.
#pragma once

#include "support/private_hcsd.h"

namespace hcs_bench {

// `rounds` times: Create -> Start -> a process (/bin/true) -> its exit through hcsd, next to `runc run`
// of the same bundle (same layer and overlay, mounted by hand) in the same run; then `idle` idle
// containers: hcsd's RSS growth and each container's memory (its cgroup) per container.
int benchContainers(hcs_test::PrivateHcsd& hcsd, int rounds, int idle);

}  // namespace hcs_bench
