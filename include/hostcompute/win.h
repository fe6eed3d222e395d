/*
 * hostcompute/win.h — the Windows base types, error codes and helpers that computecore.h and
 * projectedfslib.h need, with the same names, sizes and values as the Windows SDK, so code written
 * against the Windows APIs compiles unchanged on Linux. WCHAR is wchar_t (32-bit here), so L"..."
 * literals work as they do on Windows.
 */
#ifndef HOSTCOMPUTE_WIN_H
#define HOSTCOMPUTE_WIN_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- calling conventions and annotations (no-ops on Linux) ---- */
#ifndef WINAPI
#define WINAPI
#endif
#ifndef CALLBACK
#define CALLBACK
#endif
#ifndef STDAPI
#define STDAPI HRESULT
#endif
#ifndef HOSTCOMPUTE_API
#define HOSTCOMPUTE_API __attribute__((visibility("default")))
#endif
#define _In_
#define _In_opt_
#define _In_z_
#define _In_opt_z_
#define _Out_
#define _Out_opt_
#define _Outptr_
#define _Outptr_opt_
#define _Inout_
#define _Inout_opt_
#define _In_reads_bytes_(x)
#define _Out_writes_bytes_(x)
#define _Reserved_
#define _Ret_maybenull_
#define _Success_(x)
#define _Must_inspect_result_
#define _Check_return_
#define _Field_size_(x)
#define _Field_size_bytes_(x)
#define _When_(a, b)
#define _Post_writable_byte_size_(x)

/* ---- integer and pointer types (sizes as on Windows; LONG/ULONG are 32-bit there) ---- */
typedef int32_t HRESULT;
typedef uint32_t DWORD;
typedef int BOOL;
typedef uint8_t BOOLEAN;
typedef uint8_t BYTE;
typedef uint8_t UCHAR;
typedef uint8_t UINT8;
typedef int8_t INT8;
typedef uint16_t UINT16;
typedef uint16_t USHORT;
typedef uint16_t WORD;
typedef int16_t INT16;
typedef int16_t SHORT;
typedef int32_t INT;
typedef int32_t INT32;
typedef int32_t LONG;
typedef uint32_t UINT;
typedef uint32_t UINT32;
typedef uint32_t ULONG;
typedef int64_t INT64;
typedef int64_t LONGLONG;
typedef uint64_t UINT64;
typedef uint64_t ULONGLONG;
typedef uint64_t ULONG64;
typedef uint64_t DWORD64;
typedef size_t SIZE_T;
typedef uintptr_t ULONG_PTR;
typedef intptr_t LONG_PTR;
typedef uintptr_t UINT_PTR;
typedef void VOID;
typedef void* PVOID;
typedef void* LPVOID;
typedef const void* LPCVOID;
typedef void* HANDLE;
typedef HANDLE* PHANDLE;
typedef void* HLOCAL;
typedef char CHAR;
typedef wchar_t WCHAR;
typedef WCHAR* PWSTR;
typedef WCHAR* LPWSTR;
typedef const WCHAR* PCWSTR;
typedef const WCHAR* LPCWSTR;
typedef CHAR* PSTR;
typedef const CHAR* PCSTR;

