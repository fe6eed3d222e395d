// The HCS_PROCESS functions of computecore.h: processes inside a compute system, run by its guest agent
// through hcsd. Same shape as the system calls (api_systems.cpp): validate synchronously, send the
// catalogue's call, let the operation carry the outcome. Which handle's event callback takes a
// completion: the system's for HcsCreateProcess (the call is made on the system), the process's for the
// calls made on a process. Stdio descriptors: process_info.h and operation.h.
#include <computecore.h>

#include "hcs/client/api_support.h"
#include "hcs/client/sync_call.h"

using namespace hc;
using namespace hc::hcs;

namespace {

Operation::Target processTarget(const std::shared_ptr<ProcessHandle>& process)
{
    return Operation::Target{process->system(), process->handle(), process};
}

std::shared_ptr<ProcessHandle> registerProcess(const std::shared_ptr<SystemHandle>& system, DWORD processId)
{
    const auto& channel = system->channel();
    auto process = std::make_shared<ProcessHandle>(channel, channel->newHandleNumber(), system->handle(), processId);
    const auto value = Client::instance().processes().insert(process);
    process->setHandle(reinterpret_cast<HCS_PROCESS>(value));
    return process;
}

// Takes a handle that never became usable back out of the table.
void unregisterProcess(const std::shared_ptr<ProcessHandle>& process)
{
    Client::instance().processes().remove(process->handle());
    process->gate().close(false);
}

// Releases a process handle number in hcsd without waiting for the answer.
void closeOnService(ServiceChannel& channel, uint64_t handleNumber)
{
    channel.send(protocol::Method::CloseProcess, protocol::HandleParams{handleNumber}, [](ServiceReply) {});
}

// TerminateProcess, SignalProcess, GetProcessProperties, ModifyProcess: a call on one process with its
// one document; GetProcessInfo (no document) shares it through `params`.
HRESULT processCall(const char* function, protocol::Method method, HCS_PROCESS processHandle, HCS_OPERATION operation,
                    PCWSTR text)
{
    return guarded(function, [&] {
        auto process = findProcess(processHandle);
        if (!process) return fail(process.error(), function);
        auto op = findOperation(operation);
        if (!op) return fail(op.error(), function);
        const auto& call = protocol::callSpec(method);
        protocol::Params params = protocol::HandleParams{process.value()->number()};
        if (!call.documentField.empty()) {
            auto document = documentArgument(text, call);
            if (!document) return fail(document.error(), function);
            params = protocol::SystemCallParams{process.value()->number(), *document};
        }
        if (auto conflict = checkCallbackConflict(*process.value(), *op.value()); !conflict)
            return fail(conflict.error(), function);
        auto started =
            Client::instance().startCall(op.value(), processTarget(process.value()), process.value()->channel(), method,
                                         std::move(params), process.value());
        return started ? S_OK : fail(started.error(), function);
    });
}

}  // namespace

