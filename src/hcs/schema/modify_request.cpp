#include "hcs/schema/modify_request.h"

#include <algorithm>
#include <vector>

#include "hcs/schema/json_limits.h"
#include "hcs/schema/json_reader.h"

namespace hc::hcs::schema {

using nlohmann::json;

namespace {

constexpr uint32_t kMaxLun = 63;  // as Create accepts (compute_system.cpp)

std::vector<std::string> splitPath(std::string_view path)
{
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
        size_t slash = path.find('/', start);
        parts.emplace_back(
            path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos) return parts;
        start = slash + 1;
    }
}

[[noreturn]] void refusePath(const std::string& path, std::string_view why)
{
    failUnsupported("ResourcePath", "\"" + path + "\": " + std::string(why));
}

void requireType(const ModifyRequest& r, std::initializer_list<ModifyRequestType> allowed, std::string_view what)
{
    for (auto t : allowed) {
        if (r.type == t) return;
    }
    refusePath(r.resourcePath, std::string("RequestType ") + modifyRequestTypeName(r.type) + " is not supported for " +
                                   std::string(what));
}

std::optional<uint32_t> lunKey(const std::string& key)
{
    if (key.empty() || key.size() > 2 || (key.size() > 1 && key[0] == '0')) return std::nullopt;
    uint32_t n = 0;
    for (char c : key) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<uint32_t>(c - '0');
    }
    return n <= kMaxLun ? std::optional(n) : std::nullopt;
}

// Names the resource from the path; refuses what cannot be modified here, by its path.
void classify(ModifyRequest& r)
{
    const std::string& path = r.resourcePath;
    auto p = splitPath(path);
    if (p.empty() || p[0] != "VirtualMachine") {
        refusePath(path,
                   "not a resource that can be modified (paths start with VirtualMachine/; containers "
                   "and hosted systems are not supported)");
    }
    if (p.size() == 6 && p[1] == "Devices" && p[2] == "Scsi" && p[4] == "Attachments") {
        auto lun = lunKey(p[5]);
        if (p[3].empty()) failInvalid("ResourcePath", "\"" + path + "\": the SCSI controller name is empty");
        if (!lun) failInvalid("ResourcePath", "\"" + path + "\": a LUN is a number from 0 to 63");
        r.resource = ModifyResource::ScsiAttachment;
        r.controller = p[3];
        r.lun = *lun;
        requireType(r, {ModifyRequestType::Add, ModifyRequestType::Remove}, "a SCSI attachment (Add or Remove it)");
        return;
    }
    if (p.size() == 4 && p[1] == "Devices" && p[2] == "Plan9" && p[3] == "Shares") {
        r.resource = ModifyResource::Plan9Shares;
        if (r.type == ModifyRequestType::Add) {
            refusePath(path,
                       "a Plan9 share cannot be added to a created compute system: QEMU 7.2 has no monitor command "
                       "that creates a 9p file system backend (-fsdev exists only on the command line); define "
                       "shares at Create (Remove works)");
        }
        requireType(r, {ModifyRequestType::Remove}, "Plan9 shares (Remove one)");
        return;
    }
    if (p.size() == 4 && p[1] == "Devices" && p[2] == "NetworkAdapters") {
        if (p[3].empty()) failInvalid("ResourcePath", "\"" + path + "\": the network adapter name is empty");
        r.resource = ModifyResource::NetworkAdapter;
        r.adapter = p[3];
        requireType(r, {ModifyRequestType::Add, ModifyRequestType::Remove}, "a network adapter (Add or Remove it)");
        return;
    }
    if (path == "VirtualMachine/ComputeTopology/Memory/SizeInMB") {
        r.resource = ModifyResource::MemorySize;
        requireType(r, {ModifyRequestType::Update}, "the memory size (Update it)");
        return;
    }
    if (p.size() >= 3 && p[1] == "Devices" && p[2] == "ComPorts") {
        refusePath(path,
                   "COM ports cannot be changed on a created compute system (QEMU's isa-serial ports are not "
                   "hot-pluggable)");
    }
    if (p.size() >= 3 && p[1] == "ComputeTopology" && p[2] == "Processor") {
        refusePath(path, "processors cannot be changed on a created compute system (CPU groups are not supported)");
    }
    refusePath(path,
               "not a resource that can be modified (supported: VirtualMachine/Devices/Scsi/<controller>/Attachments/"
               "<lun>, VirtualMachine/Devices/Plan9/Shares, VirtualMachine/Devices/NetworkAdapters/<name>, "
               "VirtualMachine/ComputeTopology/Memory/SizeInMB)");
}

json& objectAt(json& parent, const std::string& key)
{
    json& child = parent[key];
    if (child.is_null()) child = json::object();
    return child;
}

}  // namespace

const char* modifyRequestTypeName(ModifyRequestType type)
{
    switch (type) {
        case ModifyRequestType::Add:
            return "Add";
        case ModifyRequestType::Remove:
            return "Remove";
        case ModifyRequestType::Update:
            break;
    }
    return "Update";
}

