// computecore.h functions this version does not implement yet: processes in compute systems, live
// migration, service settings and state files. Each validates its arguments like the real function
// would (so callers see the same argument errors) and then returns E_NOTIMPL.
#include <computecore.h>

#include "hcs/client/api_support.h"

using namespace hc;
using namespace hc::hcs;

namespace {

HRESULT notImplemented(const char* function, const char* what)
{
    return fail(makeError(E_NOTIMPL, std::string(what) + " is not implemented yet"), function);
}

// Checks an optional or required wide-string argument; returns S_OK when it is acceptable.
HRESULT checkText(const char* function, PCWSTR text, const char* what, bool required)
{
    if (!required) {
        auto value = optionalString(text, what);
        return value ? S_OK : fail(value.error(), function);
    }
    auto value = requiredString(text, what);
    return value ? S_OK : fail(value.error(), function);
}

HRESULT checkSystemAndOperation(const char* function, HCS_SYSTEM computeSystem, HCS_OPERATION operation)
{
    auto system = findSystem(computeSystem);
    if (!system) return fail(system.error(), function);
    auto op = findOperation(operation);
    if (!op) return fail(op.error(), function);
    return S_OK;
}

// No HCS_PROCESS handle can exist yet, so every non-NULL one is invalid.
HRESULT checkProcess(const char* function, HCS_PROCESS process)
{
    if (!process) return fail(makeError(E_INVALIDARG, "the process handle is NULL"), function);
    return fail(makeError(E_HANDLE, "not an open HCS_PROCESS handle"), function);
}

HRESULT liveMigration(const char* function, HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options)
{
    return guarded(function, [&] {
        if (HRESULT hr = checkSystemAndOperation(function, computeSystem, operation); FAILED(hr)) return hr;
        if (HRESULT hr = checkText(function, options, "options", false); FAILED(hr)) return hr;
        return notImplemented(function, "live migration");
    });
}

}  // namespace

