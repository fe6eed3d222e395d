// A Windows-style program through the installed win32 component: <windows.h>, WIL, wmain.
#include <windows.h>
#include <objbase.h>
#include <computecore.h>
#include <wil/resource.h>

#include <cstdio>

int __cdecl wmain(int argc, wchar_t** argv)
{
    try {
        GUID id = GUID_NULL;
        THROW_IF_FAILED(CoCreateGuid(&id));
        WCHAR text[39];
        THROW_HR_IF(E_UNEXPECTED, StringFromGUID2(&id, text, ARRAYSIZE(text)) != 39);
        wil::unique_hcs_operation operation(HcsCreateOperation(nullptr, nullptr));
        THROW_HR_IF_NULL(E_OUTOFMEMORY, operation.get());
        THROW_HR_IF(E_INVALIDARG, argc != 2 || wcscmp(argv[1], L"h\u00e9") != 0);
        std::printf("consumer_win32: ok %ls\n", text);
    } catch (const wil::ResultException& e) {
        std::fprintf(stderr, "consumer_win32: %s\n", e.what());
        return 1;
    }
    return 0;
}
