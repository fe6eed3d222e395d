// A program that starts at wmain (with the const-argument form RegFS uses), linked with
// libhostcompute-win32-wmain: prints each argument's length in characters and its code points, so the test
// can check the UTF-8 decoding.
#include <windows.h>

#include <cwchar>

int __cdecl wmain(int argc, const WCHAR** argv)
{
    for (int i = 1; i < argc; ++i) {
        std::wprintf(L"%d:%zu:", i, std::wcslen(argv[i]));
        for (const WCHAR* c = argv[i]; *c != L'\0'; ++c) {
            std::wprintf(L" %X", static_cast<unsigned>(*c));
        }
        std::wprintf(L"\n");
    }
    return argc;
}
