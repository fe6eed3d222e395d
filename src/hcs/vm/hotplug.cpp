#include "hcs/vm/hotplug.h"

namespace hc::hcs::vm {

using nlohmann::json;

std::string scsiControllerId(size_t index)
{
    return "hcs-scsi" + std::to_string(index);
}

std::string scsiDiskId(size_t controllerIndex, uint32_t lun)
{
    return scsiControllerId(controllerIndex) + "-lun" + std::to_string(lun);
}

namespace {

// QEMU ids allow letters, digits, '-', '.' and '_'; a name from a document may hold anything.
std::string hexId(std::string id, const std::string& name)
{
    static const char kHex[] = "0123456789abcdef";
    for (unsigned char c : name) {
        id += kHex[c >> 4];
        id += kHex[c & 0xf];
    }
    return id;
}

}  // namespace

std::string networkAdapterId(const std::string& name)
{
    return hexId("hcs-net-", name);
}

std::string plan9ShareId(const std::string& mountTag)
{
    return hexId("hcs-9p-", mountTag);
}

std::string rootPortId(size_t index)
{
    return "hcs-rp" + std::to_string(index);
}

json scsiFileNode(const schema::ScsiAttachment& disk, const std::string& id, const DiskSettings& settings)
{
    using schema::CachingMode;
    const bool cached =
        disk.cachingMode == CachingMode::Cached || (disk.cachingMode == CachingMode::ReadOnlyCached && disk.readOnly);
    return json{{"driver", "file"},
                {"filename", disk.path},
                {"node-name", id + "-file"},
                {"read-only", disk.readOnly},
                {"cache", {{"direct", !cached && settings.directIo}, {"no-flush", disk.ignoreFlushes}}}};
}

json scsiFormatNode(const schema::ScsiAttachment& disk, const std::string& id, const DiskSettings& settings)
{
    return json{{"driver", settings.format}, {"file", id + "-file"}, {"node-name", id}, {"read-only", disk.readOnly}};
}

std::vector<QmpStep> scsiAttachSteps(size_t controllerIndex, uint32_t lun, const schema::ScsiAttachment& disk,
                                     const DiskSettings& settings)
{
    const std::string id = scsiDiskId(controllerIndex, lun);
    std::vector<QmpStep> steps;
    steps.push_back({"blockdev-add", scsiFileNode(disk, id, settings), "",
                     std::pair{std::string("blockdev-del"), json{{"node-name", id + "-file"}}}});
    steps.push_back({"blockdev-add", scsiFormatNode(disk, id, settings), "",
                     std::pair{std::string("blockdev-del"), json{{"node-name", id}}}});
    steps.push_back({"device_add",
                     json{{"driver", disk.type == schema::AttachmentType::Iso ? "scsi-cd" : "scsi-hd"},
                          {"id", id},
                          {"bus", scsiControllerId(controllerIndex) + ".0"},
                          {"channel", 0},
                          {"scsi-id", 0},
                          {"lun", lun},
                          {"drive", id}},
                     "", std::nullopt});
    return steps;
}

std::vector<QmpStep> scsiDetachSteps(size_t controllerIndex, uint32_t lun)
{
    const std::string id = scsiDiskId(controllerIndex, lun);
    return {{"device_del", json{{"id", id}}, id, std::nullopt},
            {"blockdev-del", json{{"node-name", id}}, "", std::nullopt},
            {"blockdev-del", json{{"node-name", id + "-file"}}, "", std::nullopt}};
}

std::vector<QmpStep> networkAddSteps(const std::string& name, const schema::NetworkAdapter& adapter,
                                     const std::string& rootPort)
{
    const std::string id = networkAdapterId(name);
    json device{{"driver", "virtio-net-pci"}, {"id", id}, {"netdev", id}, {"bus", rootPort}};
    if (!adapter.macAddress.empty()) device["mac"] = adapter.macAddress;
    return {
        {"netdev_add", json{{"type", "user"}, {"id", id}}, "", std::pair{std::string("netdev_del"), json{{"id", id}}}},
        {"device_add", device, "", std::nullopt}};
}

std::vector<QmpStep> networkRemoveSteps(const std::string& name)
{
    const std::string id = networkAdapterId(name);
    return {{"device_del", json{{"id", id}}, id, std::nullopt}, {"netdev_del", json{{"id", id}}, "", std::nullopt}};
}

std::vector<QmpStep> plan9RemoveSteps(const std::string& mountTag)
{
    const std::string id = plan9ShareId(mountTag);
    return {{"device_del", json{{"id", id}}, id, std::nullopt}};
}

std::optional<size_t> scsiControllerIndex(const schema::VirtualMachineConfig& vm, const std::string& controller)
{
    size_t index = 0;
    for (const auto& [name, unused] : vm.scsi) {
        if (name == controller) return index;
        ++index;
    }
    return std::nullopt;
}

}  // namespace hc::hcs::vm