Result<ModifyRequest> parseModifySettingRequest(std::string_view text)
{
    auto doc = parseJson(text, kDocumentLimits, "the ModifySettingRequest", HCS_E_INVALID_JSON);
    if (!doc) return doc.error();
    try {
        ObjectReader reader(*doc, "");
        ModifyRequest r;
        auto path = reader.optString("ResourcePath");
        auto type = reader.optEnum("RequestType", {"Add", "Remove", "Update"});
        const json* settings = reader.optMember("Settings");
        const json* guest = reader.optMember("GuestRequest");
        reader.finish();
        if (guest) {
            failUnsupported("GuestRequest",
                            "requests to a Hyper-V guest compute service are not supported (the hostcompute guest "
                            "agent runs processes only; mount what a device brings from inside the guest)");
        }
        if (!path || path->empty()) reader.fail("ResourcePath", "required field is missing");
        if (!type) reader.fail("RequestType", "required field is missing (Add, Remove or Update)");
        r.resourcePath = *path;
        r.type = *type == "Add"      ? ModifyRequestType::Add
                 : *type == "Remove" ? ModifyRequestType::Remove
                                     : ModifyRequestType::Update;
        if (settings) r.settings = *settings;
        classify(r);
        if (r.resource == ModifyResource::MemorySize) {
            if (!settings || !settings->is_number_unsigned()) {
                reader.fail("Settings", std::string("expected the size in MB as an unsigned integer, got ") +
                                            (settings ? describeJsonType(*settings) : std::string("nothing")));
            }
            r.memoryMB = settings->get<uint64_t>();
        } else if (r.resource == ModifyResource::Plan9Shares) {
            // Windows names the share to remove by a Plan9Share object; its Name (and AccessName) find it.
            if (!settings || !settings->is_object()) {
                reader.fail("Settings", std::string("expected the Plan9Share to remove, got ") +
                                            (settings ? describeJsonType(*settings) : std::string("nothing")));
            }
            ObjectReader share(*settings, "Settings");
            auto name = share.optString("Name");
            if (!name || name->empty()) share.fail("Name", "required field is missing (the share to remove)");
            r.shareName = *name;
            r.shareAccessName = share.optString("AccessName").value_or("");
        } else if (r.type == ModifyRequestType::Add && (!settings || !settings->is_object())) {
            reader.fail("Settings", std::string("expected the object to add, got ") +
                                        (settings ? describeJsonType(*settings) : std::string("nothing")));
        }
        return r;
    } catch (const SchemaError& e) {
        return makeError(e.hr, e.what());
    }
}

Result<json> applyModifyRequest(const json& config, const ModifyRequest& r)
{
    json doc = config;
    const std::string where = "ResourcePath \"" + r.resourcePath + "\": ";
    json& vm = objectAt(doc, "VirtualMachine");
    switch (r.resource) {
        case ModifyResource::ScsiAttachment: {
            json& scsi = objectAt(objectAt(vm, "Devices"), "Scsi");
            if (!scsi.contains(r.controller)) {
                return makeError(HRESULT_FROM_WIN32(ERROR_NOT_FOUND),
                                 where + "the compute system has no SCSI controller \"" + r.controller +
                                     "\" (controllers are defined at Create)");
            }
            json& attachments = objectAt(scsi[r.controller], "Attachments");
            const std::string key = std::to_string(r.lun);
            const bool present = attachments.contains(key);
            if (r.type == ModifyRequestType::Add) {
                if (present) {
                    return makeError(HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS),
                                     where + "LUN " + key + " of controller \"" + r.controller + "\" is in use");
                }
                attachments[key] = r.settings;
            } else {
                if (!present) {
                    return makeError(
                        HRESULT_FROM_WIN32(ERROR_NOT_FOUND),
                        where + "no disk is attached at LUN " + key + " of controller \"" + r.controller + "\"");
                }
                attachments.erase(key);
            }
            return doc;
        }
        case ModifyResource::NetworkAdapter: {
            json& adapters = objectAt(objectAt(vm, "Devices"), "NetworkAdapters");
            const bool present = adapters.contains(r.adapter);
            if (r.type == ModifyRequestType::Add) {
                if (present) {
                    return makeError(HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS),
                                     where + "a network adapter named \"" + r.adapter + "\" exists");
                }
                adapters[r.adapter] = r.settings;
            } else {
                if (!present) {
                    return makeError(HRESULT_FROM_WIN32(ERROR_NOT_FOUND),
                                     where + "no network adapter is named \"" + r.adapter + "\"");
                }
                adapters.erase(r.adapter);
            }
            return doc;
        }
        case ModifyResource::MemorySize:
            objectAt(objectAt(vm, "ComputeTopology"), "Memory")["SizeInMB"] = r.memoryMB;
            return doc;
        case ModifyResource::Plan9Shares: {
            json& shares = objectAt(objectAt(vm, "Devices"), "Plan9")["Shares"];
            if (!shares.is_array()) shares = json::array();
            auto named = [&](const json& share) {
                return share.is_object() && share.value("Name", std::string()) == r.shareName &&
                       (r.shareAccessName.empty() || share.value("AccessName", std::string()) == r.shareAccessName);
            };
            const auto count = std::count_if(shares.begin(), shares.end(), named);
            if (count == 0) {
                return makeError(HRESULT_FROM_WIN32(ERROR_NOT_FOUND),
                                 where + "no Plan9 share is named \"" + r.shareName + "\"" +
                                     (r.shareAccessName.empty() ? "" : " with AccessName \"" + r.shareAccessName + "\""));
            }
            if (count > 1) {
                return makeError(HCS_E_INVALID_JSON, where + "Settings.AccessName: " + std::to_string(count) +
                                                         " shares are named \"" + r.shareName +
                                                         "\"; give the AccessName of the one to remove");
            }
            shares.erase(std::find_if(shares.begin(), shares.end(), named));
            return doc;
        }
    }
    return makeError(E_NOTIMPL, where + "cannot be applied to the configuration");
}

}  // namespace hc::hcs::schema
