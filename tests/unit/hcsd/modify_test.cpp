// HcsModifyComputeSystem without QEMU: the ModifySettingRequest parser and its application to a
// configuration document (schema/modify_request.h), the QMP steps of each change (vm/hotplug.h), and
// hcsd's core running them against the fake VM — steps in order, DEVICE_DELETED awaited, undo after a
// failure, the document updated only on success, refusals naming the ResourcePath.
#include <gtest/gtest.h>

#include <fstream>

#include "hcs/schema/modify_request.h"
#include "hcs/vm/hotplug.h"
#include "service_fixture.h"

namespace hc::hcs::service {
namespace {

using schema::applyModifyRequest;
using schema::ModifyRequestType;
using schema::ModifyResource;
using schema::parseModifySettingRequest;

// --------------------------------------------------------------------------------- the request

TEST(ModifyRequestTest, NamesEachSupportedResource)
{
    auto disk = parseModifySettingRequest(
        R"({"ResourcePath": "VirtualMachine/Devices/Scsi/main/Attachments/3", "RequestType": "Add",
            "Settings": {"Type": "VirtualDisk", "Path": "/d.img"}})");
    ASSERT_TRUE(disk) << disk.error().message;
    EXPECT_EQ(disk->resource, ModifyResource::ScsiAttachment);
    EXPECT_EQ(disk->controller, "main");
    EXPECT_EQ(disk->lun, 3u);

    auto nic = parseModifySettingRequest(
        R"({"ResourcePath": "VirtualMachine/Devices/NetworkAdapters/eth x", "RequestType": "Remove"})");
    ASSERT_TRUE(nic) << nic.error().message;
    EXPECT_EQ(nic->resource, ModifyResource::NetworkAdapter);
    EXPECT_EQ(nic->adapter, "eth x");
    EXPECT_EQ(nic->type, ModifyRequestType::Remove);

    auto memory = parseModifySettingRequest(
        R"({"ResourcePath": "VirtualMachine/ComputeTopology/Memory/SizeInMB", "RequestType": "Update",
            "Settings": 192})");
    ASSERT_TRUE(memory) << memory.error().message;
    EXPECT_EQ(memory->memoryMB, 192u);
}

