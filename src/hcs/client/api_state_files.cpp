// HcsCreateEmptyGuestStateFile / HcsCreateEmptyRuntimeStateFile: made by the client library itself, with the
// caller's rights (no hcsd involved); the formats are vm/state_files.h's (docs/hcsd.md, "Save and restore").
#include <computecore.h>

#include "hcs/client/api_support.h"
#include "hcs/vm/state_files.h"

using namespace hc;
using namespace hc::hcs;

namespace {

template <typename Create>
HRESULT createStateFile(const char* function, PCWSTR path, const char* what, Create create)
{
    return guarded(function, [&] {
        auto text = requiredString(path, what);
        if (!text) return fail(text.error(), function);
        if (Status st = create(*text); !st)
            return fail(makeError(st.hr(), std::string(what) + ": " + st.error().message), function);
        return S_OK;
    });
}

}  // namespace

extern "C" {

HOSTCOMPUTE_API HRESULT WINAPI HcsCreateEmptyGuestStateFile(PCWSTR guestStateFilePath)
{
    return createStateFile(__func__, guestStateFilePath, "guestStateFilePath", vm::createEmptyGuestStateFile);
}

HOSTCOMPUTE_API HRESULT WINAPI HcsCreateEmptyRuntimeStateFile(PCWSTR runtimeStateFilePath)
{
    return createStateFile(__func__, runtimeStateFilePath, "runtimeStateFilePath", vm::createEmptyRuntimeStateFile);
}

}  // extern "C"
