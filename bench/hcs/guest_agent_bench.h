// hcs_bench agent: processes through hcs-guest (HcsCreateProcess over hcsd) next to QEMU's own guest
// agent, qemu-ga from Debian, driven with guest-exec + guest-exec-status the way its users do.
#pragma once

#include "support/private_hcsd.h"

namespace hcs_bench {

// Boots the agent test guest (plus a qemu-ga overlay) through hcsd and measures, `rounds` times each:
// create -> exit of /bin/true, a 64 MiB stdout stream, the agents' RSS in the guest and hcsd's cost per
// live process; then the same guest launched directly with qemu-ga's port for the reference.
int benchGuestAgent(hcs_test::PrivateHcsd& hcsd, int rounds);

// Boots the agent test guest alone and streams 64 MiB of stdout `rounds` times, printing for each run
// the throughput and where the CPU time went: QEMU's threads, hcsd's, the benchmark's (from /proc),
// and the guest's own /proc/stat and the agent's CPU time (read in the guest around the stream).
int profileGuestAgent(hcs_test::PrivateHcsd& hcsd, int rounds);

}  // namespace hcs_bench