extern "C" {

HOSTCOMPUTE_API HRESULT WINAPI HcsInitializeLiveMigrationOnSource(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                                                  PCWSTR options)
{
    return liveMigration(__func__, computeSystem, operation, options);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsStartLiveMigrationOnSource(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                                             PCWSTR options)
{
    return liveMigration(__func__, computeSystem, operation, options);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsStartLiveMigrationTransfer(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                                             PCWSTR options)
{
    return liveMigration(__func__, computeSystem, operation, options);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsFinalizeLiveMigration(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                                        PCWSTR options)
{
    return liveMigration(__func__, computeSystem, operation, options);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsCreateProcess(HCS_SYSTEM computeSystem, PCWSTR processParameters,
                                                HCS_OPERATION operation, const SECURITY_DESCRIPTOR* securityDescriptor,
                                                HCS_PROCESS* process)
{
    if (process) *process = nullptr;
    return guarded(__func__, [&] {
        if (!process) return fail(makeError(E_POINTER, "process is NULL"), __func__);
        if (securityDescriptor)
            return fail(makeError(E_INVALIDARG, "securityDescriptor must be NULL on Linux"), __func__);
        if (HRESULT hr = checkSystemAndOperation(__func__, computeSystem, operation); FAILED(hr)) return hr;
        if (HRESULT hr = checkText(__func__, processParameters, "processParameters", true); FAILED(hr)) return hr;
        return notImplemented(__func__, "running processes in a compute system");
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsOpenProcess(HCS_SYSTEM computeSystem, DWORD processId, DWORD requestedAccess,
                                              HCS_PROCESS* process)
{
    (void)processId;
    (void)requestedAccess;
    if (process) *process = nullptr;
    return guarded(__func__, [&] {
        if (!process) return fail(makeError(E_POINTER, "process is NULL"), __func__);
        auto system = findSystem(computeSystem);
        if (!system) return fail(system.error(), __func__);
        return notImplemented(__func__, "opening processes in a compute system");
    });
}

HOSTCOMPUTE_API void WINAPI HcsCloseProcess(HCS_PROCESS process)
{
    (void)process;  // no process handle can be open yet
}

HOSTCOMPUTE_API HRESULT WINAPI HcsTerminateProcess(HCS_PROCESS process, HCS_OPERATION operation, PCWSTR options)
{
    (void)operation;
    (void)options;
    return checkProcess(__func__, process);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsSignalProcess(HCS_PROCESS process, HCS_OPERATION operation, PCWSTR options)
{
    (void)operation;
    (void)options;
    return checkProcess(__func__, process);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsGetProcessInfo(HCS_PROCESS process, HCS_OPERATION operation)
{
    (void)operation;
    return checkProcess(__func__, process);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsGetProcessProperties(HCS_PROCESS process, HCS_OPERATION operation,
                                                       PCWSTR propertyQuery)
{
    (void)operation;
    (void)propertyQuery;
    return checkProcess(__func__, process);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsModifyProcess(HCS_PROCESS process, HCS_OPERATION operation, PCWSTR settings)
{
    (void)operation;
    (void)settings;
    return checkProcess(__func__, process);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsSetProcessCallback(HCS_PROCESS process, HCS_EVENT_OPTIONS callbackOptions,
                                                     void* context, HCS_EVENT_CALLBACK callback)
{
    (void)callbackOptions;
    (void)context;
    (void)callback;
    return checkProcess(__func__, process);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsWaitForProcessExit(HCS_PROCESS computeSystem, DWORD timeoutMs, PWSTR* result)
{
    (void)timeoutMs;
    if (result) *result = nullptr;
    return checkProcess(__func__, computeSystem);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsModifyServiceSettings(PCWSTR settings, PWSTR* result)
{
    if (result) *result = nullptr;
    return guarded(__func__, [&] {
        if (HRESULT hr = checkText(__func__, settings, "settings", true); FAILED(hr)) return hr;
        return notImplemented(__func__, "modifying service settings");
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsSubmitWerReport(PCWSTR settings)
{
    return guarded(__func__, [&] {
        if (HRESULT hr = checkText(__func__, settings, "settings", true); FAILED(hr)) return hr;
        return notImplemented(__func__, "Windows Error Reporting");
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsCreateEmptyGuestStateFile(PCWSTR guestStateFilePath)
{
    return guarded(__func__, [&] {
        if (HRESULT hr = checkText(__func__, guestStateFilePath, "guestStateFilePath", true); FAILED(hr)) return hr;
        return notImplemented(__func__, "guest state files");
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsCreateEmptyRuntimeStateFile(PCWSTR runtimeStateFilePath)
{
    return guarded(__func__, [&] {
        if (HRESULT hr = checkText(__func__, runtimeStateFilePath, "runtimeStateFilePath", true); FAILED(hr)) return hr;
        return notImplemented(__func__, "runtime state files");
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsGrantVmAccess(PCWSTR vmId, PCWSTR filePath)
{
    return guarded(__func__, [&] {
        if (HRESULT hr = checkText(__func__, vmId, "vmId", true); FAILED(hr)) return hr;
        if (HRESULT hr = checkText(__func__, filePath, "filePath", true); FAILED(hr)) return hr;
        return notImplemented(__func__, "per-VM file access grants");
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsRevokeVmAccess(PCWSTR vmId, PCWSTR filePath)
{
    return guarded(__func__, [&] {
        if (HRESULT hr = checkText(__func__, vmId, "vmId", true); FAILED(hr)) return hr;
        if (HRESULT hr = checkText(__func__, filePath, "filePath", true); FAILED(hr)) return hr;
        return notImplemented(__func__, "per-VM file access grants");
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsGrantVmGroupAccess(PCWSTR filePath)
{
    return guarded(__func__, [&] {
        if (HRESULT hr = checkText(__func__, filePath, "filePath", true); FAILED(hr)) return hr;
        return notImplemented(__func__, "VM group file access grants");
    });
}

HOSTCOMPUTE_API HRESULT WINAPI HcsRevokeVmGroupAccess(PCWSTR filePath)
{
    return guarded(__func__, [&] {
        if (HRESULT hr = checkText(__func__, filePath, "filePath", true); FAILED(hr)) return hr;
        return notImplemented(__func__, "VM group file access grants");
    });
}

}  // extern "C"
