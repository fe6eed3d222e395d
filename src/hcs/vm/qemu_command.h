// The QEMU command line for a virtual machine document: one pure function, so the mapping from
// schema to QEMU options is readable in one place and unit-testable without starting QEMU.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "hcs/schema/compute_system.h"
#include "hcs/vm/accelerator.h"

namespace hc::hcs::vm {

// What hcsd learnt about one SCSI attachment's file when it opened it (vm/host_files.h).
struct DiskSettings {
    std::string format = "raw";  // QEMU's block driver: raw | qcow2 | vpc (VHD) | vhdx
    bool directIo = false;       // O_DIRECT (CachingMode Uncached, where the file system allows it)
};

struct QemuLaunchSettings {
    std::string qemuBinary = "qemu-system-x86_64";
    Accelerator accelerator = Accelerator::Tcg;
    std::string name;                                     // shown in ps and QEMU messages
    int qmpListenFd = 3;                                  // a listening Unix socket QEMU inherits for its QMP monitor
    std::string ovmfCodePath;                             // read-only firmware (Uefi)
    std::string ovmfVarsPath;                             // this VM's writable copy of the variable store (Uefi)
    std::map<uint32_t, std::string> comPortSockets;       // COM port number -> Unix socket path
    std::map<uint32_t, std::string> virtioSerialSockets;  // virtio-serial port number -> Unix socket path
    std::map<std::pair<std::string, uint32_t>, DiskSettings> disks;  // (controller, LUN) -> file facts
    bool restoring = false;  // -incoming defer: the state comes from a save file, sent later over QMP
};

std::vector<std::string> buildQemuCommand(const schema::VirtualMachineConfig& vm, const QemuLaunchSettings& settings);

// Where a ComPorts NamedPipe appears on Linux: "\\.\pipe\<name>" -> <pipeDirectory>/<name>; an
// absolute path is used as is. Names with '/' or control characters, "." and ".." are rejected.
Result<std::string> namedPipeSocketPath(const std::string& namedPipe, const std::string& pipeDirectory);

// Debian's OVMF build (package ovmf): the 4 MiB code image and variable-store template.
constexpr const char* kOvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd";
constexpr const char* kOvmfVarsTemplate = "/usr/share/OVMF/OVMF_VARS_4M.fd";

}  // namespace hc::hcs::vm
