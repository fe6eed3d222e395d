// Schema validation, table-driven: each case is a configuration and the HRESULT plus the field path
// the error message must name.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hcs/schema/compute_system.h"
#include "hcs/schema/documents.h"
#include "hcs/schema/json_limits.h"

namespace hc::hcs::schema {
namespace {

using nlohmann::json;

json validVm()
{
    return json::parse(R"({
        "SchemaVersion": {"Major": 2, "Minor": 1},
        "Owner": "Sample",
        "VirtualMachine": {
            "Chipset": {"Uefi": {}},
            "ComputeTopology": {"Memory": {"Backing": "Physical", "SizeInMB": 1024}, "Processor": {"Count": 2}}
        },
        "ShouldTerminateOnLastHandleClosed": true
    })");
}

TEST(Schema, SeedEmptyVmParses)
{
    auto config = parseComputeSystem(validVm().dump());
    ASSERT_TRUE(config.ok()) << config.error().message;
    EXPECT_EQ(config->owner, "Sample");
    EXPECT_TRUE(config->shouldTerminateOnLastHandleClosed);
    EXPECT_TRUE(config->virtualMachine.uefi.has_value());
    EXPECT_EQ(config->virtualMachine.memorySizeInMB, 1024u);
    EXPECT_EQ(config->virtualMachine.memoryBacking, "Physical");
    EXPECT_EQ(config->virtualMachine.processorCount, 2u);
}

TEST(Schema, KernelDirectAndComPortsParse)
{
    json doc = validVm();
    doc["VirtualMachine"]["Chipset"] = json{
        {"LinuxKernelDirect", {{"KernelFilePath", "/k"}, {"InitRdPath", "/i"}, {"KernelCmdLine", "console=ttyS0"}}}};
    doc["VirtualMachine"]["Devices"] = json{{"ComPorts", {{"0", {{"NamedPipe", "\\\\.\\pipe\\vm0"}}}}}};
    doc["VirtualMachine"]["StopOnReset"] = true;
    auto config = parseComputeSystem(doc.dump());
    ASSERT_TRUE(config.ok()) << config.error().message;
    ASSERT_TRUE(config->virtualMachine.linuxKernelDirect.has_value());
    EXPECT_EQ(config->virtualMachine.linuxKernelDirect->kernelCmdLine, "console=ttyS0");
    EXPECT_EQ(config->virtualMachine.comPorts.at(0).namedPipe, "\\\\.\\pipe\\vm0");
    EXPECT_TRUE(config->virtualMachine.stopOnReset);
}

TEST(Schema, DevicesParse)
{
    json doc = validVm();
    doc["VirtualMachine"]["Chipset"]["Uefi"]["BootThis"] = {
        {"DeviceType", "ScsiDrive"}, {"DevicePath", "Primary"}, {"DiskNumber", 1}};
    doc["VirtualMachine"]["Chipset"]["BaseBoardSerialNumber"] = "board-1";
    doc["VirtualMachine"]["Devices"] = json::parse(R"({
        "Scsi": {"Primary": {"Attachments": {
            "0": {"Type": "Iso", "Path": "/srv/seed.iso"},
            "1": {"Type": "VirtualDisk", "Path": "/srv/root.vhdx", "CachingMode": "Cached", "IgnoreFlushes": true,
                  "NoWriteHardening": true}}}},
        "Plan9": {"Shares": [{"Name": "src", "AccessName": "srcro", "Path": "/srv/src", "Flags": 5, "Port": 564}]},
        "NetworkAdapters": {"eth0": {"EndpointId": "e", "MacAddress": "00-15-5D-AB-cd-01"}},
        "VirtioSerial": {"Ports": {"2": {"Name": "org.hostcompute.test", "NamedPipe": "\\\\.\\pipe\\t"}}},
        "GuestCrashReporting": {"WindowsCrashSettings": {"DumpFileName": "x"}},
        "Keyboard": {}, "Mouse": {}
    })");
    doc["VirtualMachine"]["ComputeTopology"]["Memory"]["EnableColdDiscardHint"] = true;
    auto config = parseComputeSystem(doc.dump());
    ASSERT_TRUE(config.ok()) << config.error().message;
    const auto& vm = config->virtualMachine;
    ASSERT_TRUE(vm.uefi->bootThis.has_value());
    EXPECT_EQ(vm.uefi->bootThis->controller, "Primary");
    EXPECT_EQ(vm.uefi->bootThis->lun, 1u);
    EXPECT_EQ(vm.baseBoardSerialNumber, "board-1");
    const auto& disks = vm.scsi.at("Primary").attachments;
    EXPECT_EQ(disks.at(0).type, AttachmentType::Iso);
    EXPECT_TRUE(disks.at(0).readOnly);  // an ISO is read-only whatever ReadOnly says
    EXPECT_EQ(disks.at(1).cachingMode, CachingMode::Cached);
    EXPECT_TRUE(disks.at(1).ignoreFlushes);
    EXPECT_FALSE(disks.at(1).readOnly);
    ASSERT_EQ(vm.plan9Shares.size(), 1u);
    EXPECT_TRUE(vm.plan9Shares[0].readOnly());
    EXPECT_EQ(vm.plan9Shares[0].mountTag(), "srcro");
    EXPECT_EQ(vm.networkAdapters.at("eth0").macAddress, "00:15:5d:ab:cd:01");
    EXPECT_EQ(vm.virtioSerialPorts.at(2).name, "org.hostcompute.test");
    EXPECT_EQ(vm.virtioSerialPorts.at(2).namedPipe, "\\\\.\\pipe\\t");
    EXPECT_TRUE(vm.guestCrashReporting);
    EXPECT_FALSE(vm.hvSocket);
    EXPECT_TRUE(config->unsupported.empty());
}

