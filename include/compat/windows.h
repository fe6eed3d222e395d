/*
 * windows.h (hostcompute Win32 compatibility component, opt-in: find_package(hostcompute COMPONENTS win32)
 * / pkg-config hostcompute-win32) — the part of the Windows API that HCS and ProjFS programs use around
 * those two APIs, so that their sources compile unchanged: Win32 types and macros, GUID helpers
 * (CoCreateGuid, StringFromGUID2, IsEqualGUID, GUID_NULL), GetLastError/SetLastError, handles (events,
 * threads, files) with CloseHandle and WaitForSingleObject, Sleep, and the MSVC CRT's wcsncpy_s/wcscpy_s.
 * Functions are implemented by libhostcompute-win32. Programs that start at wmain link
 * libhostcompute-win32-wmain, which provides main(). docs/win32-compat.md lists what is here, what is not
 * and the differences that stay (WCHAR is 4 bytes, "%ls" instead of "%ws", case-sensitive include names).
 *
 * Unicode only: the undecorated names (CreateEvent, CreateDirectory, ...) are the ...W functions and
 * TCHAR is WCHAR, as in a Windows build with UNICODE defined. File functions accept '\' and '/' as
 * separators. min/max macros are not defined (as with NOMINMAX).
 */
#ifndef HOSTCOMPUTE_COMPAT_WINDOWS_H
#define HOSTCOMPUTE_COMPAT_WINDOWS_H

#include <hostcompute/win.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "winerror.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- calling conventions and parameter annotations (no-ops) ---- */
#ifndef __cdecl
#define __cdecl
#endif
#ifndef __stdcall
#define __stdcall
#endif
#define APIENTRY WINAPI
#define WINAPIV
#define CONST const
#define IN
#define OUT
#define OPTIONAL
#define _Inout_updates_(x)
#define _In_reads_(x)
#define _Out_writes_(x)
#define _Out_writes_to_(x, y)
#define _Printf_format_string_
#define UNREFERENCED_PARAMETER(P) ((void)(P))

/* ---- more base types ---- */
typedef BYTE* PBYTE;
typedef BYTE* LPBYTE;
typedef DWORD* PDWORD;
typedef DWORD* LPDWORD;
typedef ULONG* PULONG;
typedef LONG* PLONG;
typedef LONG* LPLONG;
typedef USHORT* PUSHORT;
typedef UCHAR* PUCHAR;
typedef INT* PINT;
typedef INT* LPINT;
typedef BOOL* PBOOL;
typedef BOOL* LPBOOL;
typedef BOOLEAN* PBOOLEAN;
typedef UINT32* PUINT32;
typedef UINT64* PUINT64;
typedef INT64* PINT64;
typedef ULONGLONG* PULONGLONG;
typedef ULONG_PTR DWORD_PTR;
typedef ULONG_PTR* PULONG_PTR;
typedef LONG_PTR SSIZE_T;
typedef SIZE_T* PSIZE_T;
typedef CHAR* LPSTR;
typedef const CHAR* LPCSTR;
typedef CHAR* PCHAR;
typedef WCHAR* PWCHAR;
typedef WCHAR* PWCH;
typedef const WCHAR* PCWCH;
typedef const WCHAR* PCZZWSTR;

/* TCHAR: Unicode builds only. */
typedef WCHAR TCHAR;
typedef WCHAR _TCHAR;
typedef WCHAR* PTSTR;
typedef WCHAR* LPTSTR;
typedef const WCHAR* PCTSTR;
typedef const WCHAR* LPCTSTR;
#define __TEXT(quote) L##quote
#define TEXT(quote) __TEXT(quote)
#define _TEXT(quote) __TEXT(quote)
#define _T(quote) __TEXT(quote)
#define _tmain wmain

#ifndef _ERRNO_T_DEFINED
#define _ERRNO_T_DEFINED
typedef int errno_t;
#endif

typedef GUID IID;
typedef GUID CLSID;
#ifdef __cplusplus
#define REFGUID const GUID&
#define REFIID const IID&
#define REFCLSID const CLSID&
#else
#define REFGUID const GUID*
#define REFIID const IID*
#define REFCLSID const CLSID*
#endif

typedef struct _SECURITY_ATTRIBUTES {
    DWORD nLength;
    LPVOID lpSecurityDescriptor;
    BOOL bInheritHandle;
} SECURITY_ATTRIBUTES, *PSECURITY_ATTRIBUTES, *LPSECURITY_ATTRIBUTES;

/* Overlapped I/O is not supported: the functions that take one accept only NULL. */
typedef struct _OVERLAPPED OVERLAPPED, *LPOVERLAPPED;

