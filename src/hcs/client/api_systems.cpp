// The HCS_SYSTEM functions of computecore.h: validate arguments synchronously, then send the call to
// hcsd as the catalogue's typed params (hcs/protocol/calls.h names each call's method, operation type
// and document field) and let the operation carry the outcome.
#include <computecore.h>

#include <filesystem>

#include "hcs/client/api_support.h"
#include "hcs/client/sync_call.h"
#include "hcs/schema/documents.h"

using namespace hc;
using namespace hc::hcs;

namespace {

// Start, ShutDown, Terminate, Crash, Pause, Resume, Save, GetProperties, Modify: one shape.
HRESULT systemCall(const char* function, protocol::Method method, HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                   PCWSTR text)
{
    return guarded(function, [&] {
        auto system = findSystem(computeSystem);
        if (!system) return fail(system.error(), function);
        auto op = findOperation(operation);
        if (!op) return fail(op.error(), function);
        auto document = documentArgument(text, protocol::callSpec(method));
        if (!document) return fail(document.error(), function);
        if (auto conflict = checkCallbackConflict(*system.value(), *op.value()); !conflict)
            return fail(conflict.error(), function);
        auto started =
            Client::instance().startCall(op.value(), systemTarget(system.value()), system.value()->channel(), method,
                                         protocol::SystemCallParams{system.value()->number(), *document});
        return started ? S_OK : fail(started.error(), function);
    });
}

// Releases a handle number in hcsd without waiting for the answer.
void closeOnService(ServiceChannel& channel, uint64_t handleNumber)
{
    channel.send(protocol::Method::CloseComputeSystem, protocol::HandleParams{handleNumber}, [](ServiceReply) {});
}

std::shared_ptr<SystemHandle> registerSystem(const std::shared_ptr<ServiceChannel>& channel, std::string id)
{
    auto system = std::make_shared<SystemHandle>(channel, channel->newHandleNumber(), std::move(id));
    const auto value = Client::instance().systems().insert(system);
    system->setHandle(reinterpret_cast<HCS_SYSTEM>(value));
    return system;
}

HRESULT createSystem(const char* function, PCWSTR id, PCWSTR configuration, HCS_OPERATION operation,
                     std::optional<SystemHandle::Registration> registration, HCS_SYSTEM* computeSystem)
{
    auto& client = Client::instance();
    auto op = findOperation(operation);
    if (!op) return fail(op.error(), function);
    auto idText = requiredString(id, "id");
    if (!idText) return fail(idText.error(), function);
    if (idText->empty()) return fail(makeError(E_INVALIDARG, "id is empty"), function);
    auto configurationText = documentArgument(configuration, protocol::callSpec(protocol::Method::CreateComputeSystem));
    if (!configurationText) return fail(configurationText.error(), function);
    if (registration && (registration->options & HcsEventOptionEnableOperationCallbacks) &&
        op.value()->hasOwnCallback())
        return fail(makeError(HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET,
                              "the options' event callback receives operation completions; use an operation "
                              "without a callback"),
                    function);
    auto channel = client.channel();
    if (!channel) return fail(channel.error(), function);

    auto system = registerSystem(channel.value(), *idText);
    if (registration) (void)system->setEventCallback(*registration);  // a fresh handle has none yet
    auto started =
        client.startCall(op.value(), systemTarget(system), channel.value(), protocol::Method::CreateComputeSystem,
                         protocol::CreateParams{system->number(), *idText, *configurationText});
    if (!started) {
        client.systems().remove(system->handle());
        system->gate().close(false);
        return fail(started.error(), function);
    }
    *computeSystem = system->handle();
    return S_OK;
}

HRESULT openSystem(const char* function, PCWSTR id, HCS_SYSTEM* computeSystem)
{
    auto& client = Client::instance();
    auto idText = requiredString(id, "id");
    if (!idText) return fail(idText.error(), function);
    if (idText->empty()) return fail(makeError(E_INVALIDARG, "id is empty"), function);
    auto channel = client.channel();
    if (!channel) return fail(channel.error(), function);

    auto system = registerSystem(channel.value(), *idText);
    auto reply = callAndWait(*channel.value(), protocol::Method::OpenComputeSystem,
                             protocol::OpenParams{system->number(), *idText}, kServiceReplyGrace);
    const HRESULT hr = reply ? reply->hr : reply.hr();
    if (FAILED(hr)) {
        client.systems().remove(system->handle());
        system->gate().close(false);
        // After a timeout hcsd may still open it: release that handle number there.
        if (!reply) closeOnService(*channel.value(), system->number());
        return fail(reply ? makeError(hr, reply->document) : reply.error(), function);
    }
    *computeSystem = system->handle();
    return S_OK;
}

HRESULT enumerateSystems(const char* function, PCWSTR query, HCS_OPERATION operation)
{
    auto& client = Client::instance();
    auto op = findOperation(operation);
    if (!op) return fail(op.error(), function);
    constexpr auto method = protocol::Method::EnumerateComputeSystems;
    auto queryText = documentArgument(query, protocol::callSpec(method));
    if (!queryText) return fail(queryText.error(), function);
    auto channel = client.channel();
    if (!channel) return fail(channel.error(), function);
    auto started = client.startCall(op.value(), {}, channel.value(), method, protocol::QueryParams{*queryText});
    return started ? S_OK : fail(started.error(), function);
}

}  // namespace