TEST(ModifyRequestTest, RefusalsNameTheFieldOrThePath)
{
    auto expect = [](const char* text, HRESULT hr, const std::string& part) {
        auto r = parseModifySettingRequest(text);
        ASSERT_FALSE(r) << text;
        EXPECT_EQ(r.error().hr, hr) << r.error().message;
        EXPECT_NE(r.error().message.find(part), std::string::npos) << r.error().message;
    };
    expect(R"({"RequestType": "Add"})", HCS_E_INVALID_JSON, "ResourcePath: required");
    expect(R"({"ResourcePath": "VirtualMachine/ComputeTopology/Memory/SizeInMB"})", HCS_E_INVALID_JSON,
           "RequestType: required");
    expect(R"({"ResourcePath": "x", "RequestType": "Replace"})", HCS_E_INVALID_JSON, "RequestType");
    expect(R"({"ResourcePath": "x", "RequestType": "Add", "Extra": 1})", HCS_E_INVALID_JSON, "Extra: unknown field");
    expect(R"({"ResourcePath": "VirtualMachine/Devices/Video", "RequestType": "Add", "Settings": {}})", E_NOTIMPL,
           "ResourcePath: \"VirtualMachine/Devices/Video\"");
    expect(R"({"ResourcePath": "VirtualMachine/Devices/ComPorts/0", "RequestType": "Add", "Settings": {}})", E_NOTIMPL,
           "\"VirtualMachine/Devices/ComPorts/0\": COM ports");
    expect(R"({"ResourcePath": "VirtualMachine/ComputeTopology/Processor/CpuGroup", "RequestType": "Update"})",
           E_NOTIMPL, "CpuGroup\": processors");
    expect(R"({"ResourcePath": "VirtualMachine/Devices/Scsi/a/Attachments/0", "RequestType": "Update"})", E_NOTIMPL,
           "RequestType Update is not supported");
    expect(R"({"ResourcePath": "VirtualMachine/Devices/Scsi/a/Attachments/64", "RequestType": "Remove"})",
           HCS_E_INVALID_JSON, "a LUN is a number from 0 to 63");
    expect(R"({"ResourcePath": "VirtualMachine/ComputeTopology/Memory/SizeInMB", "RequestType": "Update",
               "Settings": "1024"})",
           HCS_E_INVALID_JSON, "Settings: expected the size in MB");
    expect(R"({"ResourcePath": "VirtualMachine/Devices/Scsi/a/Attachments/0", "RequestType": "Add"})",
           HCS_E_INVALID_JSON, "Settings: expected the object to add");
    expect(R"({"ResourcePath": "VirtualMachine/Devices/Scsi/a/Attachments/0", "RequestType": "Add",
               "Settings": {}, "GuestRequest": {"ResourceType": "MappedVirtualDisk"}})",
           E_NOTIMPL, "GuestRequest: ");
    expect(R"({"ResourcePath": "VirtualMachine/Devices/Plan9/Shares", "RequestType": "Add",
               "Settings": {"Name": "s", "Path": "/srv"}})",
           E_NOTIMPL, "ResourcePath: \"VirtualMachine/Devices/Plan9/Shares\": a Plan9 share cannot be added");
    expect(R"({"ResourcePath": "VirtualMachine/Devices/Plan9/Shares", "RequestType": "Update", "Settings": {}})",
           E_NOTIMPL, "\"VirtualMachine/Devices/Plan9/Shares\": RequestType Update is not supported");
    expect(R"({"ResourcePath": "VirtualMachine/Devices/Plan9/Shares", "RequestType": "Remove"})", HCS_E_INVALID_JSON,
           "Settings: expected the Plan9Share to remove, got nothing");
    expect(R"({"ResourcePath": "VirtualMachine/Devices/Plan9/Shares", "RequestType": "Remove",
               "Settings": {"AccessName": "a"}})",
           HCS_E_INVALID_JSON, "Settings.Name: required field is missing");
    expect(R"({"ResourcePath": "VirtualMachine/Devices/Plan9/Shares", "RequestType": "Remove",
               "Settings": {"Name": 5}})",
           HCS_E_INVALID_JSON, "Settings.Name");
    expect(R"({"ResourcePath": "VirtualMachine/ComputeTopology/Memory/SizeInMB", "RequestType": "Add", "Settings": 5})",
           E_NOTIMPL, "\"VirtualMachine/ComputeTopology/Memory/SizeInMB\": RequestType Add is not supported");
    expect(R"({"ResourcePath": "VirtualMachine/Devices/NetworkAdapters/", "RequestType": "Remove"})",
           HCS_E_INVALID_JSON, "\"VirtualMachine/Devices/NetworkAdapters/\": the network adapter name is empty");
    expect(R"({"ResourcePath": "Container/Mounts", "RequestType": "Add", "Settings": {}})", E_NOTIMPL,
           "\"Container/Mounts\": not a resource that can be modified");
    expect(R"({"ResourcePath": "", "RequestType": "Add"})", HCS_E_INVALID_JSON, "ResourcePath: required");
    expect("not json", HCS_E_INVALID_JSON, "");
}

