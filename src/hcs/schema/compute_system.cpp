#include "hcs/schema/compute_system.h"

#include <nlohmann/json.hpp>

#include <set>

#include "hcs/schema/json_limits.h"
#include "hcs/schema/json_reader.h"

namespace hc::hcs::schema {

using nlohmann::json;

namespace {

using K = JsonKind;
constexpr FieldFate Hint = FieldFate::Hint;
constexpr FieldFate Unsupported = FieldFate::Unsupported;

// What each type of schema 2.x defines beyond the fields read by hand below (docs/hcsd.md, "Schema").
constexpr FieldRule kComputeSystemRules[] = {
    {"HostedSystem", K::Object, Unsupported, "hosted systems are not supported yet"},
    {"HostingSystemId", K::String, Unsupported, "hosted systems are not supported yet"},
};

constexpr FieldRule kVirtualMachineRules[] = {
    {"RegistryChanges", K::Object, Unsupported, "registry changes apply to Windows guests only"},
    {"StorageQoS", K::Object, Unsupported, "storage QoS limits are not supported yet"},
    {"DebugOptions", K::Object, Hint, "Hyper-V's bugcheck and firmware dump files"},
    {"SecuritySettings", K::Object, Unsupported, "TPM and isolation (VBS, SNP) are not supported"},
    {"Version", K::Object, Hint, "Hyper-V's configuration version"},
    {"ResourcePartitionId", K::String, Unsupported, "resource partitions are not supported"},
    {"MigrationOptions", K::Object, Unsupported, "live migration is not supported"},
};

constexpr FieldRule kChipsetRules[] = {
    {"IsNumLockDisabled", K::Boolean, Hint, "keyboard state at boot of a headless VM"},
    {"FirmwareFile", K::Object, Unsupported, "custom firmware files are not supported"},
};

constexpr FieldRule kUefiRules[] = {
    {"EnableDebugger", K::Boolean, Unsupported, "the UEFI debugger is not supported"},
    {"SecureBootTemplateId", K::String, Unsupported, "secure boot templates are not supported yet"},
};

constexpr FieldRule kBootEntryRules[] = {
    {"OptionalData", K::String, Unsupported, "UEFI load options are not supported"},
    {"VmbFsRootPath", K::String, Unsupported, "booting from VmbFs is not supported"},
};

constexpr FieldRule kMemoryRules[] = {
    {"AllowOvercommit", K::Boolean, Hint, "Hyper-V memory manager policy; QEMU's memory is always virtual"},
    {"EnableDeferredCommit", K::Boolean, Hint, "Hyper-V memory manager policy"},
    {"EnableHotHint", K::Boolean, Hint, "Hyper-V memory manager policy"},
    {"EnableColdHint", K::Boolean, Hint, "Hyper-V memory manager policy"},
    {"EnableColdDiscardHint", K::Boolean, Hint, "Hyper-V memory manager policy"},
    {"LowMmioGapInMB", K::Unsigned, Hint, "MMIO gaps for assigned devices; q35's layout is fixed"},
    {"HighMmioBaseInMB", K::Unsigned, Hint, "MMIO gaps for assigned devices; q35's layout is fixed"},
    {"HighMmioGapInMB", K::Unsigned, Hint, "MMIO gaps for assigned devices; q35's layout is fixed"},
    {"SlitType", K::String, Hint, "NUMA distance table; the VM has one node"},
    {"HostingProcessNameSuffix", K::String, Hint, "the name of Hyper-V's worker process"},
    {"EnableEpf", K::Boolean, Hint, "Hyper-V memory manager policy"},
    {"PinBackingPages", K::Boolean, Unsupported, "pinned backing pages are not supported yet"},
    {"SharedMemoryMB", K::Unsigned, Unsupported, "shared memory is not supported"},
};

constexpr FieldRule kProcessorRules[] = {
    {"CpuGroup", K::Object, Unsupported, "host CPU groups are not supported"},
    {"NumaProcessorsSettings", K::Object, Unsupported, "NUMA topologies are not supported yet"},
    {"ExposeVirtualizationExtensions", K::Boolean, Unsupported, "nested virtualization is not supported"},
    {"EnablePerfmonPmu", K::Boolean, Unsupported, "guest performance counters are not supported"},
    {"EnablePerfmonPebs", K::Boolean, Unsupported, "guest performance counters are not supported"},
    {"EnablePerfmonLbr", K::Boolean, Unsupported, "guest performance counters are not supported"},
    {"EnablePerfmonIpt", K::Boolean, Unsupported, "guest performance counters are not supported"},
    {"EnableSchedulerAssist", K::Boolean, Hint, "Hyper-V scheduler policy"},
    {"SynchronizeHostFeatures", K::Boolean, Hint, "Hyper-V CPU feature policy"},
    {"EnablePageShattering", K::Boolean, Hint, "Hyper-V mitigation policy"},
};

constexpr FieldRule kTopologyRules[] = {
    {"Numa", K::Object, Unsupported, "NUMA topologies are not supported yet"},
};

constexpr std::string_view kHeadless = "graphical consoles are not supported (VMs run headless; use ComPorts)";
constexpr FieldRule kDevicesRules[] = {
    {"VirtualPMem", K::Object, Unsupported, "virtual persistent memory is not supported yet (use Scsi)"},
    {"VirtualSmb", K::Object, Unsupported, "SMB shares are not supported (use Plan9)"},
    {"VideoMonitor", K::Object, Unsupported, kHeadless},
    {"EnhancedModeVideo", K::Object, Unsupported, kHeadless},
    {"Keyboard", K::Object, Hint, "a headless VM has no display to type into"},
    {"Mouse", K::Object, Hint, "a headless VM has no display to point at"},
    {"Battery", K::Object, Unsupported, "a virtual battery is not supported"},
    {"FlexibleIov", K::Object, Unsupported, "flexible I/O devices are not supported"},
    {"SharedMemory", K::Object, Unsupported, "shared memory regions are not supported"},
    {"VirtualPci", K::Object, Unsupported, "device assignment (VirtualPci) is not supported"},
    {"ComPortsEx", K::Object, Unsupported, "extended COM ports are not supported"},
    {"Licensing", K::Object, Unsupported, "licensing devices are not supported"},
    {"Tpm", K::Object, Unsupported, "a virtual TPM is not supported"},
};

constexpr FieldRule kComPortRules[] = {
    {"OptimizeForDebugger", K::Boolean, Hint, "a Hyper-V polling tweak"},
};

constexpr FieldRule kAttachmentRules[] = {
    {"NoWriteHardening", K::Boolean, Hint, "a VHD driver policy of Windows"},
    {"DisableExpansionOptimization", K::Boolean, Hint, "a VHD driver policy of Windows"},
    {"IgnoreRelativeLocator", K::Boolean, Hint, "a VHD driver policy of Windows"},
    {"CaptureIoAttributionContext", K::Boolean, Hint, "Windows I/O accounting"},
    {"SupportCompressedVolumes", K::Boolean, Hint, "NTFS compression"},
    {"AlwaysAllowSparseFiles", K::Boolean, Hint, "NTFS sparse files; Linux files may always be sparse"},
    {"ExtensibleVirtualDiskType", K::String, Unsupported, "extensible virtual disks are not supported"},
};

constexpr FieldRule kPlan9ShareRules[] = {
    {"Port", K::Integer, Hint, "the Hyper-V socket port; virtio-9p needs none"},
    {"AllowedFiles", K::StringArray, Unsupported, "file allow-lists are not supported"},
};

constexpr FieldRule kNetworkAdapterRules[] = {
    {"IovSettings", K::Object, Hint, "SR-IOV offload tuning; the adapter is virtio-net"},
};

constexpr FieldRule kHvSocketConfigRules[] = {
    {"DefaultBindSecurityDescriptor", K::String, Hint, "a Windows security descriptor"},
    {"DefaultConnectSecurityDescriptor", K::String, Hint, "a Windows security descriptor"},
};

constexpr FieldRule kHvSocketServiceRules[] = {
    {"BindSecurityDescriptor", K::String, Hint, "a Windows security descriptor"},
    {"ConnectSecurityDescriptor", K::String, Hint, "a Windows security descriptor"},
    {"AllowWildcardBinds", K::Boolean, Hint, "a Windows HvSocket policy"},
    {"Disabled", K::Boolean, Hint, "a Windows HvSocket policy"},
};

constexpr FieldRule kGuestCrashRules[] = {
    {"WindowsCrashSettings", K::Object, Hint, "dump settings of Windows guests; pvpanic reports without a dump"},
};

constexpr FieldRule kGuestStateRules[] = {
    {"GuestStateFilePath", K::String, Unsupported, "guest state files are not supported yet"},
    {"RuntimeStateFilePath", K::String, Unsupported, "runtime state files are not supported yet"},
    {"GuestStateFileType", K::String, Hint, "the format of a guest state file (none is used)"},
    {"ForceTransientState", K::Boolean, Hint, "state is always transient here"},
};

constexpr FieldRule kRestoreStateRules[] = {
    {"SaveStateFilePath", K::String, Unsupported, "restoring saved state is not supported yet"},
    {"TemplateSystemId", K::String, Unsupported, "restoring from a template is not supported yet"},
};

constexpr uint32_t kMaxScsiControllers = 4;  // as many as Hyper-V offers
constexpr uint32_t kMaxScsiLun = 63;
constexpr uint32_t kMaxVirtioSerialPorts = 31;  // one virtio-serial-pci bus, port 0 reserved for consoles
constexpr size_t kMaxMountTag = 31;             // QEMU's virtio-9p tag limit

// "7" -> 7 when the map key is a decimal number <= max.
std::optional<uint32_t> numberKey(const std::string& key, uint32_t max)
{
    if (key.empty() || key.size() > 5) return std::nullopt;
    uint32_t n = 0;
    for (char c : key) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<uint32_t>(c - '0');
    }
    if (n > max || (key.size() > 1 && key[0] == '0')) return std::nullopt;
    return n;
}

std::string requireAbsolutePath(ObjectReader& reader, std::string_view name)
{
    auto path = reader.optString(name);
    if (!path || path->empty()) reader.fail(name, "required field is missing");
    if ((*path)[0] != '/') reader.fail(name, "expected an absolute path, got \"" + *path + "\"");
    return *path;
}

class DocumentReader {
public:
    ComputeSystemConfig read(const json& doc);

private:
    void apply(ObjectReader& reader, std::span<const FieldRule> rules) { applyFieldRules(reader, rules, refusals_); }

