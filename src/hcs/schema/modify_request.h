// ModifySettingRequest, the document of HcsModifyComputeSystem: {ResourcePath, RequestType, Settings,
// GuestRequest}. parseModifySettingRequest() checks the request's own fields and names the resource;
// applyModifyRequest() writes it into the system's configuration document, which hcsd then reads again
// with parseComputeSystem() — so Settings are validated exactly like the same object at Create, and the
// document a system reports (and a restarted hcsd re-reads) is the one with every change applied.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace hc::hcs::schema {

enum class ModifyRequestType { Add, Remove, Update };

enum class ModifyResource {
    ScsiAttachment,  // VirtualMachine/Devices/Scsi/<controller>/Attachments/<lun>
    Plan9Shares,     // VirtualMachine/Devices/Plan9/Shares (Remove only; Settings names the share)
    NetworkAdapter,  // VirtualMachine/Devices/NetworkAdapters/<name>
    MemorySize,      // VirtualMachine/ComputeTopology/Memory/SizeInMB
};

struct ModifyRequest {
    std::string resourcePath;  // as given
    ModifyRequestType type = ModifyRequestType::Add;
    ModifyResource resource = ModifyResource::ScsiAttachment;
    std::string controller;   // ScsiAttachment
    uint32_t lun = 0;         // ScsiAttachment
    std::string adapter;      // NetworkAdapter
    std::string shareName;    // Plan9Shares (Remove): Settings.Name
    std::string shareAccessName;  // Plan9Shares (Remove): Settings.AccessName, when given
    uint64_t memoryMB = 0;    // MemorySize (Update)
    nlohmann::json settings;  // the Settings object (Add); null when absent
};

const char* modifyRequestTypeName(ModifyRequestType type);

// HCS_E_INVALID_JSON naming the field for a malformed request; E_NOTIMPL naming the ResourcePath for a
// resource (or a RequestType on it) this backend cannot change, and for a GuestRequest.
Result<ModifyRequest> parseModifySettingRequest(std::string_view text);

// `config` (a ComputeSystem document) with the request applied: Add inserts Settings where the path
// points (HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS) when something is there), Remove deletes it
// (HRESULT_FROM_WIN32(ERROR_NOT_FOUND) when nothing is), Update sets the value. Every message names
// the ResourcePath.
Result<nlohmann::json> applyModifyRequest(const nlohmann::json& config, const ModifyRequest& request);

}  // namespace hc::hcs::schema