TEST(ModifyRequestTest, RemovesAPlan9ShareByNameAndAccessName)
{
    const nlohmann::json config = nlohmann::json::parse(R"({"VirtualMachine": {"Devices": {"Plan9": {"Shares": [
        {"Name": "s", "AccessName": "a", "Path": "/a"}, {"Name": "s", "AccessName": "b", "Path": "/b"},
        {"Name": "t", "Path": "/t"}]}}}})");
    auto remove = [&](const char* settings) {
        auto r = parseModifySettingRequest(
            std::string(R"({"ResourcePath": "VirtualMachine/Devices/Plan9/Shares", "RequestType": "Remove", "Settings": )") +
            settings + "}");
        EXPECT_TRUE(r) << r.error().message;
        return applyModifyRequest(config, *r);
    };
    auto t = remove(R"({"Name": "t", "Path": "/ignored", "Port": 564})");
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ((*t)["VirtualMachine"]["Devices"]["Plan9"]["Shares"].size(), 2u);
    auto b = remove(R"({"Name": "s", "AccessName": "b"})");
    ASSERT_TRUE(b) << b.error().message;
    ASSERT_EQ((*b)["VirtualMachine"]["Devices"]["Plan9"]["Shares"].size(), 2u);
    EXPECT_EQ((*b)["VirtualMachine"]["Devices"]["Plan9"]["Shares"][0]["AccessName"], "a");
    EXPECT_EQ((*b)["VirtualMachine"]["Devices"]["Plan9"]["Shares"][1]["Name"], "t");

    auto ambiguous = remove(R"({"Name": "s"})");
    ASSERT_FALSE(ambiguous);
    EXPECT_EQ(ambiguous.error().hr, HCS_E_INVALID_JSON);
    EXPECT_NE(ambiguous.error().message.find("Settings.AccessName: 2 shares are named \"s\""), std::string::npos)
        << ambiguous.error().message;
    auto missing = remove(R"({"Name": "u"})");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().hr, HRESULT_FROM_WIN32(ERROR_NOT_FOUND));
    EXPECT_NE(missing.error().message.find("ResourcePath \"VirtualMachine/Devices/Plan9/Shares\": no Plan9 share is "
                                          "named \"u\""),
              std::string::npos)
        << missing.error().message;
}

TEST(ModifyRequestTest, AppliesToTheConfigurationDocument)
{
    const nlohmann::json config = nlohmann::json::parse(R"({"VirtualMachine": {"Devices": {
        "Scsi": {"main": {"Attachments": {"0": {"Type": "VirtualDisk", "Path": "/a.img"}}}},
        "NetworkAdapters": {"n": {}}}, "ComputeTopology": {"Memory": {"SizeInMB": 256}}}})");
    auto add = parseModifySettingRequest(
        R"({"ResourcePath": "VirtualMachine/Devices/Scsi/main/Attachments/1", "RequestType": "Add",
            "Settings": {"Type": "VirtualDisk", "Path": "/b.img"}})");
    auto added = applyModifyRequest(config, *add);
    ASSERT_TRUE(added) << added.error().message;
    EXPECT_EQ((*added)["VirtualMachine"]["Devices"]["Scsi"]["main"]["Attachments"]["1"]["Path"], "/b.img");

    auto again = applyModifyRequest(*added, *add);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().hr, HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS));
    EXPECT_NE(again.error().message.find("LUN 1 of controller \"main\" is in use"), std::string::npos);

    auto other = parseModifySettingRequest(
        R"({"ResourcePath": "VirtualMachine/Devices/Scsi/other/Attachments/0", "RequestType": "Add",
            "Settings": {"Type": "VirtualDisk", "Path": "/b.img"}})");
    auto noController = applyModifyRequest(config, *other);
    ASSERT_FALSE(noController);
    EXPECT_EQ(noController.error().hr, HRESULT_FROM_WIN32(ERROR_NOT_FOUND));
    EXPECT_NE(noController.error().message.find("no SCSI controller \"other\""), std::string::npos);

    auto removeNic = parseModifySettingRequest(
        R"({"ResourcePath": "VirtualMachine/Devices/NetworkAdapters/n", "RequestType": "Remove"})");
    auto removed = applyModifyRequest(config, *removeNic);
    ASSERT_TRUE(removed);
    EXPECT_TRUE((*removed)["VirtualMachine"]["Devices"]["NetworkAdapters"].empty());
    EXPECT_EQ(applyModifyRequest(*removed, *removeNic).error().hr, HRESULT_FROM_WIN32(ERROR_NOT_FOUND));

    auto memory = parseModifySettingRequest(
        R"({"ResourcePath": "VirtualMachine/ComputeTopology/Memory/SizeInMB", "RequestType": "Update", "Settings": 128})");
    EXPECT_EQ((*applyModifyRequest(config, *memory))["VirtualMachine"]["ComputeTopology"]["Memory"]["SizeInMB"], 128);
}

// ------------------------------------------------------------------------------------ QMP steps

