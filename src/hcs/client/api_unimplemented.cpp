// computecore.h functions this version does not implement yet: live migration, service settings and the VM group
// grants. Each
// validates its arguments like the real function would (so callers see the same argument errors) and then returns
// E_NOTIMPL.
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
