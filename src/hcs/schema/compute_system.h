// Typed HCS schema 2.x ComputeSystem documents (the configuration of HcsCreateComputeSystem).
// readComputeSystem() knows every field of the published schema (hcsshim's schema2 package,
// Microsoft's schema reference): a wrong type or value names the field by its path
// (HCS_E_INVALID_JSON), a name in no schema is an "unknown field", a hint is accepted and ignored,
// and a known feature the QEMU backend lacks is listed in `unsupported` (field_rules.h).
// parseComputeSystem() is what hcsd uses: the same, and E_NOTIMPL naming the first unsupported field.
// Features that depend on the host (HvSocket needs /dev/vhost-vsock) are checked at launch.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "hcs/schema/container.h"
#include "hcs/schema/field_rules.h"

namespace hc::hcs::schema {

struct SchemaVersion {
    uint32_t major = 2;
    uint32_t minor = 1;
};

// Schema versions this implementation accepts (Major 2, Minor kMinSchemaMinor..kMaxSchemaMinor).
constexpr uint32_t kSchemaMajor = 2;
constexpr uint32_t kMinSchemaMinor = 0;
constexpr uint32_t kMaxSchemaMinor = 7;

// Uefi.BootThis: only a SCSI disk (DeviceType ScsiDrive) can be booted here.
struct UefiBootEntry {
    std::string controller;  // DevicePath: the name of a Devices.Scsi controller
    uint32_t lun = 0;        // DiskNumber
};

struct UefiSettings {
    std::string console = "Default";  // Default | Disabled | ComPort1 | ComPort2
    bool stopOnBootFailure = false;
    std::optional<UefiBootEntry> bootThis;
};

struct LinuxKernelDirect {
    std::string kernelFilePath;
    std::string initRdPath;  // empty = none
    std::string kernelCmdLine;
};

struct ComPort {
    std::string namedPipe;  // "\\.\pipe\name" or an absolute Unix socket path
};

enum class AttachmentType { VirtualDisk, Iso };
enum class CachingMode { Uncached, Cached, ReadOnlyCached };

struct ScsiAttachment {
    AttachmentType type = AttachmentType::VirtualDisk;
    std::string path;  // an absolute host path
    bool readOnly = false;
    CachingMode cachingMode = CachingMode::Uncached;
    bool ignoreFlushes = false;
};

struct ScsiController {
    std::map<uint32_t, ScsiAttachment> attachments;  // LUN -> disk
};

// Plan9ShareFlags (hcsshim's plan9_share_flags.go).
constexpr uint32_t kPlan9ReadOnly = 0x1;
constexpr uint32_t kPlan9LinuxMetadata = 0x4;
constexpr uint32_t kPlan9CaseSensitive = 0x8;
constexpr uint32_t kPlan9UseShareRootIdentity = 0x10;
constexpr uint32_t kPlan9RestrictFileAccess = 0x80;
constexpr uint32_t kPlan9UnlimitedConnections = 0x100;

struct Plan9Share {
    std::string name;        // the share's name (the virtio-9p mount tag when AccessName is empty)
    std::string accessName;  // what the guest mounts (the virtio-9p mount tag)
    std::string path;        // an absolute host directory
    uint32_t flags = 0;
    bool readOnly() const { return flags & kPlan9ReadOnly; }
    const std::string& mountTag() const { return accessName.empty() ? name : accessName; }
};

struct NetworkAdapter {
    std::string endpointId;  // an HNS endpoint on Windows; not used (QEMU user-mode networking)
    std::string macAddress;  // "00:15:5d:01:02:03" (normalised from "00-15-5D-01-02-03"); empty = QEMU's
};

// Devices.VirtioSerial (hostcompute's shape: {"Ports": {"<n>": {"Name", "NamedPipe"}}}): a named
// virtio-serial port whose host end is a Unix socket, like a ComPort.
struct VirtioSerialPort {
    std::string name;       // the port's name in the guest (/dev/virtio-ports/<name>)
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
    std::string baseBoardSerialNumber, chassisSerialNumber, chassisAssetTag;  // SMBIOS; empty = QEMU's
    uint64_t memorySizeInMB = 0;
    std::string memoryBacking = "Virtual";  // Physical | Virtual | Hybrid (a hint; see docs/hcsd.md)
    uint32_t processorCount = 1;
    std::map<uint32_t, ComPort> comPorts;        // port number (0, 1) -> settings
    std::map<std::string, ScsiController> scsi;  // controller name -> controller (virtio-scsi, in name order)
    std::vector<Plan9Share> plan9Shares;
    std::map<std::string, NetworkAdapter> networkAdapters;   // adapter name -> adapter
    std::map<uint32_t, VirtioSerialPort> virtioSerialPorts;  // port number -> port
    bool hvSocket = false;             // Devices.HvSocket present (vhost-vsock; checked at launch)
    bool guestCrashReporting = false;  // Devices.GuestCrashReporting present (pvpanic)
    std::optional<GuestConnectionConfig> guestConnection;
};

struct ComputeSystemConfig {
    SchemaVersion schemaVersion;
    std::string owner;
    bool shouldTerminateOnLastHandleClosed = false;
    VirtualMachineConfig virtualMachine;       // unused when `container` is set
    std::optional<ContainerConfig> container;  // a process-isolated container instead of a VM
    std::vector<Refusal> unsupported;
    // Processes come from the guest agent: a VM's GuestConnection, or a container's init.
    bool hasGuestAgent() const { return container.has_value() || virtualMachine.guestConnection.has_value(); }
    const char* systemType() const
    {
        return container ? "Container" : "VirtualMachine";
    }  // known features this backend lacks, in document order
};

// Limits the backend accepts (QEMU q35 under TCG/KVM on this host class).
constexpr uint64_t kMinMemoryMB = 16;
constexpr uint64_t kMaxMemoryMB = 1024 * 1024;
constexpr uint32_t kMaxProcessorCount = 255;

// Every field checked; unsupported features listed, not refused.
Result<ComputeSystemConfig> readComputeSystem(std::string_view document);
// readComputeSystem(), then E_NOTIMPL "<field>: <reason>" for the first unsupported feature.
Result<ComputeSystemConfig> parseComputeSystem(std::string_view document);

// "00-15-5D-AA-BB-CC" or "00:15:5d:aa:bb:cc" -> "00:15:5d:aa:bb:cc"; nullopt when malformed.
std::optional<std::string> normaliseMacAddress(std::string_view text);

}  // namespace hc::hcs::schema
