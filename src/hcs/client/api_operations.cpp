// The HCS_OPERATION functions of computecore.h. Semantics: operation.h and docs/hcs-operations.md.
#include <computecore.h>

#include <atomic>

#include "base/strings.h"
#include "hcs/client/api_support.h"
#include "hcs/schema/documents.h"

using namespace hc;
using namespace hc::hcs;

namespace {

std::atomic<uint64_t> nextOperationId{1};

HCS_OPERATION registerOperation(Operation::Callbacks callbacks) noexcept
{
    try {
        auto operation = std::make_shared<Operation>(nextOperationId.fetch_add(1), callbacks);
        const auto value = Client::instance().operations().insert(operation);
        operation->setHandle(reinterpret_cast<HCS_OPERATION>(value));
        return operation->handle();
    } catch (...) {
        return nullptr;  // documented: NULL when the operation cannot be allocated
    }
}

HRESULT deliverResult(const char* function, const std::shared_ptr<Operation>& operation,
                      const Result<Operation::Outcome>& outcome, PWSTR* resultDocument)

{
    if (!outcome) return fail(outcome.error(), function);
    operation->markCompletionObserved();
    return storeDocument(outcome->document, resultDocument, outcome->hr);
}

bool isProcessOperation(HCS_OPERATION_TYPE type)
{
    return type == HcsOperationTypeCreateProcess || type == HcsOperationTypeGetProcessInfo;
}

}  // namespace