/* ---- small macros ---- */
#ifdef __cplusplus
}  // extern "C"
template <typename T, size_t N>
char (*hostcompute_array_size_helper(T (&)[N]))[N];
#define ARRAYSIZE(A) (sizeof(*hostcompute_array_size_helper(A)))
extern "C" {
#else
#define ARRAYSIZE(A) (sizeof(A) / sizeof((A)[0]))
#endif
#define _ARRAYSIZE(A) ARRAYSIZE(A)
#define RTL_NUMBER_OF(A) ARRAYSIZE(A)
#ifndef _countof
#define _countof(A) ARRAYSIZE(A)
#endif
#define ZeroMemory(Destination, Length) memset((Destination), 0, (Length))
#define SecureZeroMemory(Destination, Length) memset((Destination), 0, (Length))
#define FillMemory(Destination, Length, Fill) memset((Destination), (Fill), (Length))
#define CopyMemory(Destination, Source, Length) memcpy((Destination), (Source), (Length))
#define MoveMemory(Destination, Source, Length) memmove((Destination), (Source), (Length))
#define LOWORD(l) ((WORD)(((DWORD_PTR)(l)) & 0xffff))
#define HIWORD(l) ((WORD)((((DWORD_PTR)(l)) >> 16) & 0xffff))
#define LOBYTE(w) ((BYTE)(((DWORD_PTR)(w)) & 0xff))
#define HIBYTE(w) ((BYTE)((((DWORD_PTR)(w)) >> 8) & 0xff))
#define MAKEWORD(a, b) ((WORD)(((BYTE)(((DWORD_PTR)(a)) & 0xff)) | ((WORD)((BYTE)(((DWORD_PTR)(b)) & 0xff))) << 8))
#define MAKELONG(a, b) \
    ((LONG)(((WORD)(((DWORD_PTR)(a)) & 0xffff)) | ((DWORD)((WORD)(((DWORD_PTR)(b)) & 0xffff))) << 16))

/* ---- GUIDs ---- */
/* All zeros (a constant in each translation unit: compare with IsEqualGUID, not by address). */
static const GUID GUID_NULL __attribute__((unused)) = {0, 0, 0, {0, 0, 0, 0, 0, 0, 0, 0}};
#define IID_NULL GUID_NULL
#define CLSID_NULL GUID_NULL

/* A random (version 4, RFC 4122 variant) GUID from the kernel's random source. S_OK, or E_POINTER for a
 * NULL pointer, or the failure of the random source as an HRESULT. */
HOSTCOMPUTE_API HRESULT WINAPI CoCreateGuid(GUID* pguid);
/* Writes "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}" (upper case, NUL-terminated) into lpsz. Returns the number
 * of characters written including the NUL (39), or 0 when cchMax is too small or an argument is NULL. */
HOSTCOMPUTE_API int WINAPI StringFromGUID2(const GUID* rguid, LPWSTR lpsz, int cchMax);

#ifdef __cplusplus
}  // extern "C"
inline bool InlineIsEqualGUID(REFGUID a, REFGUID b)
{
    return memcmp(&a, &b, sizeof(GUID)) == 0;
}
inline bool IsEqualGUID(REFGUID a, REFGUID b)
{
    return InlineIsEqualGUID(a, b);
}
inline bool operator==(REFGUID a, REFGUID b)
{
    return InlineIsEqualGUID(a, b);
}
inline bool operator!=(REFGUID a, REFGUID b)
{
    return !InlineIsEqualGUID(a, b);
}
extern "C" {
#else
#define InlineIsEqualGUID(a, b) (memcmp((a), (b), sizeof(GUID)) == 0)
#define IsEqualGUID(a, b) InlineIsEqualGUID(a, b)
#endif
#define IsEqualIID(a, b) IsEqualGUID(a, b)
#define IsEqualCLSID(a, b) IsEqualGUID(a, b)

/* ---- last error (per thread) ---- */
HOSTCOMPUTE_API DWORD WINAPI GetLastError(void);
HOSTCOMPUTE_API void WINAPI SetLastError(DWORD dwErrCode);

/* ---- handles: events, threads and files share CloseHandle and WaitForSingleObject ----
 * A handle is valid from its creation to CloseHandle. Closing a thread's handle does not stop the thread.
 * Every function checks its handle: an unknown or closed handle fails with ERROR_INVALID_HANDLE. */
#define INVALID_HANDLE_VALUE ((HANDLE)(LONG_PTR)-1)

HOSTCOMPUTE_API BOOL WINAPI CloseHandle(HANDLE hObject);
/* WAIT_OBJECT_0 when the event is (or becomes) signalled or the thread has ended, WAIT_TIMEOUT after
 * dwMilliseconds (INFINITE waits forever), WAIT_FAILED with GetLastError() for a bad handle. */
HOSTCOMPUTE_API DWORD WINAPI WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds);

/* Events: manual-reset (stays signalled until ResetEvent) or auto-reset (one waiter consumes the signal).
 * Named events are not supported (lpName must be NULL: ERROR_NOT_SUPPORTED). */