// Reading lists every unsupported feature; parsing refuses with the first, naming it.
TEST(Schema, ReadListsUnsupportedFeaturesParseRefusesTheFirst)
{
    json doc = validVm();
    doc["VirtualMachine"]["Devices"] = {{"VirtualSmb", {{"Shares", json::array()}}}, {"Battery", json::object()}};
    doc["VirtualMachine"]["ComputeTopology"]["Processor"]["EnablePerfmonPmu"] = true;
    doc["VirtualMachine"]["ComputeTopology"]["Processor"]["EnablePerfmonLbr"] = false;  // the default: no refusal
    auto read = readComputeSystem(doc.dump());
    ASSERT_TRUE(read.ok()) << read.error().message;
    std::vector<std::string> fields;
    for (const auto& r : read->unsupported)
        fields.push_back(r.field);
    EXPECT_EQ(fields,
              (std::vector<std::string>{"VirtualMachine.ComputeTopology.Processor.EnablePerfmonPmu",
                                        "VirtualMachine.Devices.VirtualSmb", "VirtualMachine.Devices.Battery"}));
    auto parsed = parseComputeSystem(doc.dump());
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().hr, E_NOTIMPL);
    EXPECT_EQ(
        parsed.error().message,
        "VirtualMachine.ComputeTopology.Processor.EnablePerfmonPmu: guest performance counters are not supported");
}

TEST(Schema, MacAddresses)
{
    EXPECT_EQ(normaliseMacAddress("00-15-5D-0A-0b-FF"), "00:15:5d:0a:0b:ff");
    EXPECT_EQ(normaliseMacAddress("00:15:5d:0a:0b:ff"), "00:15:5d:0a:0b:ff");
    for (const char* bad : {"", "00-15-5D-0A-0B", "00-15-5D-0A-0B-FG", "00_15_5D_0A_0B_FF", "00-15-5D-0A-0B-FF-"}) {
        EXPECT_FALSE(normaliseMacAddress(bad).has_value()) << bad;
    }
}