    SchemaVersion readSchemaVersion(ObjectReader& root);
    VirtualMachineConfig readVirtualMachine(ObjectReader reader);
    void readChipset(ObjectReader chipset, VirtualMachineConfig& vm);
    UefiSettings readUefi(ObjectReader uefi);
    LinuxKernelDirect readKernelDirect(ObjectReader lkd);
    void readMemory(ObjectReader memory, VirtualMachineConfig& vm);
    void readProcessor(ObjectReader processor, VirtualMachineConfig& vm);
    void readDevices(ObjectReader devices, VirtualMachineConfig& vm);
    void readComPorts(ObjectReader ports, VirtualMachineConfig& vm);
    void readScsi(ObjectReader scsi, VirtualMachineConfig& vm);
    ScsiAttachment readAttachment(ObjectReader attachment);
    void readPlan9(ObjectReader plan9, VirtualMachineConfig& vm);
    void readNetworkAdapters(ObjectReader adapters, VirtualMachineConfig& vm);
    void readVirtioSerial(ObjectReader serial, VirtualMachineConfig& vm);
    void readHvSocket(ObjectReader hvSocket);
    void checkBootEntry(const VirtualMachineConfig& vm, const std::string& path);

    std::vector<Refusal> refusals_;
};

ComputeSystemConfig DocumentReader::read(const json& doc)
{
    ObjectReader root(doc, "");
    ComputeSystemConfig config;
    config.schemaVersion = readSchemaVersion(root);
    config.owner = root.optString("Owner").value_or("");
    config.shouldTerminateOnLastHandleClosed = root.optBool("ShouldTerminateOnLastHandleClosed").value_or(false);
    apply(root, kComputeSystemRules);
    auto vm = root.optObject("VirtualMachine");
    auto container = root.optObject("Container");
    if (vm && container) failInvalid("Container", "a compute system is a VirtualMachine or a Container, not both");
    if (vm) {
        config.virtualMachine = readVirtualMachine(*vm);
    } else if (container) {
        config.container = readContainer(*container, refusals_);
    } else if (refusals_.empty()) {
        failInvalid("VirtualMachine", "required field is missing (a VirtualMachine or a Container)");
    }
    root.finish();
    config.unsupported = std::move(refusals_);
    return config;
}

SchemaVersion DocumentReader::readSchemaVersion(ObjectReader& root)
{
    auto obj = root.optObject("SchemaVersion");
    if (!obj) failInvalid(root.fieldPath("SchemaVersion"), "required field is missing (schema 2.x documents)");
    SchemaVersion v;
    auto major = obj->optUnsigned("Major", UINT32_MAX);
    auto minor = obj->optUnsigned("Minor", UINT32_MAX);
    obj->finish();
    if (!major) failInvalid(obj->fieldPath("Major"), "required field is missing");
    v.major = static_cast<uint32_t>(*major);
    v.minor = static_cast<uint32_t>(minor.value_or(0));
    if (v.major != kSchemaMajor || v.minor > kMaxSchemaMinor) {
        failUnsupported(obj->path(), "schema version " + std::to_string(v.major) + "." + std::to_string(v.minor) +
                                         " is not supported (supported: 2.0 to 2." + std::to_string(kMaxSchemaMinor) +
                                         ")");
    }
    return v;
}

VirtualMachineConfig DocumentReader::readVirtualMachine(ObjectReader reader)
{
    VirtualMachineConfig vm;
    vm.stopOnReset = reader.optBool("StopOnReset").value_or(false);
    auto chipset = reader.optObject("Chipset");
    if (!chipset) failInvalid(reader.fieldPath("Chipset"), "required field is missing");
    readChipset(*chipset, vm);
    auto topology = reader.optObject("ComputeTopology");
    if (!topology) failInvalid(reader.fieldPath("ComputeTopology"), "required field is missing");
    auto memory = topology->optObject("Memory");
    if (!memory) failInvalid(topology->fieldPath("Memory"), "required field is missing");
    readMemory(*memory, vm);
    if (auto processor = topology->optObject("Processor")) readProcessor(*processor, vm);
    apply(*topology, kTopologyRules);
    topology->finish();
    if (auto devices = reader.optObject("Devices")) readDevices(*devices, vm);
    if (vm.uefi && vm.uefi->bootThis) checkBootEntry(vm, chipset->fieldPath("Uefi.BootThis"));
    if (auto state = reader.optObject("GuestState")) {
        apply(*state, kGuestStateRules);
        state->finish();
    }
    if (auto restore = reader.optObject("RestoreState")) {
        apply(*restore, kRestoreStateRules);
        restore->finish();
    }
    if (auto guest = reader.optObject("GuestConnection")) {
        GuestConnectionConfig g;
        g.useVsock = guest->optBool("UseVsock").value_or(false);
        g.useConnectedSuspend = guest->optBool("UseConnectedSuspend").value_or(false);
        g.useHostTimeZone = guest->optBool("UseHostTimeZone").value_or(false);
        guest->finish();
        vm.guestConnection = g;
    }
    apply(reader, kVirtualMachineRules);
    reader.finish();
    return vm;
}

void DocumentReader::readChipset(ObjectReader chipset, VirtualMachineConfig& vm)
{
    if (auto uefi = chipset.optObject("Uefi")) vm.uefi = readUefi(*uefi);
    if (auto lkd = chipset.optObject("LinuxKernelDirect")) vm.linuxKernelDirect = readKernelDirect(*lkd);
    vm.useUtc = chipset.optBool("UseUtc").value_or(false);
    vm.baseBoardSerialNumber = chipset.optString("BaseBoardSerialNumber").value_or("");
    vm.chassisSerialNumber = chipset.optString("ChassisSerialNumber").value_or("");
    vm.chassisAssetTag = chipset.optString("ChassisAssetTag").value_or("");
    apply(chipset, kChipsetRules);
    chipset.finish();
    if (vm.uefi && vm.linuxKernelDirect) {
        failInvalid(chipset.path(), "Uefi and LinuxKernelDirect are mutually exclusive");
    }
    if (!vm.uefi && !vm.linuxKernelDirect) failInvalid(chipset.path(), "one of Uefi or LinuxKernelDirect is required");
}

UefiSettings DocumentReader::readUefi(ObjectReader uefi)
{
    UefiSettings s;
    // hcsshim writes "Apply"/"Skip" (ApplySecureBootTemplateType); older documents a boolean.
    if (const json* apply = uefi.optMember("ApplySecureBootTemplate")) {
        const bool on = apply->is_boolean() ? apply->get<bool>() : apply->is_string() && *apply == "Apply";
        if (!apply->is_boolean() && !(apply->is_string() && (*apply == "Apply" || *apply == "Skip"))) {
            uefi.fail("ApplySecureBootTemplate", "expected \"Apply\", \"Skip\" or a boolean");
        }
        refuseIf(on, uefi.fieldPath("ApplySecureBootTemplate"), "secure boot is not supported yet", refusals_);
    }
    if (auto boot = uefi.optObject("BootThis")) {
        auto type = boot->optEnum("DeviceType", {"ScsiDrive", "VmbFs", "Network", "File"});
        if (!type) boot->fail("DeviceType", "required field is missing");
        refuseIf(*type != "ScsiDrive", boot->fieldPath("DeviceType"),
                 "booting from " + *type + " is not supported (only ScsiDrive)", refusals_);
        UefiBootEntry entry;
        entry.controller = boot->optString("DevicePath").value_or("");
        entry.lun = static_cast<uint32_t>(boot->optUnsigned("DiskNumber", kMaxScsiLun).value_or(0));
        apply(*boot, kBootEntryRules);
        boot->finish();
        if (*type == "ScsiDrive") s.bootThis = entry;
    }
    s.console = uefi.optEnum("Console", {"Default", "Disabled", "ComPort1", "ComPort2"}).value_or("Default");
    s.stopOnBootFailure = uefi.optBool("StopOnBootFailure").value_or(false);
    apply(uefi, kUefiRules);
    uefi.finish();
    return s;
}

LinuxKernelDirect DocumentReader::readKernelDirect(ObjectReader lkd)
{
    LinuxKernelDirect k;
    k.kernelFilePath = requireAbsolutePath(lkd, "KernelFilePath");
    k.initRdPath = lkd.optString("InitRdPath").value_or("");
    if (!k.initRdPath.empty() && k.initRdPath[0] != '/') {
        failInvalid(lkd.fieldPath("InitRdPath"), "expected an absolute path");
    }
    k.kernelCmdLine = lkd.optString("KernelCmdLine").value_or("");
    lkd.finish();
    return k;
}

void DocumentReader::readMemory(ObjectReader memory, VirtualMachineConfig& vm)
{
    auto size = memory.optUnsigned("SizeInMB", kMaxMemoryMB);
    if (!size) failInvalid(memory.fieldPath("SizeInMB"), "required field is missing");
    if (*size < kMinMemoryMB) {
        failInvalid(memory.fieldPath("SizeInMB"), "at least " + std::to_string(kMinMemoryMB) + " MB are required");
    }
    vm.memorySizeInMB = *size;
    vm.memoryBacking = memory.optEnum("Backing", {"Physical", "Virtual", "Hybrid"}).value_or("Virtual");
    auto pages = memory.optEnum("BackingPageSize", {"Small", "Large"});
    refuseIf(pages == "Large", memory.fieldPath("BackingPageSize"), "large backing pages are not supported yet",
             refusals_);
    apply(memory, kMemoryRules);
    memory.finish();
}

void DocumentReader::readProcessor(ObjectReader processor, VirtualMachineConfig& vm)
{
    auto count = processor.optUnsigned("Count", kMaxProcessorCount);
    if (count && *count == 0) failInvalid(processor.fieldPath("Count"), "at least 1 processor is required");
    vm.processorCount = static_cast<uint32_t>(count.value_or(1));
    // Scheduling hints (out of 100000): validated, not enforced (docs/hcsd.md).
    processor.optUnsigned("Limit", 100000);
    processor.optUnsigned("Weight", 10000);
    processor.optUnsigned("Reservation", 100000);
    apply(processor, kProcessorRules);
    processor.finish();
}

void DocumentReader::readDevices(ObjectReader devices, VirtualMachineConfig& vm)
{
    if (auto ports = devices.optObject("ComPorts")) readComPorts(*ports, vm);
    if (auto scsi = devices.optObject("Scsi")) readScsi(*scsi, vm);
    if (auto plan9 = devices.optObject("Plan9")) readPlan9(*plan9, vm);
    if (auto adapters = devices.optObject("NetworkAdapters")) readNetworkAdapters(*adapters, vm);
    if (auto serial = devices.optObject("VirtioSerial")) readVirtioSerial(*serial, vm);
    if (auto hvSocket = devices.optObject("HvSocket")) {
        readHvSocket(*hvSocket);
        vm.hvSocket = true;
    }
    if (auto crash = devices.optObject("GuestCrashReporting")) {
        apply(*crash, kGuestCrashRules);
        crash->finish();
        vm.guestCrashReporting = true;
    }
    apply(devices, kDevicesRules);
    devices.finish();
}

void DocumentReader::readComPorts(ObjectReader ports, VirtualMachineConfig& vm)
{
    for (const char* key : {"0", "1"}) {
        auto port = ports.optObject(key);
        if (!port) continue;
        ComPort p;
        auto pipe = port->optString("NamedPipe");
        if (!pipe || pipe->empty()) failInvalid(port->fieldPath("NamedPipe"), "required field is missing");
        p.namedPipe = *pipe;
        apply(*port, kComPortRules);
        port->finish();
        vm.comPorts[static_cast<uint32_t>(key[0] - '0')] = p;
    }
    ports.finish();  // "2", "COM1", ... : only ports 0 and 1 exist (COM1, COM2)
}

void DocumentReader::readScsi(ObjectReader scsi, VirtualMachineConfig& vm)
{
    auto names = scsi.memberNames();
    if (names.size() > kMaxScsiControllers) {
        failInvalid(scsi.path(), std::to_string(names.size()) + " controllers; at most " +
                                     std::to_string(kMaxScsiControllers) + " are supported");
    }
    for (const auto& name : names) {
        auto controller = scsi.optObject(name);
        if (!controller) continue;
        if (name.empty()) failInvalid(controller->path(), "a controller name must not be empty");
        ScsiController c;
        if (auto attachments = controller->optObject("Attachments")) {
            for (const auto& key : attachments->memberNames()) {
                auto attachment = attachments->optObject(key);
                if (!attachment) continue;
                auto lun = numberKey(key, kMaxScsiLun);
                if (!lun) failInvalid(attachment->path(), "a LUN is a number from 0 to " + std::to_string(kMaxScsiLun));
                c.attachments[*lun] = readAttachment(*attachment);
            }
            attachments->finish();
        }
        controller->finish();
        vm.scsi[name] = std::move(c);
    }
    scsi.finish();
}

ScsiAttachment DocumentReader::readAttachment(ObjectReader attachment)
{
    ScsiAttachment a;
    auto type = attachment.optEnum("Type", {"VirtualDisk", "Iso", "PassThru", "ExtensibleVirtualDisk"});
    if (!type) attachment.fail("Type", "required field is missing");
    refuseIf(*type == "PassThru" || *type == "ExtensibleVirtualDisk", attachment.fieldPath("Type"),
             *type + " attachments are not supported (VirtualDisk and Iso are)", refusals_);
    a.type = *type == "Iso" ? AttachmentType::Iso : AttachmentType::VirtualDisk;
    a.path = requireAbsolutePath(attachment, "Path");
    a.readOnly = attachment.optBool("ReadOnly").value_or(false) || a.type == AttachmentType::Iso;
    auto caching = attachment.optEnum("CachingMode", {"Uncached", "Cached", "ReadOnlyCached"}).value_or("Uncached");
    a.cachingMode = caching == "Cached"           ? CachingMode::Cached
                    : caching == "ReadOnlyCached" ? CachingMode::ReadOnlyCached
                                                  : CachingMode::Uncached;
    a.ignoreFlushes = attachment.optBool("IgnoreFlushes").value_or(false);
    apply(attachment, kAttachmentRules);
    attachment.finish();
    return a;
}

void DocumentReader::readPlan9(ObjectReader plan9, VirtualMachineConfig& vm)
{
    std::set<std::string> tags;
    for (auto& share : plan9.optObjectArray("Shares")) {
        Plan9Share s;
        s.name = share.optString("Name").value_or("");
        if (s.name.empty()) share.fail("Name", "required field is missing");
        s.accessName = share.optString("AccessName").value_or("");
        s.path = requireAbsolutePath(share, "Path");
        s.flags = static_cast<uint32_t>(share.optUnsigned("Flags", UINT32_MAX).value_or(0));
        constexpr uint32_t known = kPlan9ReadOnly | kPlan9LinuxMetadata | kPlan9CaseSensitive |
                                   kPlan9UseShareRootIdentity | kPlan9RestrictFileAccess | kPlan9UnlimitedConnections;
        if (s.flags & ~known) share.fail("Flags", "unknown Plan9ShareFlags bits " + std::to_string(s.flags & ~known));
        refuseIf(s.flags & kPlan9RestrictFileAccess, share.fieldPath("Flags"),
                 "RestrictFileAccess (file allow-lists) is not supported", refusals_);
        const std::string& tag = s.mountTag();
        if (tag.size() > kMaxMountTag) {
            share.fail(s.accessName.empty() ? "Name" : "AccessName",
                       "longer than " + std::to_string(kMaxMountTag) + " bytes (the virtio-9p mount tag)");
        }
        for (unsigned char c : tag) {
            if (c <= 0x20 || c == ',' || c == 0x7f) {
                share.fail(s.accessName.empty() ? "Name" : "AccessName",
                           "contains a space, comma or control character (it is the virtio-9p mount tag)");
            }
        }
        if (!tags.insert(tag).second) share.fail("Name", "another share has the mount tag \"" + tag + "\"");
        apply(share, kPlan9ShareRules);
        share.finish();
        vm.plan9Shares.push_back(std::move(s));
    }
    plan9.finish();
}

void DocumentReader::readNetworkAdapters(ObjectReader adapters, VirtualMachineConfig& vm)
{
    for (const auto& name : adapters.memberNames()) {
        auto adapter = adapters.optObject(name);
        if (!adapter) continue;
        NetworkAdapter n;
        n.endpointId = adapter->optString("EndpointId").value_or("");
        if (auto mac = adapter->optString("MacAddress"); mac && !mac->empty()) {
            auto normal = normaliseMacAddress(*mac);
            if (!normal) adapter->fail("MacAddress", "\"" + *mac + "\" is not a MAC address (00-15-5D-12-34-56)");
            if (std::stoi(normal->substr(0, 2), nullptr, 16) & 1) {
                adapter->fail("MacAddress", "\"" + *mac + "\" is a multicast address");
            }
            n.macAddress = *normal;
        }
        apply(*adapter, kNetworkAdapterRules);
        adapter->finish();
        vm.networkAdapters[name] = std::move(n);
    }
    adapters.finish();
}

void DocumentReader::readVirtioSerial(ObjectReader serial, VirtualMachineConfig& vm)
{
    std::set<std::string> names;
    if (auto ports = serial.optObject("Ports")) {
        for (const auto& key : ports->memberNames()) {
            auto port = ports->optObject(key);
            if (!port) continue;
            auto number = numberKey(key, kMaxVirtioSerialPorts - 1);
            if (!number) {
                failInvalid(port->path(), "a port is a number from 0 to " + std::to_string(kMaxVirtioSerialPorts - 1));
            }
            VirtioSerialPort p;
            p.name = port->optString("Name").value_or("");
            if (p.name.empty()) port->fail("Name", "required field is missing");
            for (unsigned char c : p.name) {
                if (!isalnum(c) && c != '.' && c != '_' && c != '-') {
                    port->fail("Name", "\"" + p.name + "\" may hold only letters, digits, '.', '_' and '-'");
                }
            }
            if (p.name.rfind("org.hostcompute.agent", 0) == 0) {
                port->fail("Name", "\"" + p.name + "\" is reserved for the guest agent's port (GuestConnection)");
            }
            if (!names.insert(p.name).second) port->fail("Name", "another port is named \"" + p.name + "\"");
            p.namedPipe = port->optString("NamedPipe").value_or("");
            if (p.namedPipe.empty()) port->fail("NamedPipe", "required field is missing");
            port->finish();
            vm.virtioSerialPorts[*number] = std::move(p);
        }
        ports->finish();
    }
    serial.finish();
}

void DocumentReader::readHvSocket(ObjectReader hvSocket)
{
    if (auto config = hvSocket.optObject("HvSocketConfig")) {
        apply(*config, kHvSocketConfigRules);
        if (auto table = config->optObject("ServiceTable")) {
            for (const auto& id : table->memberNames()) {
                auto service = table->optObject(id);
                if (!service) continue;
                apply(*service, kHvSocketServiceRules);
                service->finish();
            }
            table->finish();
        }
        config->finish();
    }
    hvSocket.finish();
}

void DocumentReader::checkBootEntry(const VirtualMachineConfig& vm, const std::string& path)
{
    const UefiBootEntry& boot = *vm.uefi->bootThis;
    auto controller = vm.scsi.find(boot.controller);
    if (controller == vm.scsi.end()) {
        failInvalid(path + ".DevicePath", "no SCSI controller is named \"" + boot.controller + "\"");
    }
    if (!controller->second.attachments.count(boot.lun)) {
        failInvalid(path + ".DiskNumber",
                    "SCSI controller \"" + boot.controller + "\" has no disk at LUN " + std::to_string(boot.lun));
    }
}

}  // namespace

std::optional<std::string> normaliseMacAddress(std::string_view text)
{
    if (text.size() != 17) return std::nullopt;
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (i % 3 == 2) {
            if (c != '-' && c != ':') return std::nullopt;
            out += ':';
        } else {
            if (!isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
            out += static_cast<char>(tolower(static_cast<unsigned char>(c)));
        }
    }
    return out;
}

Result<ComputeSystemConfig> readComputeSystem(std::string_view document)
{
    auto parsed = parseJson(document, kDocumentLimits, "the configuration", HCS_E_INVALID_JSON);
    if (!parsed) return parsed.error();
    try {
        return DocumentReader().read(*parsed);
    } catch (const SchemaError& e) {
        return makeError(e.hr, e.what());
    }
}

Result<ComputeSystemConfig> parseComputeSystem(std::string_view document)
{
    auto config = readComputeSystem(document);
    if (config && !config->unsupported.empty()) {
        const Refusal& first = config->unsupported.front();
        return makeError(E_NOTIMPL, first.field + ": " + first.reason);
    }
    return config;
}

}  // namespace hc::hcs::schema