HOSTCOMPUTE_API HANDLE WINAPI CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset,
                                           BOOL bInitialState, LPCWSTR lpName);
HOSTCOMPUTE_API BOOL WINAPI SetEvent(HANDLE hEvent);
HOSTCOMPUTE_API BOOL WINAPI ResetEvent(HANDLE hEvent);
#define CreateEvent CreateEventW

/* Threads: CREATE_SUSPENDED is not supported. The handle is signalled when the thread function returns. */
typedef DWORD(WINAPI* PTHREAD_START_ROUTINE)(LPVOID lpThreadParameter);
typedef PTHREAD_START_ROUTINE LPTHREAD_START_ROUTINE;
#define CREATE_SUSPENDED 0x00000004u
HOSTCOMPUTE_API HANDLE WINAPI CreateThread(LPSECURITY_ATTRIBUTES lpThreadAttributes, SIZE_T dwStackSize,
                                           LPTHREAD_START_ROUTINE lpStartAddress, LPVOID lpParameter,
                                           DWORD dwCreationFlags, LPDWORD lpThreadId);
/* STILL_ACTIVE while the thread runs, then the value its function returned. */
HOSTCOMPUTE_API BOOL WINAPI GetExitCodeThread(HANDLE hThread, LPDWORD lpExitCode);
HOSTCOMPUTE_API DWORD WINAPI GetCurrentThreadId(void);
HOSTCOMPUTE_API DWORD WINAPI GetCurrentProcessId(void);
HOSTCOMPUTE_API void WINAPI Sleep(DWORD dwMilliseconds);
HOSTCOMPUTE_API ULONGLONG WINAPI GetTickCount64(void);

/* Files: synchronous I/O on a descriptor; paths may use '\' or '/'. Sharing modes are accepted and not
 * enforced (Linux has no share modes). */
#define FILE_SHARE_READ 0x00000001u
#define FILE_SHARE_WRITE 0x00000002u
#define FILE_SHARE_DELETE 0x00000004u
#define CREATE_NEW 1
#define CREATE_ALWAYS 2
#define OPEN_EXISTING 3
#define OPEN_ALWAYS 4
#define TRUNCATE_EXISTING 5
typedef struct _CREATEFILE2_EXTENDED_PARAMETERS {
    DWORD dwSize;
    DWORD dwFileAttributes;
    DWORD dwFileFlags;
    DWORD dwSecurityQosFlags;
    LPSECURITY_ATTRIBUTES lpSecurityAttributes;
    HANDLE hTemplateFile;
} CREATEFILE2_EXTENDED_PARAMETERS, *PCREATEFILE2_EXTENDED_PARAMETERS, *LPCREATEFILE2_EXTENDED_PARAMETERS;

HOSTCOMPUTE_API HANDLE WINAPI CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                                          LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                                          DWORD dwFlagsAndAttributes, HANDLE hTemplateFile);
HOSTCOMPUTE_API HANDLE WINAPI CreateFile2(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                                          DWORD dwCreationDisposition,
                                          LPCREATEFILE2_EXTENDED_PARAMETERS pCreateExParams);
HOSTCOMPUTE_API BOOL WINAPI ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead,
                                     LPDWORD lpNumberOfBytesRead, LPOVERLAPPED lpOverlapped);
HOSTCOMPUTE_API BOOL WINAPI WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite,
                                      LPDWORD lpNumberOfBytesWritten, LPOVERLAPPED lpOverlapped);
HOSTCOMPUTE_API BOOL WINAPI CreateDirectoryW(LPCWSTR lpPathName, LPSECURITY_ATTRIBUTES lpSecurityAttributes);
HOSTCOMPUTE_API BOOL WINAPI RemoveDirectoryW(LPCWSTR lpPathName);
HOSTCOMPUTE_API BOOL WINAPI DeleteFileW(LPCWSTR lpFileName);
#define CreateFile CreateFileW
#define CreateDirectory CreateDirectoryW
#define RemoveDirectory RemoveDirectoryW
#define DeleteFile DeleteFileW

/* ---- the MSVC CRT's bounds-checked string copies (in <wchar.h> on Windows) ----
 * 0 on success; EINVAL for NULL arguments or a zero size, ERANGE when the result does not fit (dest is then
 * set to ""), except that count == _TRUNCATE copies what fits and returns STRUNCATE. */
#ifndef _TRUNCATE
#define _TRUNCATE ((size_t)-1)
#endif
#ifndef STRUNCATE
#define STRUNCATE 80
#endif
HOSTCOMPUTE_API errno_t wcsncpy_s(wchar_t* dest, size_t destSize, const wchar_t* src, size_t count);
HOSTCOMPUTE_API errno_t wcscpy_s(wchar_t* dest, size_t destSize, const wchar_t* src);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif /* HOSTCOMPUTE_COMPAT_WINDOWS_H */