TEST(Schema, GuestStateAndRestoreStateAreRead)
{
    json doc = validVm();
    doc["VirtualMachine"]["GuestState"] = {
        {"GuestStateFilePath", "/vm.vmgs"}, {"RuntimeStateFilePath", "/vm.vmrs"}, {"ForceTransientState", true}};
    doc["VirtualMachine"]["RestoreState"] = {{"SaveStateFilePath", "/vm.save"}};
    auto config = parseComputeSystem(doc.dump());
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->virtualMachine.guestState.guestStateFilePath, "/vm.vmgs");
    EXPECT_EQ(config->virtualMachine.guestState.runtimeStateFilePath, "/vm.vmrs");
    ASSERT_TRUE(config->virtualMachine.restoreState);
    EXPECT_EQ(config->virtualMachine.restoreState->saveStateFilePath, "/vm.save");
    doc["VirtualMachine"]["RestoreState"] = {{"TemplateSystemId", "golden"}};
    config = parseComputeSystem(doc.dump());
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->virtualMachine.restoreState->templateSystemId, "golden");
}

struct BadCase {
    const char* name;
    const char* pointer;  // JSON pointer to change ("" = the whole document)
    json value;           // the new value (null with erase = remove the field)
    bool erase;
    HRESULT hr;
    const char* messageContains;
};

class SchemaRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(SchemaRejects, NamesTheField)
{
    const BadCase& c = GetParam();
    json doc = validVm();
    json::json_pointer ptr(c.pointer);
    if (c.erase) {
        doc[ptr.parent_pointer()].erase(ptr.back());
    } else {
        doc[ptr] = c.value;
    }
    auto config = parseComputeSystem(doc.dump());
    ASSERT_FALSE(config.ok()) << c.name;
    EXPECT_EQ(config.error().hr, c.hr) << config.error().message;
    EXPECT_NE(config.error().message.find(c.messageContains), std::string::npos) << config.error().message;
}

