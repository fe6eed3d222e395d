// What hcsd's core asks of process isolation: launch a Container document as a container behind the
// vm::Vm seam, find and re-adopt (or discard) the containers an earlier hcsd left, and read a
// container's statistics from its cgroups. One per Service; runs on its EventLoop.
//
// Per container (id "hcs-<runtime id>", also its cgroup "/hostcompute/<id>"):
//   <system dir>/bundle/config.json   the OCI bundle (oci_spec.h); init.pid next to it
//   <system dir>/agent.sock           the init's listening socket (hcsd connects; never in the container)
//   <state>/containers/rootfs/<id>    the overlay mount point (rootfs.h)
//   <state>/containers/runtime        the runtime's --root
// The OCI runtime is probed on first use (runtime.h) and its choice kept, failure included.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>

#include "base/event_loop.h"
#include "base/result.h"
#include "hcs/container/container_vm.h"
#include "hcs/container/runtime.h"
#include "hcs/schema/container.h"
#include "hcs/vm/vm.h"

namespace hc::hcs::container {

struct BackendOptions {
    std::string stateDirectory;             // hcsd's private state directory
    std::string agentBinary;                // the static hcs-guest run as every container's init
    std::string runtime;                    // "" = probe; else the runtime binary to use
    std::vector<std::string> privatePaths;  // never mapped into a container (hcsd's state, its socket)
};

// A container's resource use (Statistics), from its cgroups.
struct ContainerStats {
    uint64_t totalRuntime100ns = 0, userRuntime100ns = 0, kernelRuntime100ns = 0;
    uint64_t memoryUsageBytes = 0, memoryPeakBytes = 0, memoryPrivateBytes = 0;
    uint64_t oomKills = 0;
};

struct SystemIdentity {
    std::string id;         // the compute system's id (hostname default)
    std::string directory;  // its state directory
    std::string runtimeId;  // its runtime GUID
    std::string logPath;    // where the runtime's and the init's output go
};

class ContainerBackend {
public:
    ContainerBackend(EventLoop& loop, BackendOptions options);

    // Checks the document against the host, writes the bundle, mounts the root file system and runs
    // `runtime create`. Errors name the document's field.
    Result<std::unique_ptr<vm::Vm>> launch(const SystemIdentity& system, const schema::ContainerConfig& config,
                                           vm::VmCallbacks callbacks);

    // The container of a system an earlier hcsd created, if its init still runs.
    struct Found {
        pid_t pid = 0;
        bool started = false;
    };
    std::optional<Found> find(const std::string& runtimeId);
    Result<std::unique_ptr<vm::Vm>> adopt(const SystemIdentity& system, const Found& found, vm::VmCallbacks callbacks);
    // Kills whatever is left of the container and frees its cgroups, state and mount.
    void discard(const std::string& runtimeId);

    Result<ContainerStats> statistics(const std::string& runtimeId) const;
    // The runtime's facts for the service properties (probing it if needed).
    nlohmann::json properties();

    static std::string containerId(const std::string& runtimeId) { return "hcs-" + runtimeId; }

private:
    Result<const OciRuntime*> runtime();
    ContainerPaths pathsOf(const SystemIdentity& system) const;

    EventLoop& loop_;
    BackendOptions options_;
    std::optional<Result<OciRuntime>> runtime_;
};

}  // namespace hc::hcs::container
