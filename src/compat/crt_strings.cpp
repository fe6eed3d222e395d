// wcsncpy_s / wcscpy_s with the MSVC CRT's documented results (the bounds-checked copies Windows samples use).
#include <compat/windows.h>

#include <cerrno>
#include <cwchar>

extern "C" {

HOSTCOMPUTE_API errno_t wcsncpy_s(wchar_t* dest, size_t destSize, const wchar_t* src, size_t count)
{
    if (dest == nullptr || destSize == 0) {
        return EINVAL;
    }
    if (src == nullptr) {
        dest[0] = L'\0';
        return EINVAL;
    }
    size_t length = 0;
    while (length < count && src[length] != L'\0') {
        ++length;
    }
    if (length >= destSize) {
        if (count == _TRUNCATE) {
            std::wmemcpy(dest, src, destSize - 1);
            dest[destSize - 1] = L'\0';
            return STRUNCATE;
        }
        dest[0] = L'\0';
        return ERANGE;
    }
    std::wmemcpy(dest, src, length);
    dest[length] = L'\0';
    return 0;
}

HOSTCOMPUTE_API errno_t wcscpy_s(wchar_t* dest, size_t destSize, const wchar_t* src)
{
    return wcsncpy_s(dest, destSize, src, _TRUNCATE - 1);
}

}  // extern "C"
