/* objbase.h (hostcompute Win32 compatibility component): CoCreateGuid, StringFromGUID2, CoTaskMemAlloc and
 * CoTaskMemFree, all declared by <windows.h> here. */
#include "windows.h"
