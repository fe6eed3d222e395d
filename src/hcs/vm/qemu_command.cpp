#include "hcs/vm/qemu_command.h"

#include <sys/un.h>

#include <nlohmann/json.hpp>

#include "hcs/vm/hotplug.h"

namespace hc::hcs::vm {

namespace {

// QEMU's option parser treats ',' as a separator; a literal comma in a value is written ",,".
std::string escapeOptionValue(const std::string& value)
{
    std::string out;
    for (char c : value) {
        out += c;
        if (c == ',') out += ',';
    }
    return out;
}

using Args = std::vector<std::string>;

void addSmbios(Args& args, const schema::VirtualMachineConfig& vm)
{
    if (!vm.baseBoardSerialNumber.empty()) {
        args.insert(args.end(), {"-smbios", "type=2,serial=" + escapeOptionValue(vm.baseBoardSerialNumber)});
    }
    if (!vm.chassisSerialNumber.empty() || !vm.chassisAssetTag.empty()) {
        std::string type3 = "type=3";
        if (!vm.chassisSerialNumber.empty()) type3 += ",serial=" + escapeOptionValue(vm.chassisSerialNumber);
        if (!vm.chassisAssetTag.empty()) type3 += ",asset=" + escapeOptionValue(vm.chassisAssetTag);
        args.insert(args.end(), {"-smbios", type3});
    }
}

// One virtio-scsi controller per Devices.Scsi entry (in name order); each attachment is a file node,
// a format node and a scsi-hd / scsi-cd at its LUN, with the ids hotplug.h gives (so Modify can remove
// it). -blockdev takes JSON, so paths need no escaping.
void addScsi(Args& args, const schema::VirtualMachineConfig& vm, const QemuLaunchSettings& s)
{
    size_t index = 0;
    for (const auto& [name, controller] : vm.scsi) {
        const size_t controllerIndex = index++;
        const std::string bus = scsiControllerId(controllerIndex);
        args.insert(args.end(), {"-device", "virtio-scsi-pci,id=" + bus});
        for (const auto& [lun, disk] : controller.attachments) {
            const std::string id = scsiDiskId(controllerIndex, lun);
            auto facts = s.disks.find({name, lun});
            const DiskSettings settings = facts == s.disks.end() ? DiskSettings{} : facts->second;
            args.insert(args.end(), {"-blockdev", scsiFileNode(disk, id, settings).dump(), "-blockdev",
                                     scsiFormatNode(disk, id, settings).dump()});
            std::string device = disk.type == schema::AttachmentType::Iso ? "scsi-cd" : "scsi-hd";
            device +=
                ",id=" + id + ",bus=" + bus + ".0,channel=0,scsi-id=0,lun=" + std::to_string(lun) + ",drive=" + id;
            const auto& boot = vm.uefi ? vm.uefi->bootThis : std::nullopt;
            if (boot && boot->controller == name && boot->lun == lun) device += ",bootindex=0";
            args.insert(args.end(), {"-device", device});
        }
    }
}

// Network adapters and Plan9 shares each sit on their own PCIe root port, because q35's root bus takes
// no hot-plugged devices and unplugs none; kSpareRootPorts more stay empty for adapters Modify adds.
void addRootPorts(Args& args, const schema::VirtualMachineConfig& vm)
{
    const size_t ports = vm.networkAdapters.size() + vm.plan9Shares.size() + kSpareRootPorts;
    for (size_t i = 0; i < ports; ++i) {
        args.insert(args.end(),
                    {"-device", "pcie-root-port,id=" + rootPortId(i) + ",chassis=" + std::to_string(i + 1)});
    }
}

// Ports 0..n-1 (n adapters), then one port per share.
void addNetworkAdapters(Args& args, const schema::VirtualMachineConfig& vm)
{
    size_t index = 0;
    for (const auto& [name, adapter] : vm.networkAdapters) {
        const std::string id = networkAdapterId(name);
        std::string device = "virtio-net-pci,id=" + id + ",netdev=" + id + ",bus=" + rootPortId(index++);
        if (!adapter.macAddress.empty()) device += ",mac=" + adapter.macAddress;
        args.insert(args.end(), {"-netdev", "user,id=" + id, "-device", device});
    }
}

void addPlan9(Args& args, const schema::VirtualMachineConfig& vm)
{
    size_t port = vm.networkAdapters.size();
    for (const auto& share : vm.plan9Shares) {
        const std::string id = plan9ShareId(share.mountTag());
        // security_model=none: files are created as hcsd's user, with the guest's modes where allowed.
        std::string fsdev = "local,id=" + id + ",path=" + escapeOptionValue(share.path) + ",security_model=none";
        if (share.readOnly()) fsdev += ",readonly=on";
        args.insert(args.end(), {"-fsdev", fsdev, "-device",
                                 "virtio-9p-pci,id=" + id + ",fsdev=" + id + ",mount_tag=" + share.mountTag() +
                                     ",bus=" + rootPortId(port++)});
    }
}

void addVirtioSerial(Args& args, const QemuLaunchSettings& s, const schema::VirtualMachineConfig& vm)
{
    if (vm.virtioSerialPorts.empty()) return;
    args.insert(args.end(), {"-device", "virtio-serial-pci,id=hcs-vser"});
    for (const auto& [number, port] : vm.virtioSerialPorts) {
        auto socket = s.virtioSerialSockets.find(number);
        if (socket == s.virtioSerialSockets.end()) continue;
        const std::string id = "hcs-vser" + std::to_string(number);
        args.insert(args.end(), {"-chardev", "socket,id=" + id + ",path=" + escapeOptionValue(socket->second) +
                                                 ",server=on,wait=off"});
        // nr 0 is the console port of a virtio-serial bus; named ports start at 1.
        args.insert(args.end(), {"-device", "virtserialport,bus=hcs-vser.0,nr=" + std::to_string(number + 1) +
                                                ",chardev=" + id + ",name=" + port.name});
    }
}

}  // namespace

std::vector<std::string> buildQemuCommand(const schema::VirtualMachineConfig& vm, const QemuLaunchSettings& s)
{
    std::vector<std::string> args{s.qemuBinary};
    auto add = [&](std::initializer_list<std::string> items) { args.insert(args.end(), items); };
    add({"-name", "guest=" + escapeOptionValue(s.name)});
    add({"-machine", "q35", "-accel", acceleratorName(s.accelerator)});
    if (s.accelerator == Accelerator::Kvm) add({"-cpu", "host"});
    add({"-m", std::to_string(vm.memorySizeInMB) + "M", "-smp", std::to_string(vm.processorCount)});
    // Nothing implicit: no default NIC, VGA, serial or monitor; no user config files.
    add({"-nodefaults", "-no-user-config", "-display", "none"});
    // Paused until StartComputeSystem sends "cont": Create builds the VM, Start powers it on.
    add({"-S"});
    add({"-chardev", "socket,id=hcs-qmp,fd=" + std::to_string(s.qmpListenFd) + ",server=on,wait=off", "-mon",
         "chardev=hcs-qmp,mode=control"});
    if (s.restoring) add({"-incoming", "defer"});
    if (vm.stopOnReset) add({"-no-reboot"});
    if (vm.useUtc) add({"-rtc", "base=utc"});
    if (vm.uefi) {
        add({"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + escapeOptionValue(s.ovmfCodePath)});
        add({"-drive", "if=pflash,format=raw,unit=1,file=" + escapeOptionValue(s.ovmfVarsPath)});
    }
    if (vm.linuxKernelDirect) {
        add({"-kernel", vm.linuxKernelDirect->kernelFilePath});
        if (!vm.linuxKernelDirect->initRdPath.empty()) add({"-initrd", vm.linuxKernelDirect->initRdPath});
        if (!vm.linuxKernelDirect->kernelCmdLine.empty()) add({"-append", vm.linuxKernelDirect->kernelCmdLine});
    }
    for (const auto& [port, socketPath] : s.comPortSockets) {
        std::string id = "hcs-com" + std::to_string(port);
        // A listening socket anyone with access to the path can attach to (socat, nc -U); output is
        // dropped while nobody is attached, so a guest never blocks on its console.
        add({"-chardev", "socket,id=" + id + ",path=" + escapeOptionValue(socketPath) + ",server=on,wait=off"});
        add({"-device", "isa-serial,chardev=" + id + ",index=" + std::to_string(port)});
    }
    addSmbios(args, vm);
    addScsi(args, vm, s);
    addRootPorts(args, vm);
    addNetworkAdapters(args, vm);
    addPlan9(args, vm);
    addVirtioSerial(args, s, vm);
    if (vm.guestCrashReporting) add({"-device", "pvpanic"});
    // Always there: Modify of ComputeTopology/Memory/SizeInMB inflates it, the Memory property reads it.
    add({"-device", std::string("virtio-balloon-pci,id=") + kBalloonId});
    return args;
}

Result<std::string> namedPipeSocketPath(const std::string& namedPipe, const std::string& pipeDirectory)
{
    std::string path;
    if (!namedPipe.empty() && namedPipe[0] == '/') {
        path = namedPipe;
    } else {
        static const std::string kPrefix = "\\\\.\\pipe\\";
        if (namedPipe.size() <= kPrefix.size() || namedPipe.compare(0, kPrefix.size(), kPrefix) != 0) {
            return makeError(E_INVALIDARG, "NamedPipe \"" + namedPipe +
                                               "\" is neither \\\\.\\pipe\\<name> nor an absolute socket path");
        }
        std::string name = namedPipe.substr(kPrefix.size());
        if (name == "." || name == "..") return makeError(E_INVALIDARG, "NamedPipe name \"" + name + "\" is reserved");
        for (unsigned char c : name) {
            if (c == '/' || c == '\\' || c < 0x20) {
                return makeError(E_INVALIDARG,
                                 "NamedPipe name \"" + name + "\" contains a path separator or control character");
            }
        }
        path = pipeDirectory + "/" + name;
    }
    if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
        return makeError(E_INVALIDARG, "the socket path for NamedPipe \"" + namedPipe + "\" is too long: " + path);
    }
    return path;
}

}  // namespace hc::hcs::vm
