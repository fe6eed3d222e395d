// Devices added to and removed from a running QEMU (HcsModifyComputeSystem): the QMP commands for each
// change, as data, and the QEMU ids every device gets — the same ids the command line gives the devices
// a VM is created with (qemu_command.cpp uses these functions), so a disk or adapter from Create can be
// removed like a hot-added one. Pure functions: unit-testable without QEMU; hcsd's service runs the steps.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "hcs/schema/compute_system.h"
#include "hcs/vm/qemu_command.h"

namespace hc::hcs::vm {

// One QMP command of a change. `awaitDeleted` names a device whose DEVICE_DELETED event (the guest
// released it) completes the step, not the command's reply; `undo` is sent when a later step fails.
struct QmpStep {
    std::string command;
    nlohmann::json arguments = nlohmann::json::object();
    std::string awaitDeleted;
    std::optional<std::pair<std::string, nlohmann::json>> undo;
};

// Device ids. A SCSI controller is "hcs-scsi<i>" (i = its place in name order; controllers are fixed at
// Create); the disk at a LUN is "<controller>-lun<lun>" (device id and block node name), its file node
// "<...>-file". A network adapter is "hcs-net-<hex of its name>" (netdev and device), a Plan9 share
// "hcs-9p-<hex of its mount tag>" (fsdev and device), so adding and removing one never renames another.
// The PCIe root ports that adapters and shares sit on (so that they can be unplugged) are "hcs-rp<i>".
std::string scsiControllerId(size_t index);
std::string scsiDiskId(size_t controllerIndex, uint32_t lun);
std::string networkAdapterId(const std::string& name);
std::string plan9ShareId(const std::string& mountTag);
std::string rootPortId(size_t index);
constexpr const char* kBalloonId = "hcs-balloon";

// Root ports a VM gets beyond one per adapter of its document: how many adapters can be hot-added.
constexpr size_t kSpareRootPorts = 4;

// The blockdev nodes of a disk (JSON, as -blockdev takes them on the command line and blockdev-add at run time).
nlohmann::json scsiFileNode(const schema::ScsiAttachment& disk, const std::string& id, const DiskSettings& settings);
nlohmann::json scsiFormatNode(const schema::ScsiAttachment& disk, const std::string& id, const DiskSettings& settings);

// Attaching a disk: its two nodes and its scsi-hd/scsi-cd device (each undone if a later one fails).
std::vector<QmpStep> scsiAttachSteps(size_t controllerIndex, uint32_t lun, const schema::ScsiAttachment& disk,
                                     const DiskSettings& settings);
// Detaching: device_del (completed by DEVICE_DELETED), then the two nodes.
std::vector<QmpStep> scsiDetachSteps(size_t controllerIndex, uint32_t lun);

// A network adapter on user-mode networking, plugged into `rootPort`.
std::vector<QmpStep> networkAddSteps(const std::string& name, const schema::NetworkAdapter& adapter,
                                     const std::string& rootPort);
std::vector<QmpStep> networkRemoveSteps(const std::string& name);

// Unplugging a Plan9 share's virtio-9p device. Its fsdev stays in QEMU until QEMU exits: QEMU 7.2 has
// no monitor command that deletes (or creates) a 9p file system backend.
std::vector<QmpStep> plan9RemoveSteps(const std::string& mountTag);

// The index of `controller` among the VM's SCSI controllers (name order); nullopt when it has none such.
std::optional<size_t> scsiControllerIndex(const schema::VirtualMachineConfig& vm, const std::string& controller);

}  // namespace hc::hcs::vm
