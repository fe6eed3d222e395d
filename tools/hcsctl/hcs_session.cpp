#include "hcs_session.h"

#include <nlohmann/json.hpp>

#include "base/hresult.h"
#include "base/strings.h"
#include "hcs/schema/json_limits.h"

namespace hcsctl {

SystemHandle::~SystemHandle()
{
    if (system_ != nullptr) {
        HcsCloseComputeSystem(system_);
    }
}

HCS_SYSTEM* SystemHandle::put()
{
    if (system_ != nullptr) {
        HcsCloseComputeSystem(system_);
        system_ = nullptr;
    }
    return &system_;
}

std::string takeResultString(PWSTR text)
{
    if (text == nullptr) {
        return {};
    }
    std::string utf8 = hc::toUtf8Lossy(text);
    LocalFree(text);
    return utf8;
}

CallOutcome runOperation(DWORD timeoutMs, const std::function<HRESULT(HCS_OPERATION)>& call)
{
    HCS_OPERATION operation = HcsCreateOperation(nullptr, nullptr);
    if (operation == nullptr) {
        return {E_OUTOFMEMORY, {}};
    }
    CallOutcome outcome;
    outcome.hr = call(operation);
    if (SUCCEEDED(outcome.hr)) {
        PWSTR result = nullptr;
        outcome.hr = HcsWaitForOperationResult(operation, timeoutMs, &result);
        outcome.document = takeResultString(result);
        if (outcome.hr == HCS_E_OPERATION_TIMEOUT) {
            // Best effort: the service may still finish the work; closing discards its result.
            (void)HcsCancelOperation(operation);
        }
    }
    HcsCloseOperation(operation);
    return outcome;
}

CallOutcome openSystem(const std::wstring& id, SystemHandle& system)
{
    return {HcsOpenComputeSystem(id.c_str(), GENERIC_ALL, system.put()), {}};
}

std::string describeHresult(HRESULT hr)
{
    std::string name = hc::hresultName(hr);
    std::string hex = hc::hresultHex(hr);
    return name == hex ? hex : name + " (" + hex + ")";
}

std::string errorMessageOf(const std::string& resultDocument)
{
    auto parsed = hc::hcs::schema::parseJson(resultDocument, hc::hcs::schema::kWireLineLimits, "the error", E_FAIL);
    if (!parsed) {
        return {};
    }
    const nlohmann::json& document = *parsed;
    if (document.is_object()) {
        auto message = document.find("ErrorMessage");
        if (message != document.end() && message->is_string()) {
            return message->get<std::string>();
        }
    }
    return {};
}

int exitCodeFor(HRESULT hr)
{
    if (SUCCEEDED(hr)) {
        return 0;
    }
    constexpr unsigned facilityHcs = 0x37;
    if (HRESULT_FACILITY(hr) == facilityHcs && (hr & 0xFF00) == 0x0100) {
        return 64 + (hr & 0xFF);
    }
    return 1;
}

}  // namespace hcsctl