TEST(HotplugTest, StepsUseTheIdsOfTheCommandLine)
{
    schema::ScsiAttachment disk;
    disk.path = "/d.qcow2";
    vm::DiskSettings settings;
    settings.format = "qcow2";
    auto attach = vm::scsiAttachSteps(1, 5, disk, settings);
    ASSERT_EQ(attach.size(), 3u);
    EXPECT_EQ(attach[0].arguments["node-name"], "hcs-scsi1-lun5-file");
    EXPECT_EQ(attach[1].arguments["driver"], "qcow2");
    EXPECT_EQ(attach[1].arguments["file"], "hcs-scsi1-lun5-file");
    EXPECT_EQ(attach[2].command, "device_add");
    EXPECT_EQ(attach[2].arguments["id"], "hcs-scsi1-lun5");
    EXPECT_EQ(attach[2].arguments["bus"], "hcs-scsi1.0");
    EXPECT_EQ(attach[2].arguments["lun"], 5);
    ASSERT_TRUE(attach[0].undo);
    EXPECT_EQ(attach[0].undo->first, "blockdev-del");

    auto detach = vm::scsiDetachSteps(1, 5);
    ASSERT_EQ(detach.size(), 3u);
    EXPECT_EQ(detach[0].command, "device_del");
    EXPECT_EQ(detach[0].awaitDeleted, "hcs-scsi1-lun5");

    EXPECT_EQ(vm::networkAdapterId("a/b"), "hcs-net-612f62");
    schema::NetworkAdapter adapter;
    adapter.macAddress = "00:15:5d:00:00:09";
    auto add = vm::networkAddSteps("a/b", adapter, "hcs-rp2");
    ASSERT_EQ(add.size(), 2u);
    EXPECT_EQ(add[0].arguments, (nlohmann::json{{"type", "user"}, {"id", "hcs-net-612f62"}}));
    EXPECT_EQ(add[1].arguments["bus"], "hcs-rp2");
    EXPECT_EQ(add[1].arguments["mac"], "00:15:5d:00:00:09");
    auto remove = vm::networkRemoveSteps("a/b");
    EXPECT_EQ(remove[0].awaitDeleted, "hcs-net-612f62");
    EXPECT_EQ(remove[1].command, "netdev_del");

    auto share = vm::plan9RemoveSteps("tag");
    ASSERT_EQ(share.size(), 1u);
    EXPECT_EQ(share[0].command, "device_del");
    EXPECT_EQ(share[0].arguments["id"], "hcs-9p-746167");
    EXPECT_EQ(share[0].awaitDeleted, "hcs-9p-746167");
}

// ------------------------------------------------------------------------------- hcsd's core

class ModifyServiceTest : public ServiceFixture {
public:
    json diskConfig()
    {
        json c = config();
        c["VirtualMachine"]["Devices"]["Scsi"]["main"]["Attachments"]["0"] = {{"Type", "VirtualDisk"},
                                                                              {"Path", image("boot.img")}};
        return c;
    }
    std::string image(const std::string& name)
    {
        std::string path = dir_ + "/" + name;
        std::ofstream(path) << std::string(4096, '\0');
        return path;
    }
    json configurationOf(uint64_t s, uint64_t handle)
    {
        json r = awaitReply(
            s, call(s, Method::GetComputeSystemProperties, handle, R"({"PropertyTypes": ["Configuration"]})"));
        return r["result"]["Configuration"];
    }
    static std::string addDisk(const std::string& path, uint32_t lun = 1)
    {
        return json{{"ResourcePath", "VirtualMachine/Devices/Scsi/main/Attachments/" + std::to_string(lun)},
                    {"RequestType", "Add"},
                    {"Settings", {{"Type", "VirtualDisk"}, {"Path", path}}}}
            .dump();
    }
};