const BadCase kBadCases[] = {
    {"size as string", "/VirtualMachine/ComputeTopology/Memory/SizeInMB", "1024", false, HCS_E_INVALID_JSON,
     "VirtualMachine.ComputeTopology.Memory.SizeInMB: expected an unsigned integer, got string"},
    {"negative size", "/VirtualMachine/ComputeTopology/Memory/SizeInMB", -5, false, HCS_E_INVALID_JSON,
     "Memory.SizeInMB: expected an unsigned integer, got a negative integer"},
    {"fractional size", "/VirtualMachine/ComputeTopology/Memory/SizeInMB", 1.5, false, HCS_E_INVALID_JSON,
     "SizeInMB: expected an unsigned integer"},
    {"tiny memory", "/VirtualMachine/ComputeTopology/Memory/SizeInMB", 1, false, HCS_E_INVALID_JSON, "at least 16 MB"},
    {"size missing", "/VirtualMachine/ComputeTopology/Memory/SizeInMB", nullptr, true, HCS_E_INVALID_JSON,
     "Memory.SizeInMB: required field is missing"},
    {"bad backing", "/VirtualMachine/ComputeTopology/Memory/Backing", "Fast", false, HCS_E_INVALID_JSON,
     "Backing: \"Fast\" is not one of Physical, Virtual, Hybrid"},
    {"zero cpus", "/VirtualMachine/ComputeTopology/Processor/Count", 0, false, HCS_E_INVALID_JSON,
     "Processor.Count: at least 1"},
    {"bool as string", "/ShouldTerminateOnLastHandleClosed", "yes", false, HCS_E_INVALID_JSON,
     "ShouldTerminateOnLastHandleClosed: expected a boolean, got string"},
    {"owner as number", "/Owner", 7, false, HCS_E_INVALID_JSON, "Owner: expected a string"},
    {"unknown top-level field", "/Ownr", "x", false, HCS_E_INVALID_JSON, "Ownr: unknown field"},
    {"unknown nested field", "/VirtualMachine/ComputeTopology/Memory/SizeInGB", 1, false, HCS_E_INVALID_JSON,
     "VirtualMachine.ComputeTopology.Memory.SizeInGB: unknown field"},
    {"no schema version", "/SchemaVersion", nullptr, true, HCS_E_INVALID_JSON, "SchemaVersion: required"},
    {"schema 1.0", "/SchemaVersion", json{{"Major", 1}, {"Minor", 0}}, false, E_NOTIMPL, "schema version 1.0"},
    {"no chipset", "/VirtualMachine/Chipset", nullptr, true, HCS_E_INVALID_JSON, "VirtualMachine.Chipset: required"},
    {"empty chipset", "/VirtualMachine/Chipset", json::object(), false, HCS_E_INVALID_JSON,
     "one of Uefi or LinuxKernelDirect"},
    {"both boot modes", "/VirtualMachine/Chipset/LinuxKernelDirect", json{{"KernelFilePath", "/k"}}, false,
     HCS_E_INVALID_JSON, "mutually exclusive"},
    {"relative kernel", "/VirtualMachine/Chipset", json{{"LinuxKernelDirect", {{"KernelFilePath", "vmlinuz"}}}}, false,
     HCS_E_INVALID_JSON, "KernelFilePath: expected an absolute path"},
    {"scsi lun not a number", "/VirtualMachine/Devices",
     json{{"Scsi", {{"c", {{"Attachments", {{"x", {{"Type", "VirtualDisk"}, {"Path", "/d.img"}}}}}}}}}}, false,
     HCS_E_INVALID_JSON, "VirtualMachine.Devices.Scsi.c.Attachments.x: a LUN is a number from 0 to 63"},
    {"scsi passthru", "/VirtualMachine/Devices",
     json{{"Scsi", {{"c", {{"Attachments", {{"0", {{"Type", "PassThru"}, {"Path", "/dev/sda"}}}}}}}}}}, false,
     E_NOTIMPL, "VirtualMachine.Devices.Scsi.c.Attachments.0.Type: PassThru attachments are not supported"},
    {"scsi relative path", "/VirtualMachine/Devices",
     json{{"Scsi", {{"c", {{"Attachments", {{"0", {{"Type", "VirtualDisk"}, {"Path", "d.vhdx"}}}}}}}}}}, false,
     HCS_E_INVALID_JSON, "Attachments.0.Path: expected an absolute path"},
    {"scsi unknown attachment field", "/VirtualMachine/Devices",
     json{{"Scsi", {{"c", {{"Attachments", {{"0", {{"Type", "Iso"}, {"Path", "/i.iso"}, {"Cache", true}}}}}}}}}}, false,
     HCS_E_INVALID_JSON, "Attachments.0.Cache: unknown field"},
    {"scsi hint of the wrong type", "/VirtualMachine/Devices",
     json{
         {"Scsi", {{"c", {{"Attachments", {{"0", {{"Type", "Iso"}, {"Path", "/i.iso"}, {"NoWriteHardening", 1}}}}}}}}}},
     false, HCS_E_INVALID_JSON, "Attachments.0.NoWriteHardening: expected a boolean, got an unsigned integer"},
    {"boot from a missing controller", "/VirtualMachine/Chipset/Uefi/BootThis",
     json{{"DeviceType", "ScsiDrive"}, {"DevicePath", "Primary"}, {"DiskNumber", 0}}, false, HCS_E_INVALID_JSON,
     "VirtualMachine.Chipset.Uefi.BootThis.DevicePath: no SCSI controller is named \"Primary\""},
    {"boot from vmbfs", "/VirtualMachine/Chipset/Uefi/BootThis", json{{"DeviceType", "VmbFs"}}, false, E_NOTIMPL,
     "BootThis.DeviceType: booting from VmbFs is not supported"},
    {"bad mac", "/VirtualMachine/Devices", json{{"NetworkAdapters", {{"n", {{"MacAddress", "00-15-5D-12-34"}}}}}},
     false, HCS_E_INVALID_JSON, "NetworkAdapters.n.MacAddress: \"00-15-5D-12-34\" is not a MAC address"},
    {"multicast mac", "/VirtualMachine/Devices",
     json{{"NetworkAdapters", {{"n", {{"MacAddress", "01-15-5D-12-34-56"}}}}}}, false, HCS_E_INVALID_JSON,
     "is a multicast address"},
    {"plan9 relative path", "/VirtualMachine/Devices",
     json{{"Plan9", {{"Shares", json::array({{{"Name", "s"}, {"Path", "rel"}}})}}}}, false, HCS_E_INVALID_JSON,
     "VirtualMachine.Devices.Plan9.Shares[0].Path: expected an absolute path"},
    {"plan9 unknown flag", "/VirtualMachine/Devices",
     json{{"Plan9", {{"Shares", json::array({{{"Name", "s"}, {"Path", "/s"}, {"Flags", 2}}})}}}}, false,
     HCS_E_INVALID_JSON, "Shares[0].Flags: unknown Plan9ShareFlags bits 2"},
    {"plan9 duplicate tag", "/VirtualMachine/Devices",
     json{{"Plan9", {{"Shares", json::array({{{"Name", "s"}, {"Path", "/a"}}, {{"Name", "s"}, {"Path", "/b"}}})}}}},
     false, HCS_E_INVALID_JSON, "Shares[1].Name: another share has the mount tag \"s\""},
    {"plan9 allow-list", "/VirtualMachine/Devices",
     json{{"Plan9", {{"Shares", json::array({{{"Name", "s"}, {"Path", "/a"}, {"AllowedFiles", {"x"}}}})}}}}, false,
     E_NOTIMPL, "Shares[0].AllowedFiles: file allow-lists are not supported"},
    {"virtio serial bad name", "/VirtualMachine/Devices",
     json{{"VirtioSerial", {{"Ports", {{"0", {{"Name", "a b"}, {"NamedPipe", "/s"}}}}}}}}, false, HCS_E_INVALID_JSON,
     "VirtioSerial.Ports.0.Name: \"a b\" may hold only"},
    {"virtio serial without pipe", "/VirtualMachine/Devices",
     json{{"VirtioSerial", {{"Ports", {{"3", {{"Name", "a"}}}}}}}}, false, HCS_E_INVALID_JSON,
     "VirtioSerial.Ports.3.NamedPipe: required field is missing"},
    {"virtual pmem", "/VirtualMachine/Devices", json{{"VirtualPMem", json::object()}}, false, E_NOTIMPL,
     "VirtualMachine.Devices.VirtualPMem: virtual persistent memory"},
    {"video", "/VirtualMachine/Devices", json{{"VideoMonitor", json::object()}}, false, E_NOTIMPL, "headless"},
    {"memory hint of the wrong type", "/VirtualMachine/ComputeTopology/Memory/EnableColdDiscardHint", "yes", false,
     HCS_E_INVALID_JSON, "Memory.EnableColdDiscardHint: expected a boolean, got string"},
    {"pinned pages", "/VirtualMachine/ComputeTopology/Memory/PinBackingPages", true, false, E_NOTIMPL,
     "Memory.PinBackingPages: pinned backing pages"},
    {"numa", "/VirtualMachine/ComputeTopology/Numa", json::object(), false, E_NOTIMPL, "ComputeTopology.Numa"},
    {"container", "/Container", json::object(), false, HCS_E_INVALID_JSON,
     "Container: a compute system is a VirtualMachine or a Container, not both"},
    {"relative guest state file", "/VirtualMachine/GuestState", json{{"RuntimeStateFilePath", "vm.vmrs"}}, false,
     HCS_E_INVALID_JSON, "VirtualMachine.GuestState.RuntimeStateFilePath: expected an absolute path"},
    {"restore state without a source", "/VirtualMachine/RestoreState", json::object(), false, HCS_E_INVALID_JSON,
     "VirtualMachine.RestoreState.SaveStateFilePath: required"},
    {"restore state with both sources", "/VirtualMachine/RestoreState",
     json{{"SaveStateFilePath", "/vm.save"}, {"TemplateSystemId", "t"}}, false, HCS_E_INVALID_JSON,
     "VirtualMachine.RestoreState.TemplateSystemId: give either"},
    {"container and vm", "/Container", json{{"Storage", json::object()}}, false, HCS_E_INVALID_JSON, "not both"},
    {"guest connection flag as string", "/VirtualMachine/GuestConnection", json{{"UseVsock", "yes"}}, false,
     HCS_E_INVALID_JSON, "VirtualMachine.GuestConnection.UseVsock: expected a boolean"},
    {"guest connection unknown field", "/VirtualMachine/GuestConnection", json{{"UseHvSocket", true}}, false,
     HCS_E_INVALID_JSON, "VirtualMachine.GuestConnection.UseHvSocket: unknown field"},
    {"com port 2", "/VirtualMachine/Devices", json{{"ComPorts", {{"2", {{"NamedPipe", "x"}}}}}}, false,
     HCS_E_INVALID_JSON, "VirtualMachine.Devices.ComPorts.2: unknown field"},
    {"com port without pipe", "/VirtualMachine/Devices", json{{"ComPorts", {{"0", json::object()}}}}, false,
     HCS_E_INVALID_JSON, "ComPorts.0.NamedPipe: required"},
    {"vm not an object", "/VirtualMachine", json::array(), false, HCS_E_INVALID_JSON,
     "VirtualMachine: expected an object, got an array"},
    {"secure boot", "/VirtualMachine/Chipset/Uefi/ApplySecureBootTemplate", true, false, E_NOTIMPL, "secure boot"},
    {"secure boot as hcsshim writes it", "/VirtualMachine/Chipset/Uefi/ApplySecureBootTemplate", "Apply", false,
     E_NOTIMPL, "Uefi.ApplySecureBootTemplate: secure boot"},
    {"secure boot bad value", "/VirtualMachine/Chipset/Uefi/ApplySecureBootTemplate", "Maybe", false,
     HCS_E_INVALID_JSON, "ApplySecureBootTemplate: expected \"Apply\", \"Skip\" or a boolean"},
    {"nested virt", "/VirtualMachine/ComputeTopology/Processor/ExposeVirtualizationExtensions", true, false, E_NOTIMPL,
     "nested virtualization"},
};

