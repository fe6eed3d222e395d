// A Container document as an OCI runtime bundle's config.json (runtime-spec 1.0). One pure function,
// so the mapping is unit-tested without a runtime; docs/containers.md has the table.
//
// What every container gets, whatever the document says: the OCI default capability set (the 14 of
// containerd's and Docker's default spec) and no more, the usual masked and read-only /proc and /sys
// paths, its own pid, ipc, uts and mount namespaces (and network, unless Networking.Namespace is
// "host"), and hcs-guest in container mode as its init (bind-mounted read-only from the host at
// kAgentPathInContainer, inside the container's /dev tmpfs so the writable layer is never touched).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "hcs/schema/container.h"

namespace hc::hcs::container {

constexpr const char* kAgentPathInContainer = "/dev/.hcs-init";

struct BundleSettings {
    std::string rootfs;       // the mounted overlay (rootfs.h)
    std::string agentBinary;  // the host's static hcs-guest
    std::string cgroupsPath;  // "/hostcompute/<container id>"
    std::string hostName;     // used when the document names none
    uint32_t hostCpus = 1;    // for Processor.Maximum (a share of the whole host)
};

// The capability names of the OCI default set.
extern const char* const kDefaultCapabilities[];

nlohmann::json buildOciSpec(const schema::ContainerConfig& config, const BundleSettings& settings);

}  // namespace hc::hcs::container