TEST_F(ModifyServiceTest, HotAddAndRemoveOfADiskRunTheirStepsAndUpdateTheDocument)
{
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", diskConfig());
    const std::string disk = image("more.img");
    uint64_t add = call(s, Method::ModifyComputeSystem, 1, addDisk(disk));
    settle();
    ASSERT_TRUE(vm.reply("blockdev-add"));
    settle();
    ASSERT_TRUE(vm.reply("blockdev-add"));
    settle();
    EXPECT_FALSE(findReply(s, add)) << "answered before the device was added";
    ASSERT_TRUE(vm.reply("device_add"));
    EXPECT_EQ(hrOf(awaitReply(s, add)), S_OK);
    json doc = configurationOf(s, 1);
    EXPECT_EQ(doc["VirtualMachine"]["Devices"]["Scsi"]["main"]["Attachments"]["1"]["Path"], disk);

    // The disk from Create goes the same way: device_del, the guest's DEVICE_DELETED, then its nodes.
    uint64_t remove =
        call(s, Method::ModifyComputeSystem, 1,
             R"({"ResourcePath": "VirtualMachine/Devices/Scsi/main/Attachments/0", "RequestType": "Remove"})");
    settle();
    ASSERT_TRUE(vm.reply("device_del"));
    settle();
    EXPECT_FALSE(vm.pending("blockdev-del")) << "the nodes went before the guest released the disk";
    vm.event("DEVICE_DELETED", {{"device", "hcs-scsi0-lun0"}, {"path", "/machine/peripheral/hcs-scsi0-lun0"}});
    settle();
    ASSERT_TRUE(vm.reply("blockdev-del"));
    settle();
    ASSERT_TRUE(vm.reply("blockdev-del"));
    EXPECT_EQ(hrOf(awaitReply(s, remove)), S_OK);
    doc = configurationOf(s, 1);
    EXPECT_FALSE(doc["VirtualMachine"]["Devices"]["Scsi"]["main"]["Attachments"].contains("0"));
    // A restarted hcsd reads the same document.
    std::ifstream stored(onlySystemDirectory() + "/config.json");
    EXPECT_EQ(json::parse(stored), doc);
}

TEST_F(ModifyServiceTest, AFailedStepUndoesTheStepsBeforeItAndKeepsTheDocument)
{
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", diskConfig());
    uint64_t add = call(s, Method::ModifyComputeSystem, 1, addDisk(image("more.img")));
    settle();
    ASSERT_TRUE(vm.reply("blockdev-add"));
    settle();
    ASSERT_TRUE(vm.reply("blockdev-add"));
    settle();
    ASSERT_TRUE(vm.reply("device_add", makeError(E_FAIL, "QMP error GenericError: no room")));
    json r = awaitReply(s, add);
    EXPECT_EQ(hrOf(r), E_FAIL);
    EXPECT_NE(r["error"]["message"].get<std::string>().find("device_add failed: QMP error GenericError: no room"),
              std::string::npos)
        << r.dump();
    settle();
    // Both nodes are deleted again, the later one first.
    ASSERT_TRUE(vm.pending("blockdev-del"));
    const auto& sent = vm.sent();
    EXPECT_EQ(std::count(sent.begin(), sent.end(), "blockdev-del"), 2);
    EXPECT_FALSE(configurationOf(s, 1)["VirtualMachine"]["Devices"]["Scsi"]["main"]["Attachments"].contains("1"));
}

TEST_F(ModifyServiceTest, ChecksHappenBeforeQemuIsAsked)
{
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", diskConfig());
    const size_t before = vm.sent().size();
    auto refused = [&](const std::string& request, HRESULT hr, const std::string& part) {
        json r = awaitReply(s, call(s, Method::ModifyComputeSystem, 1, request));
        EXPECT_EQ(hrOf(r), hr) << r.dump();
        EXPECT_NE(r["error"]["message"].get<std::string>().find(part), std::string::npos) << r.dump();
    };
    refused(addDisk(dir_ + "/missing.img"), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND),
            "ResourcePath \"VirtualMachine/Devices/Scsi/main/Attachments/1\" Settings.Path: ");
    refused(addDisk("relative.img"), HCS_E_INVALID_JSON, "Attachments.1.Path: expected an absolute path");
    refused(addDisk(image("x.img"), 0), HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS), "in use");
    refused(R"({"ResourcePath": "VirtualMachine/Devices/Plan9/Shares", "RequestType": "Add",
                "Settings": {"Name": "s", "Path": "/tmp"}})",
            E_NOTIMPL, "\"VirtualMachine/Devices/Plan9/Shares\": a Plan9 share cannot be added");
    refused(R"({"ResourcePath": "VirtualMachine/Devices/NetworkAdapters/n", "RequestType": "Remove"})",
            HCS_E_INVALID_STATE, "Start the compute system first");
    refused(R"({"ResourcePath": "VirtualMachine/Devices/Keyboard", "RequestType": "Add", "Settings": {}})", E_NOTIMPL,
            "\"VirtualMachine/Devices/Keyboard\"");
    EXPECT_EQ(vm.sent().size(), before) << "a refused Modify reached QEMU";
}