extern "C" {

HOSTCOMPUTE_API HRESULT WINAPI HcsEnumerateComputeSystems(PCWSTR query, HCS_OPERATION operation)
{
    return guarded(__func__, [&] { return enumerateSystems(__func__, query, operation); });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsEnumerateComputeSystemsInNamespace(PCWSTR idNamespace, PCWSTR query,
                                                                     HCS_OPERATION operation)
{
    return guarded(__func__, [&] {
        if (auto ns = checkNamespace(idNamespace); !ns) return fail(ns.error(), __func__);
        return enumerateSystems(__func__, query, operation);
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsCreateComputeSystem(PCWSTR id, PCWSTR configuration, HCS_OPERATION operation,
                                                      const SECURITY_DESCRIPTOR* securityDescriptor,
                                                      HCS_SYSTEM* computeSystem)
{
    if (computeSystem) *computeSystem = nullptr;
    return guarded(__func__, [&] {
        if (!computeSystem) return fail(makeError(E_POINTER, "computeSystem is NULL"), __func__);
        if (securityDescriptor)
            return fail(makeError(E_INVALIDARG, "securityDescriptor must be NULL on Linux"), __func__);
        return createSystem(__func__, id, configuration, operation, std::nullopt, computeSystem);
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsCreateComputeSystemInNamespace(PCWSTR idNamespace, PCWSTR id, PCWSTR configuration,
                                                                 HCS_OPERATION operation,
                                                                 const HCS_CREATE_OPTIONS* options,
                                                                 HCS_SYSTEM* computeSystem)
{
    if (computeSystem) *computeSystem = nullptr;
    return guarded(__func__, [&] {
        if (!computeSystem) return fail(makeError(E_POINTER, "computeSystem is NULL"), __func__);
        if (auto ns = checkNamespace(idNamespace); !ns) return fail(ns.error(), __func__);
        std::optional<SystemHandle::Registration> registration;
        if (options) {
            if (*options != HcsCreateOptions_1)
                return fail(makeError(E_INVALIDARG, "options->Version must be HcsCreateOptions_1"), __func__);
            const auto* v1 = reinterpret_cast<const HCS_CREATE_OPTIONS_1*>(options);
            if (v1->UserToken || v1->SecurityDescriptor)
                return fail(makeError(E_INVALIDARG, "UserToken and SecurityDescriptor must be NULL on Linux"),
                            __func__);
            if ((v1->CallbackOptions & ~kKnownEventOptions) != 0)
                return fail(makeError(E_INVALIDARG, "unknown CallbackOptions flags"), __func__);
            if (v1->Callback)
                registration = SystemHandle::Registration{v1->CallbackOptions, v1->CallbackContext, v1->Callback};
        }
        return createSystem(__func__, id, configuration, operation, registration, computeSystem);
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsOpenComputeSystem(PCWSTR id, DWORD requestedAccess, HCS_SYSTEM* computeSystem)
{
    (void)requestedAccess;  // every handle has full access on Linux
    if (computeSystem) *computeSystem = nullptr;
    return guarded(__func__, [&] {
        if (!computeSystem) return fail(makeError(E_POINTER, "computeSystem is NULL"), __func__);
        return openSystem(__func__, id, computeSystem);
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsOpenComputeSystemInNamespace(PCWSTR idNamespace, PCWSTR id, DWORD requestedAccess,
                                                               HCS_SYSTEM* computeSystem)
{
    (void)requestedAccess;
    if (computeSystem) *computeSystem = nullptr;
    return guarded(__func__, [&] {
        if (!computeSystem) return fail(makeError(E_POINTER, "computeSystem is NULL"), __func__);
        if (auto ns = checkNamespace(idNamespace); !ns) return fail(ns.error(), __func__);
        return openSystem(__func__, id, computeSystem);
    });
}

HOSTCOMPUTE_API void WINAPI HcsCloseComputeSystem(HCS_SYSTEM computeSystem)
{
    guarded(__func__, [&] {
        auto& client = Client::instance();
        auto system = client.systems().remove(computeSystem);
        if (!system) return fail(makeError(E_HANDLE, "not an open HCS_SYSTEM handle"), __func__);
        system->gate().close(!client.dispatcher().onDispatchThread());
        closeOnService(*system->channel(), system->number());
        return S_OK;
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsStartComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options)
{
    return systemCall(__func__, protocol::Method::StartComputeSystem, computeSystem, operation, options);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsShutDownComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                                        PCWSTR options)
{
    return systemCall(__func__, protocol::Method::ShutDownComputeSystem, computeSystem, operation, options);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsTerminateComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                                         PCWSTR options)
{
    return systemCall(__func__, protocol::Method::TerminateComputeSystem, computeSystem, operation, options);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsCrashComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options)
{
    return systemCall(__func__, protocol::Method::CrashComputeSystem, computeSystem, operation, options);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsPauseComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options)
{
    return systemCall(__func__, protocol::Method::PauseComputeSystem, computeSystem, operation, options);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsResumeComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options)
{
    return systemCall(__func__, protocol::Method::ResumeComputeSystem, computeSystem, operation, options);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsSaveComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options)
{
    return systemCall(__func__, protocol::Method::SaveComputeSystem, computeSystem, operation, options);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsGetComputeSystemProperties(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                                             PCWSTR propertyQuery)
{
    return systemCall(__func__, protocol::Method::GetComputeSystemProperties, computeSystem, operation, propertyQuery);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsModifyComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                                      PCWSTR configuration, HANDLE identity)
{
    if (identity) return fail(makeError(E_INVALIDARG, "identity must be NULL on Linux"), __func__);
    return systemCall(__func__, protocol::Method::ModifyComputeSystem, computeSystem, operation, configuration);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsWaitForComputeSystemExit(HCS_SYSTEM computeSystem, DWORD timeoutMs, PWSTR* result)
{
    if (result) *result = nullptr;
    return guarded(__func__, [&] {
        auto system = findSystem(computeSystem);
        if (!system) return fail(system.error(), __func__);
        std::optional<std::chrono::milliseconds> limit;
        if (timeoutMs != INFINITE) limit = std::chrono::milliseconds(timeoutMs) + kServiceReplyGrace;
        auto reply = callAndWait(*system.value()->channel(), protocol::Method::WaitForComputeSystemExit,
                                 protocol::WaitExitParams{system.value()->number(), timeoutMs}, limit);
        if (!reply) return fail(reply.error(), __func__);
        return storeDocument(reply->document, result, reply->hr);
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsSetComputeSystemCallback(HCS_SYSTEM computeSystem, HCS_EVENT_OPTIONS callbackOptions,
                                                           const void* context, HCS_EVENT_CALLBACK callback)
{
    return guarded(__func__, [&] {
        auto system = findSystem(computeSystem);
        if (!system) return fail(system.error(), __func__);
        if (!callback) return fail(makeError(E_INVALIDARG, "callback is NULL"), __func__);
        if ((callbackOptions & ~kKnownEventOptions) != 0)
            return fail(makeError(E_INVALIDARG, "unknown HCS_EVENT_OPTIONS flags"), __func__);
        auto ready = system.value()->setEventCallback(
            EventTarget::Registration{callbackOptions, const_cast<void*>(context), callback});
        if (!ready) return fail(ready.error(), __func__);
        // Completions that happened before the callback was set and that nobody has seen yet.
        for (auto& operation : ready.value())
            Client::instance().postEvent(system.value(), HcsEventOperationCallback, {}, operation);
        return S_OK;
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsGetServiceProperties(PCWSTR propertyQuery, PWSTR* result)
{
    if (result) *result = nullptr;
    return guarded(__func__, [&] {
        if (!result) return fail(makeError(E_POINTER, "result is NULL"), __func__);
        constexpr auto method = protocol::Method::GetServiceProperties;
        auto query = documentArgument(propertyQuery, protocol::callSpec(method));
        if (!query) return fail(query.error(), __func__);
        // A failure to reach hcsd comes back as a ResultError document too, as hcsd's own errors do, so
        // the caller learns why the service is not available (not only from the library's log).
        auto failWithDocument = [&](const Error& error) {
            fail(error, __func__);
            return storeDocument(schema::resultErrorText(error.hr, error.message), result, error.hr);
        };
        auto channel = Client::instance().channel();
        if (!channel) return failWithDocument(channel.error());
        auto reply = callAndWait(*channel.value(), method, protocol::QueryParams{*query}, kServiceReplyGrace);
        if (!reply) return failWithDocument(reply.error());
        return storeDocument(reply->document, result, reply->hr);
    });
}

// HcsGrantVmAccess / HcsRevokeVmAccess: hcsd changes the file's ACL with this caller's rights
// (docs/hcsd.md, "HcsGrantVmAccess"); a relative path is this process's, made absolute here.
static HRESULT vmAccess(const char* function, protocol::Method method, PCWSTR vmId, PCWSTR filePath)
{
    auto id = requiredString(vmId, "vmId");
    if (!id) return fail(id.error(), function);
    auto path = requiredString(filePath, "filePath");
    if (!path) return fail(path.error(), function);
    if (path->empty()) return fail(makeError(E_INVALIDARG, "filePath is empty"), function);
    if ((*path)[0] != '/') {
        std::error_code ec;
        auto absolute = std::filesystem::absolute(*path, ec);
        if (ec) return fail(makeError(E_INVALIDARG, "filePath: cannot make \"" + *path + "\" absolute"), function);
        *path = absolute.string();
    }
    auto channel = Client::instance().channel();
    if (!channel) return fail(channel.error(), function);
    auto reply = callAndWait(*channel.value(), method, protocol::VmAccessParams{*id, *path}, kServiceReplyGrace);
    if (!reply) return fail(reply.error(), function);
    if (FAILED(reply->hr)) return fail(makeError(reply->hr, reply->document), function);
    return S_OK;
}

HOSTCOMPUTE_API HRESULT WINAPI HcsGrantVmAccess(PCWSTR vmId, PCWSTR filePath)
{
    return guarded(__func__, [&] { return vmAccess(__func__, protocol::Method::GrantVmAccess, vmId, filePath); });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsRevokeVmAccess(PCWSTR vmId, PCWSTR filePath)
{
    return guarded(__func__, [&] { return vmAccess(__func__, protocol::Method::RevokeVmAccess, vmId, filePath); });
}

}  // extern "C"
