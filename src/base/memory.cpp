// LocalFree / CoTaskMemFree / CoTaskMemAlloc: every string or buffer the libraries hand to a caller
// comes from malloc, so both Windows free functions release the same pointer.
#include <hostcompute/win.h>

#include <cstdlib>

extern "C" {

HOSTCOMPUTE_API HLOCAL LocalFree(HLOCAL mem)
{
    std::free(mem);
    return nullptr;
}

HOSTCOMPUTE_API void CoTaskMemFree(LPVOID mem)
{
    std::free(mem);
}

HOSTCOMPUTE_API LPVOID CoTaskMemAlloc(SIZE_T size)
{
    return std::malloc(size == 0 ? 1 : size);
}

}  // extern "C"