TEST_F(ModifyServiceTest, MemoryUpdateInflatesTheBalloonWithinTheBootSize)
{
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", config());
    auto update = [&](int mb) {
        return call(s, Method::ModifyComputeSystem, 1,
                    json{{"ResourcePath", "VirtualMachine/ComputeTopology/Memory/SizeInMB"},
                         {"RequestType", "Update"},
                         {"Settings", mb}}
                        .dump());
    };
    const json summary{{"base-memory", 256ull << 20}, {"plugged-memory", 0}};
    uint64_t tooMuch = update(512);
    settle();
    ASSERT_TRUE(vm.reply("query-memory-size-summary", summary));
    json r = awaitReply(s, tooMuch);
    EXPECT_EQ(hrOf(r), E_INVALIDARG);
    EXPECT_NE(r["error"]["message"].get<std::string>().find("more than the 256 MB"), std::string::npos) << r.dump();

    uint64_t shrink = update(128);
    settle();
    ASSERT_TRUE(vm.reply("query-memory-size-summary", summary));
    settle();
    ASSERT_TRUE(vm.pending("balloon"));
    ASSERT_TRUE(vm.reply("balloon"));
    EXPECT_EQ(hrOf(awaitReply(s, shrink)), S_OK);

    // The Memory property: Windows' shape from query-balloon and the guest's statistics.
    uint64_t props = call(s, Method::GetComputeSystemProperties, 1, R"({"PropertyTypes": ["Memory"]})");
    settle();
    ASSERT_TRUE(vm.reply("query-balloon", json{{"actual", 200ull << 20}}));
    settle();
    ASSERT_TRUE(vm.reply("qom-get", json{{"stats",
                                          {{"stat-available-memory", 100ull << 20},
                                           {"stat-total-memory", 190ull << 20},
                                           {"stat-free-memory", UINT64_MAX}}},
                                         {"last-update", 5}}));
    json memory = awaitReply(s, props)["result"]["Memory"];
    EXPECT_EQ(memory["VirtualNodeCount"], 1);
    EXPECT_EQ(memory["VirtualMachineMemory"]["AssignedMemory"], 200);
    EXPECT_EQ(memory["VirtualMachineMemory"]["AvailableMemory"], 100);
    EXPECT_EQ(memory["VirtualMachineMemory"]["DmOperationInProgress"], true);
    EXPECT_EQ(memory["Balloon"]["TargetSizeInMB"], 128);
    EXPECT_EQ(memory["Balloon"]["GuestStats"]["TotalBytes"], 190ull << 20);
    EXPECT_FALSE(memory["Balloon"]["GuestStats"].contains("FreeBytes"));
}

TEST_F(ModifyServiceTest, AdapterRemovalWaitsForTheGuestAndFailsWhenTheVmExits)
{
    uint64_t s = connect();
    json c = config();
    c["VirtualMachine"]["Devices"]["NetworkAdapters"]["eth0"] = json::object();
    FakeVm& vm = createReady(s, 1, "vm", c);
    uint64_t start = call(s, Method::StartComputeSystem, 1);
    settle();
    ASSERT_TRUE(vm.reply("cont"));
    EXPECT_EQ(hrOf(awaitReply(s, start)), S_OK);
    uint64_t remove =
        call(s, Method::ModifyComputeSystem, 1,
             R"({"ResourcePath": "VirtualMachine/Devices/NetworkAdapters/eth0", "RequestType": "Remove"})");
    settle();
    ASSERT_TRUE(vm.reply("device_del"));
    settle();
    EXPECT_FALSE(findReply(s, remove));
    vm.exitNow("killed by signal 9");
    json r = awaitReply(s, remove);
    EXPECT_EQ(hrOf(r), HCS_E_CONNECTION_CLOSED) << r.dump();
}