typedef union _LARGE_INTEGER {
    struct {
        DWORD LowPart;
        LONG HighPart;
    };
    struct {
        DWORD LowPart;
        LONG HighPart;
    } u;
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef struct _FILETIME {
    DWORD dwLowDateTime;
    DWORD dwHighDateTime;
} FILETIME, *PFILETIME, *LPFILETIME;

#ifndef GUID_DEFINED
#define GUID_DEFINED
typedef struct _GUID {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
} GUID;
#endif
typedef GUID* LPGUID;
typedef const GUID* LPCGUID;
typedef GUID UUID;

/* Opaque on Linux; the APIs accept only NULL here. */
typedef struct _SECURITY_DESCRIPTOR SECURITY_DESCRIPTOR, *PSECURITY_DESCRIPTOR;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

#define INFINITE 0xFFFFFFFFu
#define GENERIC_READ 0x80000000u
#define GENERIC_WRITE 0x40000000u
#define GENERIC_EXECUTE 0x20000000u
#define GENERIC_ALL 0x10000000u
#define MAX_PATH 260

/* ---- file attributes ---- */
#define FILE_ATTRIBUTE_READONLY 0x00000001u
#define FILE_ATTRIBUTE_HIDDEN 0x00000002u
#define FILE_ATTRIBUTE_SYSTEM 0x00000004u
#define FILE_ATTRIBUTE_DIRECTORY 0x00000010u
#define FILE_ATTRIBUTE_ARCHIVE 0x00000020u
#define FILE_ATTRIBUTE_DEVICE 0x00000040u
#define FILE_ATTRIBUTE_NORMAL 0x00000080u
#define FILE_ATTRIBUTE_TEMPORARY 0x00000100u
#define FILE_ATTRIBUTE_SPARSE_FILE 0x00000200u
#define FILE_ATTRIBUTE_REPARSE_POINT 0x00000400u
#define FILE_ATTRIBUTE_COMPRESSED 0x00000800u
#define FILE_ATTRIBUTE_OFFLINE 0x00001000u
#define FILE_ATTRIBUTE_NOT_CONTENT_INDEXED 0x00002000u
#define FILE_ATTRIBUTE_ENCRYPTED 0x00004000u
#define FILE_ATTRIBUTE_RECALL_ON_OPEN 0x00040000u
#define FILE_ATTRIBUTE_RECALL_ON_DATA_ACCESS 0x00400000u

/* ---- HRESULT construction ---- */
#define FACILITY_NULL 0
#define FACILITY_WIN32 7
#define FACILITY_NT_BIT 0x10000000
#define SUCCEEDED(hr) (((HRESULT)(hr)) >= 0)
#define FAILED(hr) (((HRESULT)(hr)) < 0)
#define IS_ERROR(hr) ((((uint32_t)(hr)) >> 31) == 1)
#define HRESULT_CODE(hr) ((hr) & 0xFFFF)
#define HRESULT_FACILITY(hr) (((hr) >> 16) & 0x1fff)
#define HRESULT_SEVERITY(hr) (((hr) >> 31) & 0x1)
#define MAKE_HRESULT(sev, fac, code) \
    ((HRESULT)(((unsigned long)(sev) << 31) | ((unsigned long)(fac) << 16) | ((unsigned long)(code))))

#ifdef __cplusplus
#define HOSTCOMPUTE_CONSTEXPR constexpr
#else
#define HOSTCOMPUTE_CONSTEXPR
#endif
static inline HOSTCOMPUTE_CONSTEXPR HRESULT HRESULT_FROM_WIN32(unsigned long x)
{
    return (HRESULT)(x) <= 0 ? (HRESULT)(x) : (HRESULT)(((x) & 0x0000FFFF) | (FACILITY_WIN32 << 16) | 0x80000000);
}
#define HRESULT_FROM_NT(x) ((HRESULT)((x) | FACILITY_NT_BIT))

/* ---- generic HRESULTs ---- */
#define S_OK ((HRESULT)0L)
#define S_FALSE ((HRESULT)1L)
#define E_NOTIMPL ((HRESULT)0x80004001L)
#define E_NOINTERFACE ((HRESULT)0x80004002L)
#define E_POINTER ((HRESULT)0x80004003L)
#define E_ABORT ((HRESULT)0x80004004L)
#define E_FAIL ((HRESULT)0x80004005L)
#define E_UNEXPECTED ((HRESULT)0x8000FFFFL)
#define E_ACCESSDENIED ((HRESULT)0x80070005L)
#define E_HANDLE ((HRESULT)0x80070006L)
#define E_OUTOFMEMORY ((HRESULT)0x8007000EL)
#define E_INVALIDARG ((HRESULT)0x80070057L)

/* ---- Win32 error codes (winerror.h values) ---- */
#define ERROR_SUCCESS 0L
#define NO_ERROR 0L
#define ERROR_INVALID_FUNCTION 1L
#define ERROR_FILE_NOT_FOUND 2L
#define ERROR_PATH_NOT_FOUND 3L
#define ERROR_TOO_MANY_OPEN_FILES 4L
#define ERROR_ACCESS_DENIED 5L
#define ERROR_INVALID_HANDLE 6L
#define ERROR_NOT_ENOUGH_MEMORY 8L
#define ERROR_INVALID_DATA 13L
#define ERROR_OUTOFMEMORY 14L
#define ERROR_NOT_SAME_DEVICE 17L
#define ERROR_WRITE_PROTECT 19L
#define ERROR_NOT_READY 21L
#define ERROR_SHARING_VIOLATION 32L
#define ERROR_LOCK_VIOLATION 33L
#define ERROR_HANDLE_EOF 38L
#define ERROR_NOT_SUPPORTED 50L
#define ERROR_FILE_EXISTS 80L
#define ERROR_CANNOT_MAKE 82L
#define ERROR_INVALID_PARAMETER 87L
#define ERROR_BROKEN_PIPE 109L
#define ERROR_DISK_FULL 112L
#define ERROR_INSUFFICIENT_BUFFER 122L
#define ERROR_INVALID_NAME 123L
#define ERROR_DIR_NOT_EMPTY 145L
#define ERROR_BAD_PATHNAME 161L
#define ERROR_BUSY 170L
#define ERROR_ALREADY_EXISTS 183L
#define ERROR_FILENAME_EXCED_RANGE 206L
#define ERROR_FILE_TOO_LARGE 223L
#define ERROR_MORE_DATA 234L
#define ERROR_DIRECTORY 267L
#define ERROR_OFFSET_ALIGNMENT_VIOLATION 327L
#define ERROR_DIRECTORY_NOT_SUPPORTED 336L
#define ERROR_FILE_SYSTEM_VIRTUALIZATION_UNAVAILABLE 369L
#define ERROR_FILE_SYSTEM_VIRTUALIZATION_METADATA_CORRUPT 370L
#define ERROR_FILE_SYSTEM_VIRTUALIZATION_BUSY 371L
#define ERROR_FILE_SYSTEM_VIRTUALIZATION_PROVIDER_UNKNOWN 372L
#define ERROR_FILE_SYSTEM_VIRTUALIZATION_INVALID_OPERATION 385L
#define ERROR_STOPPED_ON_SYMLINK 681L
#define ERROR_OPERATION_ABORTED 995L
#define ERROR_IO_INCOMPLETE 996L
#define ERROR_IO_PENDING 997L
#define ERROR_IO_DEVICE 1117L
#define ERROR_TOO_MANY_LINKS 1142L
#define ERROR_NOT_FOUND 1168L
#define ERROR_CANCELLED 1223L
#define ERROR_ALREADY_INITIALIZED 1247L
#define ERROR_DISK_QUOTA_EXCEEDED 1295L
#define ERROR_INTERNAL_ERROR 1359L
#define ERROR_TIMEOUT 1460L
#define ERROR_CANT_RESOLVE_FILENAME 1921L
#define ERROR_NOT_A_REPARSE_POINT 4390L
#define ERROR_REPARSE_TAG_INVALID 4393L
#define ERROR_REPARSE_TAG_MISMATCH 4394L
#define ERROR_REPARSE_POINT_ENCOUNTERED 4395L

/* ---- NT status values used through HRESULT_FROM_NT ---- */
#define STATUS_CANNOT_DELETE ((LONG)0xC0000121L)

/* ---- Host Compute Service errors (facility 0x37, winerror.h) ---- */
#define HCS_E_TERMINATED_DURING_START ((HRESULT)0x80370100L)
#define HCS_E_IMAGE_MISMATCH ((HRESULT)0x80370101L)
#define HCS_E_HYPERV_NOT_INSTALLED ((HRESULT)0x80370102L)
#define HCS_E_INVALID_STATE ((HRESULT)0x80370105L)
#define HCS_E_UNEXPECTED_EXIT ((HRESULT)0x80370106L)
#define HCS_E_TERMINATED ((HRESULT)0x80370107L)
#define HCS_E_CONNECT_FAILED ((HRESULT)0x80370108L)
#define HCS_E_CONNECTION_TIMEOUT ((HRESULT)0x80370109L)
#define HCS_E_CONNECTION_CLOSED ((HRESULT)0x8037010AL)
#define HCS_E_UNKNOWN_MESSAGE ((HRESULT)0x8037010BL)
#define HCS_E_UNSUPPORTED_PROTOCOL_VERSION ((HRESULT)0x8037010CL)
#define HCS_E_INVALID_JSON ((HRESULT)0x8037010DL)
#define HCS_E_SYSTEM_NOT_FOUND ((HRESULT)0x8037010EL)
#define HCS_E_SYSTEM_ALREADY_EXISTS ((HRESULT)0x8037010FL)
#define HCS_E_SYSTEM_ALREADY_STOPPED ((HRESULT)0x80370110L)
#define HCS_E_PROTOCOL_ERROR ((HRESULT)0x80370111L)
#define HCS_E_INVALID_LAYER ((HRESULT)0x80370112L)
#define HCS_E_SERVICE_NOT_AVAILABLE ((HRESULT)0x80370114L)
#define HCS_E_OPERATION_NOT_STARTED ((HRESULT)0x80370115L)
#define HCS_E_OPERATION_ALREADY_STARTED ((HRESULT)0x80370116L)
#define HCS_E_OPERATION_PENDING ((HRESULT)0x80370117L)
#define HCS_E_OPERATION_TIMEOUT ((HRESULT)0x80370118L)
#define HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET ((HRESULT)0x80370119L)
#define HCS_E_OPERATION_RESULT_ALLOCATION_FAILED ((HRESULT)0x8037011AL)
#define HCS_E_ACCESS_DENIED ((HRESULT)0x8037011BL)
#define HCS_E_GUEST_CRITICAL_ERROR ((HRESULT)0x8037011CL)
#define HCS_E_PROCESS_INFO_NOT_AVAILABLE ((HRESULT)0x8037011DL)
#define HCS_E_SERVICE_DISCONNECT ((HRESULT)0x8037011EL)
#define HCS_E_PROCESS_ALREADY_STOPPED ((HRESULT)0x8037011FL)
#define HCS_E_SYSTEM_NOT_CONFIGURED_FOR_OPERATION ((HRESULT)0x80370120L)
#define HCS_E_OPERATION_ALREADY_CANCELLED ((HRESULT)0x80370121L)

/* ---- memory for library-allocated results (both free the same allocations) ---- */
HOSTCOMPUTE_API HLOCAL LocalFree(HLOCAL mem);
HOSTCOMPUTE_API void CoTaskMemFree(LPVOID mem);
HOSTCOMPUTE_API LPVOID CoTaskMemAlloc(SIZE_T size);

#ifdef __cplusplus
} /* extern "C" */

