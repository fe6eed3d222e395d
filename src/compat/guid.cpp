// CoCreateGuid and StringFromGUID2 on the project's GUID helpers.
#include <compat/windows.h>

#include <string>

#include "base/guid.h"

extern "C" {

HOSTCOMPUTE_API HRESULT WINAPI CoCreateGuid(GUID* pguid)
{
    if (pguid == nullptr) {
        return E_POINTER;
    }
    *pguid = hc::newGuid();
    return S_OK;
}

HOSTCOMPUTE_API int WINAPI StringFromGUID2(const GUID* rguid, LPWSTR lpsz, int cchMax)
{
    if (rguid == nullptr || lpsz == nullptr) {
        return 0;
    }
    std::string text = hc::formatGuid(*rguid, /*braces=*/true, /*upper=*/true);
    int needed = static_cast<int>(text.size()) + 1;
    if (cchMax < needed) {
        return 0;
    }
    for (size_t i = 0; i < text.size(); ++i) {
        lpsz[i] = static_cast<WCHAR>(text[i]);  // hexadecimal digits, '-' and braces: ASCII
    }
    lpsz[text.size()] = L'\0';
    return needed;
}

}  // extern "C"
