/* ntstatus.h (hostcompute Win32 compatibility component): the NT status values used with HRESULT_FROM_NT
 * (STATUS_CANNOT_DELETE) are in <hostcompute/win.h>, which <windows.h> includes. */
#include "windows.h"