/* DEFINE_ENUM_FLAG_OPERATORS from winnt.h: bitwise operators for flag enumerations in C++ (used by
 * computedefs.h and by providers such as Microsoft's RegFS sample, which include only projectedfslib.h). */
#ifndef DEFINE_ENUM_FLAG_OPERATORS
#define DEFINE_ENUM_FLAG_OPERATORS(ENUMTYPE)                                                                        \
    inline constexpr ENUMTYPE operator|(ENUMTYPE a, ENUMTYPE b)                                                     \
    {                                                                                                               \
        return ENUMTYPE(static_cast<unsigned>(a) | static_cast<unsigned>(b));                                       \
    }                                                                                                               \
    inline ENUMTYPE& operator|=(ENUMTYPE& a, ENUMTYPE b) { return a = a | b; }                                      \
    inline constexpr ENUMTYPE operator&(ENUMTYPE a, ENUMTYPE b)                                                     \
    {                                                                                                               \
        return ENUMTYPE(static_cast<unsigned>(a) & static_cast<unsigned>(b));                                       \
    }                                                                                                               \
    inline ENUMTYPE& operator&=(ENUMTYPE& a, ENUMTYPE b) { return a = a & b; }                                      \
    inline constexpr ENUMTYPE operator~(ENUMTYPE a) { return ENUMTYPE(~static_cast<unsigned>(a)); }                 \
    inline constexpr ENUMTYPE operator^(ENUMTYPE a, ENUMTYPE b)                                                     \
    {                                                                                                               \
        return ENUMTYPE(static_cast<unsigned>(a) ^ static_cast<unsigned>(b));                                       \
    }                                                                                                               \
    inline ENUMTYPE& operator^=(ENUMTYPE& a, ENUMTYPE b) { return a = a ^ b; }
#endif
#endif /* __cplusplus */

#endif /* HOSTCOMPUTE_WIN_H */