TEST_F(ModifyServiceTest, Plan9RemovalUnplugsTheShareOnceTheGuestReleasesIt)
{
    uint64_t s = connect();
    json c = config();
    c["VirtualMachine"]["Devices"]["Plan9"]["Shares"] =
        json::array({{{"Name", "keep"}, {"Path", dir_}}, {{"Name", "go"}, {"AccessName", "tag"}, {"Path", dir_}}});
    FakeVm& vm = createReady(s, 1, "vm", c);
    const std::string request =
        R"({"ResourcePath": "VirtualMachine/Devices/Plan9/Shares", "RequestType": "Remove", "Settings": {"Name": "go"}})";
    json early = awaitReply(s, call(s, Method::ModifyComputeSystem, 1, request));
    EXPECT_EQ(hrOf(early), HCS_E_INVALID_STATE) << "nobody would release the device of a guest that never ran";
    uint64_t start = call(s, Method::StartComputeSystem, 1);
    settle();
    ASSERT_TRUE(vm.reply("cont"));
    EXPECT_EQ(hrOf(awaitReply(s, start)), S_OK);

    uint64_t remove = call(s, Method::ModifyComputeSystem, 1, request);
    settle();
    ASSERT_TRUE(vm.pending("device_del"));
    ASSERT_TRUE(vm.reply("device_del"));
    settle();
    EXPECT_FALSE(findReply(s, remove)) << "answered before the guest released the device";
    vm.event("DEVICE_DELETED", {{"device", "hcs-9p-746167"}, {"path", "/machine/peripheral/hcs-9p-746167"}});
    EXPECT_EQ(hrOf(awaitReply(s, remove)), S_OK);
    json shares = configurationOf(s, 1)["VirtualMachine"]["Devices"]["Plan9"]["Shares"];
    ASSERT_EQ(shares.size(), 1u);
    EXPECT_EQ(shares[0]["Name"], "keep");

    json again = awaitReply(s, call(s, Method::ModifyComputeSystem, 1, request));
    EXPECT_EQ(hrOf(again), HRESULT_FROM_WIN32(ERROR_NOT_FOUND)) << again.dump();
}

TEST_F(ModifyServiceTest, AdapterHotAddPicksAFreeRootPort)
{
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", config());
    uint64_t add = call(s, Method::ModifyComputeSystem, 1,
                        R"({"ResourcePath": "VirtualMachine/Devices/NetworkAdapters/net", "RequestType": "Add",
                            "Settings": {"MacAddress": "00-15-5D-00-00-07"}})");
    settle();
    ASSERT_TRUE(vm.reply("qom-list", json::array({{{"name", "hcs-rp1"}, {"type", "child<pcie-root-port>"}},
                                                  {{"name", "hcs-rp0"}, {"type", "child<pcie-root-port>"}},
                                                  {{"name", "hcs-balloon"}, {"type", "child<virtio-balloon-pci>"}}})));
    settle();
    // hcs-rp0 is taken, hcs-rp1 is free.
    ASSERT_TRUE(vm.reply("qom-list", json::array({{{"name", "child[0]"}, {"type", "link<virtio-net-pci>"}}})));
    settle();
    ASSERT_TRUE(vm.reply("qom-list", json::array({{{"name", "realized"}, {"type", "bool"}}})));
    settle();
    ASSERT_TRUE(vm.reply("netdev_add"));
    settle();
    ASSERT_TRUE(vm.reply("device_add"));
    EXPECT_EQ(hrOf(awaitReply(s, add)), S_OK);
    EXPECT_EQ(configurationOf(s, 1)["VirtualMachine"]["Devices"]["NetworkAdapters"]["net"]["MacAddress"],
              "00-15-5D-00-00-07");
}

}  // namespace
}  // namespace hc::hcs::service