extern "C" {

HOSTCOMPUTE_API HRESULT WINAPI HcsCreateProcess(HCS_SYSTEM computeSystem, PCWSTR processParameters,
                                                HCS_OPERATION operation, const SECURITY_DESCRIPTOR* securityDescriptor,
                                                HCS_PROCESS* process)
{
    if (process) *process = nullptr;
    return guarded(__func__, [&] {
        if (!process) return fail(makeError(E_POINTER, "process is NULL"), __func__);
        if (securityDescriptor)
            return fail(makeError(E_INVALIDARG, "securityDescriptor must be NULL on Linux"), __func__);
        auto system = findSystem(computeSystem);
        if (!system) return fail(system.error(), __func__);
        auto op = findOperation(operation);
        if (!op) return fail(op.error(), __func__);
        constexpr auto method = protocol::Method::CreateProcess;
        auto parameters = documentArgument(processParameters, protocol::callSpec(method));
        if (!parameters) return fail(parameters.error(), __func__);
        if (auto conflict = checkCallbackConflict(*system.value(), *op.value()); !conflict)
            return fail(conflict.error(), __func__);

        auto created = registerProcess(system.value(), 0);
        Operation::Target target{system.value()->handle(), created->handle(), system.value()};
        auto started = Client::instance().startCall(
            op.value(), std::move(target), system.value()->channel(), method,
            protocol::CreateProcessParams{system.value()->number(), created->number(), *parameters}, created);
        if (!started) {
            unregisterProcess(created);
            return fail(started.error(), __func__);
        }
        *process = created->handle();
        return S_OK;
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsOpenProcess(HCS_SYSTEM computeSystem, DWORD processId, DWORD requestedAccess,
                                              HCS_PROCESS* process)
{
    (void)requestedAccess;  // every handle has full access on Linux
    if (process) *process = nullptr;
    return guarded(__func__, [&] {
        if (!process) return fail(makeError(E_POINTER, "process is NULL"), __func__);
        auto system = findSystem(computeSystem);
        if (!system) return fail(system.error(), __func__);
        auto opened = registerProcess(system.value(), processId);
        auto& channel = *system.value()->channel();
        auto reply = callAndWait(channel, protocol::Method::OpenProcess,
                                 protocol::OpenProcessParams{system.value()->number(), opened->number(), processId},
                                 kServiceReplyGrace);
        const HRESULT hr = reply ? reply->hr : reply.hr();
        if (FAILED(hr)) {
            unregisterProcess(opened);
            // After a timeout hcsd may still open it: release that handle number there.
            if (!reply) closeOnService(channel, opened->number());
            return fail(reply ? makeError(hr, reply->document) : reply.error(), __func__);
        }
        *process = opened->handle();
        return S_OK;
    });
}

HOSTCOMPUTE_API void WINAPI HcsCloseProcess(HCS_PROCESS process)
{
    guarded(__func__, [&] {
        auto& client = Client::instance();
        auto closed = client.processes().remove(process);
        if (!closed) return fail(makeError(E_HANDLE, "not an open HCS_PROCESS handle"), __func__);
        closed->gate().close(!client.dispatcher().onDispatchThread());
        closeOnService(*closed->channel(), closed->number());
        return S_OK;
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsTerminateProcess(HCS_PROCESS process, HCS_OPERATION operation, PCWSTR options)
{
    return processCall(__func__, protocol::Method::TerminateProcess, process, operation, options);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsSignalProcess(HCS_PROCESS process, HCS_OPERATION operation, PCWSTR options)
{
    return processCall(__func__, protocol::Method::SignalProcess, process, operation, options);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsGetProcessInfo(HCS_PROCESS process, HCS_OPERATION operation)
{
    return processCall(__func__, protocol::Method::GetProcessInfo, process, operation, nullptr);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsGetProcessProperties(HCS_PROCESS process, HCS_OPERATION operation,
                                                       PCWSTR propertyQuery)
{
    return processCall(__func__, protocol::Method::GetProcessProperties, process, operation, propertyQuery);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsModifyProcess(HCS_PROCESS process, HCS_OPERATION operation, PCWSTR settings)
{
    return processCall(__func__, protocol::Method::ModifyProcess, process, operation, settings);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsSetProcessCallback(HCS_PROCESS process, HCS_EVENT_OPTIONS callbackOptions,
                                                     void* context, HCS_EVENT_CALLBACK callback)
{
    return guarded(__func__, [&] {
        auto found = findProcess(process);
        if (!found) return fail(found.error(), __func__);
        if (!callback) return fail(makeError(E_INVALIDARG, "callback is NULL"), __func__);
        if ((callbackOptions & ~kKnownEventOptions) != 0)
            return fail(makeError(E_INVALIDARG, "unknown HCS_EVENT_OPTIONS flags"), __func__);
        auto ready = found.value()->setEventCallback(EventTarget::Registration{callbackOptions, context, callback});
        if (!ready) return fail(ready.error(), __func__);
        // Completions that happened before the callback was set and that nobody has seen yet.
        for (auto& operation : ready.value())
            Client::instance().postEvent(found.value(), HcsEventOperationCallback, {}, operation);
        return S_OK;
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsWaitForProcessExit(HCS_PROCESS process, DWORD timeoutMs, PWSTR* result)
{
    if (result) *result = nullptr;
    return guarded(__func__, [&] {
        auto found = findProcess(process);
        if (!found) return fail(found.error(), __func__);
        std::optional<std::chrono::milliseconds> limit;
        if (timeoutMs != INFINITE) limit = std::chrono::milliseconds(timeoutMs) + kServiceReplyGrace;
        auto reply = callAndWait(*found.value()->channel(), protocol::Method::WaitForProcessExit,
                                 protocol::WaitExitParams{found.value()->number(), timeoutMs}, limit);
        if (!reply) return fail(reply.error(), __func__);
        return storeDocument(reply->document, result, reply->hr);
    });
}

}  // extern "C"