extern "C" {

HOSTCOMPUTE_API HCS_OPERATION WINAPI HcsCreateOperation(const void* context, HCS_OPERATION_COMPLETION callback)
{
    Operation::Callbacks callbacks;
    callbacks.completion = callback;
    callbacks.context = const_cast<void*>(context);
    return registerOperation(callbacks);
}

HOSTCOMPUTE_API HCS_OPERATION WINAPI HcsCreateOperationWithNotifications(HCS_OPERATION_OPTIONS eventTypes,
                                                                         const void* context,
                                                                         HCS_EVENT_CALLBACK callback)
{
    const auto known = HcsOperationOptionProgressUpdate | HcsOperationOptionReserved1;
    if (!callback || (eventTypes & ~known) != 0) return nullptr;
    Operation::Callbacks callbacks;
    callbacks.events = callback;
    callbacks.eventOptions = eventTypes;
    callbacks.context = const_cast<void*>(context);
    return registerOperation(callbacks);
}

HOSTCOMPUTE_API void WINAPI HcsCloseOperation(HCS_OPERATION operation)
{
    guarded(__func__, [&] {
        auto& client = Client::instance();
        auto closed = client.operations().remove(operation);
        if (closed) closed->close(!client.dispatcher().onDispatchThread());
        return S_OK;
    });
}

HOSTCOMPUTE_API void* WINAPI HcsGetOperationContext(HCS_OPERATION operation)
{
    auto found = findOperation(operation);
    return found ? found.value()->context() : nullptr;
}

HOSTCOMPUTE_API HRESULT WINAPI HcsSetOperationContext(HCS_OPERATION operation, const void* context)
{
    auto found = findOperation(operation);
    if (!found) return fail(found.error(), __func__);
    found.value()->setContext(const_cast<void*>(context));
    return S_OK;
}

HOSTCOMPUTE_API HCS_SYSTEM WINAPI HcsGetComputeSystemFromOperation(HCS_OPERATION operation)
{
    auto found = findOperation(operation);
    return found ? found.value()->system() : nullptr;
}

HOSTCOMPUTE_API HCS_PROCESS WINAPI HcsGetProcessFromOperation(HCS_OPERATION operation)
{
    auto found = findOperation(operation);
    if (!found) return nullptr;
    HCS_PROCESS process = found.value()->process();
    // NULL once the process handle is closed: a closed handle is never handed out again.
    return process && Client::instance().processes().find(process) ? process : nullptr;
}

HOSTCOMPUTE_API HCS_OPERATION_TYPE WINAPI HcsGetOperationType(HCS_OPERATION operation)
{
    auto found = findOperation(operation);
    return found ? found.value()->type() : HcsOperationTypeNone;
}

HOSTCOMPUTE_API UINT64 WINAPI HcsGetOperationId(HCS_OPERATION operation)
{
    auto found = findOperation(operation);
    return found ? found.value()->id() : HCS_INVALID_OPERATION_ID;
}

HOSTCOMPUTE_API HRESULT WINAPI HcsGetOperationResult(HCS_OPERATION operation, PWSTR* resultDocument)
{
    if (resultDocument) *resultDocument = nullptr;
    return guarded(__func__, [&] {
        auto found = findOperation(operation);
        if (!found) return fail(found.error(), __func__);
        return deliverResult(__func__, found.value(), found.value()->result(), resultDocument);
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsGetOperationResultAndProcessInfo(HCS_OPERATION operation,
                                                                   HCS_PROCESS_INFORMATION* processInformation,
                                                                   PWSTR* resultDocument)
{
    if (processInformation) *processInformation = HCS_PROCESS_INFORMATION{};
    if (resultDocument) *resultDocument = nullptr;
    return guarded(__func__, [&] {
        auto found = findOperation(operation);
        if (!found) return fail(found.error(), __func__);
        // Unlike the Wait variant, any operation is accepted; one without process information zeroes it.
        return deliverResult(__func__, found.value(), found.value()->result(processInformation), resultDocument);
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsWaitForOperationResult(HCS_OPERATION operation, DWORD timeoutMs,
                                                         PWSTR* resultDocument)
{
    if (resultDocument) *resultDocument = nullptr;
    return guarded(__func__, [&] {
        auto found = findOperation(operation);
        if (!found) return fail(found.error(), __func__);
        return deliverResult(__func__, found.value(), found.value()->waitForResult(timeoutMs), resultDocument);
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsWaitForOperationResultAndProcessInfo(HCS_OPERATION operation, DWORD timeoutMs,
                                                                       HCS_PROCESS_INFORMATION* processInformation,
                                                                       PWSTR* resultDocument)
{
    if (processInformation) *processInformation = HCS_PROCESS_INFORMATION{};
    if (resultDocument) *resultDocument = nullptr;
    return guarded(__func__, [&] {
        auto found = findOperation(operation);
        if (!found) return fail(found.error(), __func__);
        if (!isProcessOperation(found.value()->type()))
            return fail(makeError(E_INVALIDARG, "the operation is not tracking HcsCreateProcess or HcsGetProcessInfo"),
                        __func__);
        return deliverResult(__func__, found.value(), found.value()->waitForResult(timeoutMs, processInformation),
                             resultDocument);
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsSetOperationCallback(HCS_OPERATION operation, const void* context,
                                                       HCS_OPERATION_COMPLETION callback)
{
    auto found = findOperation(operation);
    if (!found) return fail(found.error(), __func__);
    auto set = found.value()->setCompletionCallback(const_cast<void*>(context), callback);
    return set ? S_OK : fail(set.error(), __func__);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsCancelOperation(HCS_OPERATION operation)
{
    return guarded(__func__, [&] {
        auto found = findOperation(operation);
        if (!found) return fail(found.error(), __func__);
        auto generation = found.value()->cancel();
        if (!generation) return fail(generation.error(), __func__);
        if (generation.value() != 0)
            Client::instance().completeOperation(found.value(), generation.value(), HCS_E_OPERATION_ALREADY_CANCELLED,
                                                 schema::resultErrorText(HCS_E_OPERATION_ALREADY_CANCELLED,
                                                                         "the operation was cancelled by the caller"));
        return S_OK;
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsGetOperationProperties(HCS_OPERATION operation, PCWSTR options, PWSTR* resultDocument)
{
    if (resultDocument) *resultDocument = nullptr;
    return guarded(__func__, [&] {
        if (!resultDocument) return fail(makeError(E_POINTER, "resultDocument is NULL"), __func__);
        auto found = findOperation(operation);
        if (!found) return fail(found.error(), __func__);
        auto query = optionalString(options, "options");
        if (!query) return fail(query.error(), __func__);
        if (*query && !query->value().empty() && !nlohmann::json::accept(query->value()))
            return fail(makeError(HCS_E_INVALID_JSON, "options is not a JSON document"), __func__);
        auto& op = *found.value();
        nlohmann::json properties = {{"Id", op.id()}, {"Type", operationTypeName(op.type())}};
        auto outcome = op.result();
        switch (op.state()) {
            case OperationState::NotStarted:
                properties["State"] = "NotStarted";
                break;
            case OperationState::Pending:
                properties["State"] = "Pending";
                break;
            case OperationState::Completed:
                properties["State"] = "Completed";
                break;
        }
        if (outcome) properties["Result"] = outcome->hr;
        return storeDocument(properties.dump(), resultDocument, S_OK);
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsAddResourceToOperation(HCS_OPERATION operation, HCS_RESOURCE_TYPE type, PCWSTR uri,
                                                         HANDLE handle)
{
    (void)handle;
    return guarded(__func__, [&] {
        auto found = findOperation(operation);
        if (!found) return fail(found.error(), __func__);
        if (type < HcsResourceTypeNone || type > HcsResourceTypeSocket)
            return fail(makeError(E_INVALIDARG, "unknown HCS_RESOURCE_TYPE " + std::to_string(type)), __func__);
        auto text = requiredString(uri, "uri");
        if (!text) return fail(text.error(), __func__);
        return fail(makeError(E_NOTIMPL, "resources on operations are not supported yet"), __func__);
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsGetProcessorCompatibilityFromSavedState(PCWSTR RuntimeFileName,
                                                                          PCWSTR* ProcessorFeaturesString)
{
    if (ProcessorFeaturesString) *ProcessorFeaturesString = nullptr;
    return guarded(__func__, [&] {
        auto text = requiredString(RuntimeFileName, "RuntimeFileName");
        if (!text) return fail(text.error(), __func__);
        return fail(makeError(E_NOTIMPL, "saved-state files are not supported yet"), __func__);
    });
}

}  // extern "C"
