// Shared argument checks and HRESULT plumbing for the computecore C functions (api_*.cpp): one place
// decides what a NULL string, a bad handle or an exception becomes at the C boundary.
//
// Handle rules (docs/hcs-operations.md): a NULL handle is E_INVALIDARG; a non-NULL value that is not an
// open handle of the right kind (closed, garbage, or another kind) is E_HANDLE. NULL required strings
// are E_INVALIDARG, NULL required out-pointers E_POINTER, invalid UTF-8 E_INVALIDARG.
#pragma once

#include <computedefs.h>

#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "base/result.h"
#include "hcs/client/client.h"

namespace hc::hcs {

// Logs why a call was rejected and returns its HRESULT.
HRESULT fail(const Error& error, const char* function);

Result<std::string> requiredString(PCWSTR text, const char* what);
Result<std::optional<std::string>> optionalString(PCWSTR text, const char* what);

Result<std::shared_ptr<Operation>> findOperation(HCS_OPERATION handle);
Result<std::shared_ptr<SystemHandle>> findSystem(HCS_SYSTEM handle);
Result<std::shared_ptr<ProcessHandle>> findProcess(HCS_PROCESS handle);

// What a call on `system` is made on (its completion may go to the system's event callback).
Operation::Target systemTarget(const std::shared_ptr<SystemHandle>& system);

// The HCS_EVENT_OPTIONS flags the library knows.
inline constexpr auto kKnownEventOptions =
    HcsEventOptionEnableOperationCallbacks | HcsEventOptionEnableVmLifecycle | HcsEventOptionEnableLiveMigrationEvents;

// Once a handle's event callback takes operation completions, an operation with a callback of its own
// cannot be used on it (the seed's third pattern): HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET.
Status checkCallbackConflict(const EventTarget& target, const Operation& operation);

// The document argument of `call` ("" when NULL and the call allows none), named as the catalogue names it.
Result<std::string> documentArgument(PCWSTR text, const protocol::CallSpec& call);

// Hands `document` to the caller as a string to free with LocalFree (NULL when there is none) and
// returns `hr`, or HCS_E_OPERATION_RESULT_ALLOCATION_FAILED when the copy cannot be made.
HRESULT storeDocument(const std::string& document, PWSTR* out, HRESULT hr);

// Namespaces: only the default namespace (an empty string) exists on Linux.
Status checkNamespace(PCWSTR idNamespace);

// Runs a C API body, turning escaped exceptions into HRESULTs (no exception crosses the C API).
template <typename Body>
HRESULT guarded(const char* function, Body&& body) noexcept
{
    try {
        return body();
    } catch (const std::bad_alloc&) {
        return fail(makeError(E_OUTOFMEMORY, "out of memory"), function);
    } catch (const std::exception& e) {
        return fail(makeError(E_FAIL, std::string("internal error: ") + e.what()), function);
    } catch (...) {
        return fail(makeError(E_FAIL, "internal error"), function);
    }
}

}  // namespace hc::hcs