INSTANTIATE_TEST_SUITE_P(Table, SchemaRejects, ::testing::ValuesIn(kBadCases), [](const auto& info) {
    std::string n = info.param.name;
    for (char& ch : n) {
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
    }
    return n;
});

TEST(Schema, NotJsonAtAll)
{
    for (const char* text : {"", "{", "not json", "[1,2]", "\"text\"", "null"}) {
        auto config = parseComputeSystem(text);
        ASSERT_FALSE(config.ok()) << text;
        EXPECT_EQ(config.error().hr, HCS_E_INVALID_JSON) << text;
    }
}

// Hole 3: a deeply nested or huge document is refused by its limit before it becomes a JSON value.
TEST(Schema, DocumentsBeyondTheLimitsAreRefusedNamingTheLimit)
{
    const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
    const std::string deepObject = R"({"VirtualMachine": )" + deep + "}";
    for (const auto& result :
         {parseComputeSystem(deepObject).hr(), parsePropertyQuery(deep).hr(), parseEnumerateQuery(deep).hr()}) {
        EXPECT_EQ(result, HCS_E_INVALID_JSON);
    }
    auto config = parseComputeSystem(deepObject);
    EXPECT_NE(config.error().message.find("the configuration nests arrays and objects deeper than the limit of 64"),
              std::string::npos)
        << config.error().message;
    // Exactly at the limit is fine for the limit check (the schema then says what is wrong).
    const std::string atLimit = std::string(kDocumentLimits.maxDepth, '[') + std::string(kDocumentLimits.maxDepth, ']');
    EXPECT_TRUE(checkJsonLimits(atLimit, kDocumentLimits, "x", E_FAIL).ok());
    EXPECT_FALSE(checkJsonLimits("[" + atLimit + "]", kDocumentLimits, "x", E_FAIL).ok());

    std::string huge = R"({"Owner": ")" + std::string(kDocumentLimits.maxBytes, 'a') + R"("})";
    auto big = parseComputeSystem(huge);
    EXPECT_EQ(big.hr(), HCS_E_INVALID_JSON);
    EXPECT_NE(big.error().message.find("more than the limit of 4194304"), std::string::npos) << big.error().message;
}

