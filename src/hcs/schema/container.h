// The typed `Container` member of a schema 2.x ComputeSystem document (hcsshim's schema2.Container),
// read field by field like the VirtualMachine (compute_system.h): wrong types and values name their
// field (HCS_E_INVALID_JSON), fields of the published schema this backend does not implement become
// Refusals (E_NOTIMPL at Create). docs/containers.md maps every field onto the OCI bundle.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hcs/schema/field_rules.h"
#include "hcs/schema/json_reader.h"

namespace hc::hcs::schema {

struct ContainerLayer {
    std::string id;    // a GUID on Windows; informational here
    std::string path;  // an absolute host directory: the layer's files
};

struct MappedDirectory {
    std::string hostPath;       // an absolute host directory
    std::string containerPath;  // an absolute path inside the container
    bool readOnly = false;
};

enum class ContainerNetwork {
    Private,  // a new network namespace with only loopback (the default)
    Host,     // the host's network namespace (Networking.Namespace "host", hostcompute's value)
};

struct ContainerConfig {
    // Storage.Layers: read-only, Layers[0] the top-most (nearest the scratch), the last the base.
    std::vector<ContainerLayer> layers;
    std::string scratchPath;  // Storage.Path: the writable layer's directory (upper/ and work/ inside)
    std::vector<MappedDirectory> mappedDirectories;
    std::optional<uint64_t> memorySizeInMB;    // Memory.SizeInMB
    std::optional<uint32_t> processorCount;    // Processor.Count (CPUs' worth of time)
    std::optional<uint32_t> processorMaximum;  // Processor.Maximum, out of 10000 of the whole host
    std::optional<uint32_t> processorWeight;   // Processor.Weight, 1..10000
    std::string hostName;                      // HostName or GuestOs.HostName; "" = the container id
    ContainerNetwork network = ContainerNetwork::Private;
};

// Reads the "Container" object; unsupported features are appended to `refusals`.
ContainerConfig readContainer(ObjectReader reader, std::vector<Refusal>& refusals);

}  // namespace hc::hcs::schema
