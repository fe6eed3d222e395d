// Typed HCS schema 2.x ComputeSystem documents (the configuration of HcsCreateComputeSystem), limited
// to what the QEMU backend implements. parseComputeSystem() validates a document completely: a wrong
// type names the field by its path (HCS_E_INVALID_JSON); a known feature that is not implemented
// names the feature (E_NOTIMPL); nothing is silently ignored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace hc::hcs::schema {

struct SchemaVersion {
    uint32_t major = 2;
    uint32_t minor = 1;
};

// Schema versions this implementation accepts (Major 2, Minor kMinSchemaMinor..kMaxSchemaMinor).
constexpr uint32_t kSchemaMajor = 2;
constexpr uint32_t kMinSchemaMinor = 0;
constexpr uint32_t kMaxSchemaMinor = 7;

struct UefiSettings {
    std::string console = "Default";  // Default | Disabled | ComPort1 | ComPort2
    bool stopOnBootFailure = false;
};

struct LinuxKernelDirect {
    std::string kernelFilePath;
    std::string initRdPath;  // empty = none
    std::string kernelCmdLine;
};

struct ComPort {
    std::string namedPipe;  // "\\.\pipe\name" or an absolute Unix socket path
};

// GuestConnection: present = the VM gets the guest agent's port and Start waits for the agent's
// hello (docs/hcsd.md, "Processes"). The three flags are accepted for documents written for Hyper-V;
// here: UseVsock does not change the transport (virtio-serial, the one channel every host here has),
// UseConnectedSuspend is what virtio-serial does anyway (the connection survives Pause/Resume),
// UseHostTimeZone has no effect yet (the agent does not set the guest's time zone).
struct GuestConnectionConfig {
    bool useVsock = false;
    bool useConnectedSuspend = false;
    bool useHostTimeZone = false;
};

struct VirtualMachineConfig {
    bool stopOnReset = false;
    std::optional<UefiSettings> uefi;
    std::optional<LinuxKernelDirect> linuxKernelDirect;
    bool useUtc = false;
    uint64_t memorySizeInMB = 0;
    std::string memoryBacking = "Virtual";  // Physical | Virtual | Hybrid (a hint; see docs/hcsd.md)
    uint32_t processorCount = 1;
    std::map<uint32_t, ComPort> comPorts;  // port number (0, 1) -> settings
    std::optional<GuestConnectionConfig> guestConnection;
};

struct ComputeSystemConfig {
    SchemaVersion schemaVersion;
    std::string owner;
    bool shouldTerminateOnLastHandleClosed = false;
    VirtualMachineConfig virtualMachine;
};

// Limits the backend accepts (QEMU q35 under TCG/KVM on this host class).
constexpr uint64_t kMinMemoryMB = 16;
constexpr uint64_t kMaxMemoryMB = 1024 * 1024;
constexpr uint32_t kMaxProcessorCount = 255;

Result<ComputeSystemConfig> parseComputeSystem(std::string_view document);

}  // namespace hc::hcs::schema
