#include "hcs/schema/compute_system.h"

#include <nlohmann/json.hpp>

#include "hcs/schema/json_limits.h"
#include "hcs/schema/json_reader.h"

namespace hc::hcs::schema {

using nlohmann::json;

namespace {

constexpr std::string_view kNoStorage = "storage devices are not supported yet";
constexpr std::string_view kNoNetwork = "network adapters are not supported yet";

SchemaVersion readSchemaVersion(ObjectReader& root)
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

UefiSettings readUefi(ObjectReader uefi)
{
    UefiSettings s;
    if (uefi.optBool("EnableDebugger").value_or(false)) {
        failUnsupported(uefi.fieldPath("EnableDebugger"), "the UEFI debugger is not supported");
    }
    uefi.rejectUnsupported("SecureBootTemplateId", "secure boot templates are not supported yet");
    if (uefi.optBool("ApplySecureBootTemplate").value_or(false)) {
        failUnsupported(uefi.fieldPath("ApplySecureBootTemplate"), "secure boot is not supported yet");
    }
    uefi.rejectUnsupported("BootThis", kNoStorage);
    s.console = uefi.optEnum("Console", {"Default", "Disabled", "ComPort1", "ComPort2"}).value_or("Default");
    s.stopOnBootFailure = uefi.optBool("StopOnBootFailure").value_or(false);
    uefi.finish();
    return s;
}

LinuxKernelDirect readKernelDirect(ObjectReader lkd)
{
    LinuxKernelDirect k;
    auto kernel = lkd.optString("KernelFilePath");
    if (!kernel || kernel->empty()) failInvalid(lkd.fieldPath("KernelFilePath"), "required field is missing");
    if ((*kernel)[0] != '/') failInvalid(lkd.fieldPath("KernelFilePath"), "expected an absolute path");
    k.kernelFilePath = *kernel;
    k.initRdPath = lkd.optString("InitRdPath").value_or("");
    if (!k.initRdPath.empty() && k.initRdPath[0] != '/') {
        failInvalid(lkd.fieldPath("InitRdPath"), "expected an absolute path");
    }
    k.kernelCmdLine = lkd.optString("KernelCmdLine").value_or("");
    lkd.finish();
    return k;
}

void readChipset(ObjectReader chipset, VirtualMachineConfig& vm)
{
    if (auto uefi = chipset.optObject("Uefi")) vm.uefi = readUefi(*uefi);
    if (auto lkd = chipset.optObject("LinuxKernelDirect")) vm.linuxKernelDirect = readKernelDirect(*lkd);
    vm.useUtc = chipset.optBool("UseUtc").value_or(false);
    for (auto name : {"BaseBoardSerialNumber", "ChassisSerialNumber", "ChassisAssetTag", "Bios"}) {
        chipset.rejectUnsupported(name, "not supported yet");
    }
    chipset.finish();
    if (vm.uefi && vm.linuxKernelDirect) {
        failInvalid(chipset.path(), "Uefi and LinuxKernelDirect are mutually exclusive");
    }
    if (!vm.uefi && !vm.linuxKernelDirect) failInvalid(chipset.path(), "one of Uefi or LinuxKernelDirect is required");
}

void readMemory(ObjectReader memory, VirtualMachineConfig& vm)
{
    auto size = memory.optUnsigned("SizeInMB", kMaxMemoryMB);
    if (!size) failInvalid(memory.fieldPath("SizeInMB"), "required field is missing");
    if (*size < kMinMemoryMB) {
        failInvalid(memory.fieldPath("SizeInMB"), "at least " + std::to_string(kMinMemoryMB) + " MB are required");
    }
    vm.memorySizeInMB = *size;
    vm.memoryBacking = memory.optEnum("Backing", {"Physical", "Virtual", "Hybrid"}).value_or("Virtual");
    // Placement hints with no QEMU equivalent that changes behaviour; accepted (docs/hcsd.md).
    for (auto hint : {"AllowOvercommit", "EnableDeferredCommit", "EnableHotHint", "EnableColdHint"}) {
        memory.optBool(hint);
    }
    if (memory.optEnum("BackingPageSize", {"Small", "Large"}).value_or("Small") == "Large") {
        failUnsupported(memory.fieldPath("BackingPageSize"), "large backing pages are not supported yet");
    }
    if (memory.optBool("PinBackingPages").value_or(false)) {
        failUnsupported(memory.fieldPath("PinBackingPages"), "pinned backing pages are not supported yet");
    }
    for (auto name : {"LowMmioGapInMB", "HighMmioBaseInMB", "HighMmioGapInMB", "SlitType", "HostingProcessNameSuffix",
                      "EnableEpf", "SharedMemoryMB"}) {
        memory.rejectUnsupported(name, "not supported yet");
    }
    memory.finish();
}

void readProcessor(ObjectReader processor, VirtualMachineConfig& vm)
{
    auto count = processor.optUnsigned("Count", kMaxProcessorCount);
    if (count && *count == 0) failInvalid(processor.fieldPath("Count"), "at least 1 processor is required");
    vm.processorCount = static_cast<uint32_t>(count.value_or(1));
    // Scheduling hints (out of 100000): validated, not enforced (docs/hcsd.md).
    processor.optUnsigned("Limit", 100000);
    processor.optUnsigned("Weight", 10000);
    processor.optUnsigned("Reservation", 100000);
    if (processor.optBool("ExposeVirtualizationExtensions").value_or(false)) {
        failUnsupported(processor.fieldPath("ExposeVirtualizationExtensions"),
                        "nested virtualization is not supported");
    }
    for (auto name : {"CpuGroup", "EnablePerfmonPmu", "EnablePerfmonPebs", "EnablePerfmonLbr", "EnablePerfmonIpt",
                      "EnableSchedulerAssist", "SynchronizeHostFeatures", "EnablePageShattering"}) {
        processor.rejectUnsupported(name, "not supported yet");
    }
    processor.finish();
}

void readComPorts(ObjectReader ports, VirtualMachineConfig& vm)
{
    for (const char* key : {"0", "1"}) {
        auto port = ports.optObject(key);
        if (!port) continue;
        ComPort p;
        auto pipe = port->optString("NamedPipe");
        if (!pipe || pipe->empty()) failInvalid(port->fieldPath("NamedPipe"), "required field is missing");
        p.namedPipe = *pipe;
        port->optBool("OptimizeForDebugger");  // a Hyper-V polling tweak; no QEMU meaning
        port->finish();
        vm.comPorts[static_cast<uint32_t>(key[0] - '0')] = p;
    }
    ports.finish();  // "2", "COM1", ... : only ports 0 and 1 exist (COM1, COM2)
}

void readDevices(ObjectReader devices, VirtualMachineConfig& vm)
{
    if (auto ports = devices.optObject("ComPorts")) readComPorts(*ports, vm);
    devices.rejectUnsupported("Scsi", kNoStorage);
    devices.rejectUnsupported("VirtualPMem", kNoStorage);
    devices.rejectUnsupported("NetworkAdapters", kNoNetwork);
    devices.rejectUnsupported("Plan9", "Plan9 shares are not supported yet");
    devices.rejectUnsupported("VirtualSmb", "SMB shares are not supported yet");
    devices.rejectUnsupported("HvSocket", "Hyper-V sockets are not supported (a vsock device is planned)");
    for (auto name : {"VideoMonitor", "EnhancedModeVideo", "Keyboard", "Mouse"}) {
        devices.rejectUnsupported(name, "graphical consoles are not supported (VMs run headless; use ComPorts)");
    }
    for (auto name : {"GuestCrashReporting", "VirtioSerial", "FlexibleIov", "SharedMemory", "VirtualPci", "Battery",
                      "ComPortsEx", "Licensing", "Tpm"}) {
        devices.rejectUnsupported(name, "not supported yet");
    }
    devices.finish();
}

VirtualMachineConfig readVirtualMachine(ObjectReader vmReader)
{
    VirtualMachineConfig vm;
    vm.stopOnReset = vmReader.optBool("StopOnReset").value_or(false);
    auto chipset = vmReader.optObject("Chipset");
    if (!chipset) failInvalid(vmReader.fieldPath("Chipset"), "required field is missing");
    readChipset(*chipset, vm);
    auto topology = vmReader.optObject("ComputeTopology");
    if (!topology) failInvalid(vmReader.fieldPath("ComputeTopology"), "required field is missing");
    auto memory = topology->optObject("Memory");
    if (!memory) failInvalid(topology->fieldPath("Memory"), "required field is missing");
    readMemory(*memory, vm);
    if (auto processor = topology->optObject("Processor")) readProcessor(*processor, vm);
    topology->rejectUnsupported("Numa", "NUMA topologies are not supported yet");
    topology->finish();
    if (auto devices = vmReader.optObject("Devices")) readDevices(*devices, vm);
    vmReader.rejectUnsupported("GuestState", "guest state files are not supported yet");
    vmReader.rejectUnsupported("RestoreState", "restoring saved state is not supported yet");
    vmReader.rejectUnsupported("RegistryChanges", "registry changes apply to Windows guests only");
    vmReader.rejectUnsupported("StorageQoS", kNoStorage);
    if (auto guest = vmReader.optObject("GuestConnection")) {
        GuestConnectionConfig g;
        g.useVsock = guest->optBool("UseVsock").value_or(false);
        g.useConnectedSuspend = guest->optBool("UseConnectedSuspend").value_or(false);
        g.useHostTimeZone = guest->optBool("UseHostTimeZone").value_or(false);
        guest->finish();
        vm.guestConnection = g;
    }
    vmReader.rejectUnsupported("DebugOptions", "not supported yet");
    vmReader.rejectUnsupported("SecuritySettings", "not supported yet");
    vmReader.rejectUnsupported("Version", "not supported yet");
    vmReader.finish();
    return vm;
}

}  // namespace

Result<ComputeSystemConfig> parseComputeSystem(std::string_view document)
{
    auto parsed = parseJson(document, kDocumentLimits, "the configuration", HCS_E_INVALID_JSON);
    if (!parsed) return parsed.error();
    const json& doc = *parsed;
    try {
        ObjectReader root(doc, "");
        ComputeSystemConfig config;
        config.schemaVersion = readSchemaVersion(root);
        config.owner = root.optString("Owner").value_or("");
        config.shouldTerminateOnLastHandleClosed = root.optBool("ShouldTerminateOnLastHandleClosed").value_or(false);
        root.rejectUnsupported("Container", "containers are not supported yet (virtual machines only)");
        root.rejectUnsupported("HostedSystem", "hosted systems are not supported yet");
        root.rejectUnsupported("HostingSystemId", "hosted systems are not supported yet");
        auto vm = root.optObject("VirtualMachine");
        if (!vm) failInvalid("VirtualMachine", "required field is missing (only virtual machines are supported)");
        config.virtualMachine = readVirtualMachine(*vm);
        root.finish();
        return config;
    } catch (const SchemaError& e) {
        return makeError(e.hr, e.what());
    }
}

}  // namespace hc::hcs::schema