TEST(Documents, ResultErrorIsBuiltInOnePlace)
{
    auto document = json::parse(resultErrorText(HCS_E_INVALID_STATE, "bad \xff byte"));
    EXPECT_EQ(document["Error"].get<int32_t>(), static_cast<int32_t>(HCS_E_INVALID_STATE));
    EXPECT_EQ(document["ErrorMessage"].get<std::string>().substr(0, 4), "bad ");
    EXPECT_EQ(resultError(E_FAIL, "x"), json::parse(resultErrorText(E_FAIL, "x")));
}

TEST(Documents, PropertyQuery)
{
    EXPECT_TRUE(parsePropertyQuery("").ok());
    EXPECT_TRUE(parsePropertyQuery("null").ok());
    auto q = parsePropertyQuery(R"({"PropertyTypes": ["Statistics"]})");
    ASSERT_TRUE(q.ok());
    EXPECT_TRUE(q->statistics);
    auto both = parsePropertyQuery(R"({"PropertyTypes": ["ProcessList", "GuestConnection"]})");
    ASSERT_TRUE(both.ok());
    EXPECT_TRUE(both->processList);
    EXPECT_TRUE(both->guestConnection);
    EXPECT_FALSE(both->statistics);
    auto memory = parsePropertyQuery(R"({"PropertyTypes": ["Memory", "Configuration"]})");
    ASSERT_TRUE(memory.ok());
    EXPECT_TRUE(memory->memory);
    EXPECT_TRUE(memory->configuration);
    auto bad = parsePropertyQuery(R"({"PropertyTypes": ["SharedMemoryRegion"]})");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().hr, E_NOTIMPL);
    EXPECT_NE(bad.error().message.find("PropertyTypes[0]"), std::string::npos);
    EXPECT_EQ(parsePropertyQuery(R"({"PropertyTypes": "Statistics"})").hr(), HCS_E_INVALID_JSON);
    EXPECT_EQ(parsePropertyQuery("{").hr(), HCS_E_INVALID_JSON);
}

TEST(Documents, EnumerateQuery)
{
    auto q = parseEnumerateQuery(R"({"Ids": ["a"], "Owners": ["o"]})");
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(q->ids, std::vector<std::string>{"a"});
    EXPECT_EQ(q->owners, std::vector<std::string>{"o"});
    auto bad = parseEnumerateQuery(R"({"Ids": [1]})");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("Ids[0]: expected a string"), std::string::npos);
}

TEST(Documents, SystemExitStatus)
{
    SystemExitStatus s{HCS_E_UNEXPECTED_EXIT, ExitType::UnexpectedExit, ExitDetail::UnexpectedExit,
                       ExitInitiator::Unknown};
    json j = toJson(s);
    EXPECT_EQ(j["Status"].get<int32_t>(), static_cast<int32_t>(HCS_E_UNEXPECTED_EXIT));
    EXPECT_EQ(j["ExitType"], "UnexpectedExit");
    EXPECT_EQ(j["Attribution"][0]["SystemExit"]["Detail"], "UnexpectedExit");
    EXPECT_EQ(j["Attribution"][0]["SystemExit"]["Initiator"], "Unknown");
}

}  // namespace
}  // namespace hc::hcs::schema
