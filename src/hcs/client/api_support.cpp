#include "hcs/client/api_support.h"

#include "base/hresult.h"
#include "base/log.h"
#include "base/strings.h"

namespace hc::hcs {

HRESULT fail(const Error& error, const char* function)
{
    HC_LOG(Info, "hcs", std::string(function) + ": " + hresultName(error.hr) + ": " + error.message);
    return error.hr;
}

Result<std::string> requiredString(PCWSTR text, const char* what)
{
    if (!text) return makeError(E_INVALIDARG, std::string(what) + " is NULL");
    auto utf8 = utf8FromCaller(text, what);
    if (!utf8) return makeError(E_INVALIDARG, utf8.error().message);
    return utf8;
}

Result<std::optional<std::string>> optionalString(PCWSTR text, const char* what)
{
    if (!text) return std::optional<std::string>{};
    auto utf8 = requiredString(text, what);
    if (!utf8) return utf8.error();
    return std::optional<std::string>{std::move(utf8.value())};
}

Result<std::shared_ptr<Operation>> findOperation(HCS_OPERATION handle)
{
    if (!handle) return makeError(E_INVALIDARG, "the operation handle is NULL");
    auto operation = Client::instance().operations().find(handle);
    if (!operation) return makeError(E_HANDLE, "not an open HCS_OPERATION handle");
    return operation;
}

Result<std::shared_ptr<SystemHandle>> findSystem(HCS_SYSTEM handle)
{
    if (!handle) return makeError(E_INVALIDARG, "the compute system handle is NULL");
    auto system = Client::instance().systems().find(handle);
    if (!system) return makeError(E_HANDLE, "not an open HCS_SYSTEM handle");
    return system;
}

Result<std::shared_ptr<ProcessHandle>> findProcess(HCS_PROCESS handle)
{
    if (!handle) return makeError(E_INVALIDARG, "the process handle is NULL");
    auto process = Client::instance().processes().find(handle);
    if (!process) return makeError(E_HANDLE, "not an open HCS_PROCESS handle");
    return process;
}

Operation::Target systemTarget(const std::shared_ptr<SystemHandle>& system)
{
    return Operation::Target{system->handle(), nullptr, system};
}

Status checkCallbackConflict(const EventTarget& target, const Operation& operation)
{
    if (target.operationCallbacksEnabled() && operation.hasOwnCallback())
        return makeError(HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET,
                         "the handle's event callback receives operation completions; use an operation "
                         "without a callback");
    return {};
}

Result<std::string> documentArgument(PCWSTR text, const protocol::CallSpec& call)
{
    const std::string what(call.documentField);
    if (call.documentRequired) return requiredString(text, what.c_str());
    auto value = optionalString(text, what.c_str());
    if (!value) return value.error();
    return value->value_or("");
}

HRESULT storeDocument(const std::string& document, PWSTR* out, HRESULT hr)
{
    if (!out || document.empty()) return hr;
    *out = allocWideFromUtf8(document);
    return *out ? hr : HCS_E_OPERATION_RESULT_ALLOCATION_FAILED;
}

Status checkNamespace(PCWSTR idNamespace)
{
    auto name = requiredString(idNamespace, "idNamespace");
    if (!name) return name.error();
    if (!name->empty())
        return makeError(E_NOTIMPL, "only the default namespace (an empty idNamespace) exists, not '" + *name + "'");
    return {};
}

}  // namespace hc::hcs
