/*
 * projectedfslib.h — the Windows Projected File System (ProjFS) provider API, on Linux.
 *
 * Same names, field order, numeric values and semantics as the Windows SDK header, so a provider
 * written against Windows ProjFS compiles unchanged. The virtualization root is served through FUSE;
 * on-disk state (placeholders, hydrated data, tombstones) lives in the root directory itself.
 * Differences from Windows are listed in docs/projfs-design.md.
 */
#ifndef HOSTCOMPUTE_PROJECTEDFSLIB_H
#define HOSTCOMPUTE_PROJECTEDFSLIB_H

#include <hostcompute/win.h>

#ifndef STDAPI_
#define STDAPI_(type) type
#endif

/* ---- handles (opaque) ---- */
typedef struct PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT__* PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT;
typedef struct PRJ_DIR_ENTRY_BUFFER_HANDLE__* PRJ_DIR_ENTRY_BUFFER_HANDLE;

/* ---- notification types ---- */
typedef enum PRJ_NOTIFY_TYPES {
    PRJ_NOTIFY_NONE = 0x00000000,
    PRJ_NOTIFY_SUPPRESS_NOTIFICATIONS = 0x00000001,
    PRJ_NOTIFY_FILE_OPENED = 0x00000002,
    PRJ_NOTIFY_NEW_FILE_CREATED = 0x00000004,
    PRJ_NOTIFY_FILE_OVERWRITTEN = 0x00000008,
    PRJ_NOTIFY_PRE_DELETE = 0x00000010,
    PRJ_NOTIFY_PRE_RENAME = 0x00000020,
    PRJ_NOTIFY_PRE_SET_HARDLINK = 0x00000040,
    PRJ_NOTIFY_FILE_RENAMED = 0x00000080,
    PRJ_NOTIFY_HARDLINK_CREATED = 0x00000100,
    PRJ_NOTIFY_FILE_HANDLE_CLOSED_NO_MODIFICATION = 0x00000200,
    PRJ_NOTIFY_FILE_HANDLE_CLOSED_FILE_MODIFIED = 0x00000400,
    PRJ_NOTIFY_FILE_HANDLE_CLOSED_FILE_DELETED = 0x00000800,
    PRJ_NOTIFY_FILE_PRE_CONVERT_TO_FULL = 0x00001000,
    PRJ_NOTIFY_USE_EXISTING_MASK = 0xFFFFFFFF
} PRJ_NOTIFY_TYPES;

typedef enum PRJ_NOTIFICATION {
    PRJ_NOTIFICATION_FILE_OPENED = 0x00000002,
    PRJ_NOTIFICATION_NEW_FILE_CREATED = 0x00000004,
    PRJ_NOTIFICATION_FILE_OVERWRITTEN = 0x00000008,
    PRJ_NOTIFICATION_PRE_DELETE = 0x00000010,
    PRJ_NOTIFICATION_PRE_RENAME = 0x00000020,
    PRJ_NOTIFICATION_PRE_SET_HARDLINK = 0x00000040,
    PRJ_NOTIFICATION_FILE_RENAMED = 0x00000080,
    PRJ_NOTIFICATION_HARDLINK_CREATED = 0x00000100,
    PRJ_NOTIFICATION_FILE_HANDLE_CLOSED_NO_MODIFICATION = 0x00000200,
    PRJ_NOTIFICATION_FILE_HANDLE_CLOSED_FILE_MODIFIED = 0x00000400,
    PRJ_NOTIFICATION_FILE_HANDLE_CLOSED_FILE_DELETED = 0x00000800,
    PRJ_NOTIFICATION_FILE_PRE_CONVERT_TO_FULL = 0x00001000
} PRJ_NOTIFICATION;

/* ---- placeholder version ---- */
typedef enum PRJ_PLACEHOLDER_ID { PRJ_PLACEHOLDER_ID_LENGTH = 128 } PRJ_PLACEHOLDER_ID;

typedef struct PRJ_PLACEHOLDER_VERSION_INFO {
    UINT8 ProviderID[PRJ_PLACEHOLDER_ID_LENGTH];
    UINT8 ContentID[PRJ_PLACEHOLDER_ID_LENGTH];
} PRJ_PLACEHOLDER_VERSION_INFO;

/* ---- file information ---- */
typedef struct PRJ_FILE_BASIC_INFO {
    BOOLEAN IsDirectory;
    INT64 FileSize;
    LARGE_INTEGER CreationTime; /* FILETIME ticks; 0 = now */
    LARGE_INTEGER LastAccessTime;
    LARGE_INTEGER LastWriteTime;
    LARGE_INTEGER ChangeTime;
    UINT32 FileAttributes; /* FILE_ATTRIBUTE_*; READONLY is honoured */
} PRJ_FILE_BASIC_INFO;

typedef struct PRJ_PLACEHOLDER_INFO {
    PRJ_FILE_BASIC_INFO FileBasicInfo;
    struct {
        UINT32 EaBufferSize;
        UINT32 OffsetToFirstEa;
    } EaInformation;
    struct {
        UINT32 SecurityBufferSize;
        UINT32 OffsetToSecurityDescriptor;
    } SecurityInformation;
    struct {
        UINT32 StreamsInfoBufferSize;
        UINT32 OffsetToFirstStreamInfo;
    } StreamsInformation;
    PRJ_PLACEHOLDER_VERSION_INFO VersionInfo;
    UINT8 VariableData[1];
} PRJ_PLACEHOLDER_INFO;

typedef enum PRJ_EXT_INFO_TYPE { PRJ_EXT_INFO_TYPE_SYMLINK = 1 } PRJ_EXT_INFO_TYPE;

typedef struct PRJ_EXTENDED_INFO {
    PRJ_EXT_INFO_TYPE InfoType;
    ULONG NextInfoOffset;
    union {
        struct {
            PCWSTR TargetName;
        } Symlink;
    };
} PRJ_EXTENDED_INFO;

/* ---- starting and stopping ---- */
typedef enum PRJ_STARTVIRTUALIZING_FLAGS {
    PRJ_FLAG_NONE = 0x00000000,
    PRJ_FLAG_USE_NEGATIVE_PATH_CACHE = 0x00000001
} PRJ_STARTVIRTUALIZING_FLAGS;

typedef struct PRJ_NOTIFICATION_MAPPING {
    PRJ_NOTIFY_TYPES NotificationBitMask;
    PCWSTR NotificationRoot; /* relative to the virtualization root; L"" = the root */
} PRJ_NOTIFICATION_MAPPING;

typedef struct PRJ_STARTVIRTUALIZING_OPTIONS {
    PRJ_STARTVIRTUALIZING_FLAGS Flags;
    UINT32 PoolThreadCount;       /* 0 = 2 x ConcurrentThreadCount */
    UINT32 ConcurrentThreadCount; /* 0 = number of logical processors */
    PRJ_NOTIFICATION_MAPPING* NotificationMappings;
    UINT32 NotificationMappingsCount;
} PRJ_STARTVIRTUALIZING_OPTIONS;

typedef struct PRJ_VIRTUALIZATION_INSTANCE_INFO {
    GUID InstanceID;
    UINT32 WriteAlignment;
} PRJ_VIRTUALIZATION_INSTANCE_INFO;

/* ---- callback data ---- */
typedef enum PRJ_CALLBACK_DATA_FLAGS {
    PRJ_CB_DATA_FLAG_ENUM_RESTART_SCAN = 0x00000001,
    PRJ_CB_DATA_FLAG_ENUM_RETURN_SINGLE_ENTRY = 0x00000002
} PRJ_CALLBACK_DATA_FLAGS;

/* Valid only while the callback runs. FilePathName is relative to the virtualization root and uses
 * '\\' as the separator, as on Windows. */
typedef struct PRJ_CALLBACK_DATA {
    UINT32 Size;
    PRJ_CALLBACK_DATA_FLAGS Flags;
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT NamespaceVirtualizationContext;
    INT32 CommandId;
    GUID FileId;
    GUID DataStreamId;
    PCWSTR FilePathName;
    PRJ_PLACEHOLDER_VERSION_INFO* VersionInfo;
    UINT32 TriggeringProcessId; /* 0 when unknown */
    PCWSTR TriggeringProcessImageFileName;
    void* InstanceContext;
} PRJ_CALLBACK_DATA;

typedef union PRJ_NOTIFICATION_PARAMETERS {
    struct {
        PRJ_NOTIFY_TYPES NotificationMask;
    } PostCreate;
    struct {
        PRJ_NOTIFY_TYPES NotificationMask;
    } FileRenamed;
    struct {
        BOOLEAN IsFileModified;
    } FileDeletedOnHandleClose;
} PRJ_NOTIFICATION_PARAMETERS;

/* ---- callbacks (function types; PRJ_CALLBACKS holds pointers to them) ---- */
typedef HRESULT(CALLBACK PRJ_START_DIRECTORY_ENUMERATION_CB)(_In_ const PRJ_CALLBACK_DATA* callbackData,
                                                             _In_ const GUID* enumerationId);
typedef HRESULT(CALLBACK PRJ_GET_DIRECTORY_ENUMERATION_CB)(_In_ const PRJ_CALLBACK_DATA* callbackData,
                                                           _In_ const GUID* enumerationId,
                                                           _In_opt_z_ PCWSTR searchExpression,
                                                           _In_ PRJ_DIR_ENTRY_BUFFER_HANDLE dirEntryBufferHandle);
typedef HRESULT(CALLBACK PRJ_END_DIRECTORY_ENUMERATION_CB)(_In_ const PRJ_CALLBACK_DATA* callbackData,
                                                           _In_ const GUID* enumerationId);
typedef HRESULT(CALLBACK PRJ_GET_PLACEHOLDER_INFO_CB)(_In_ const PRJ_CALLBACK_DATA* callbackData);
typedef HRESULT(CALLBACK PRJ_GET_FILE_DATA_CB)(_In_ const PRJ_CALLBACK_DATA* callbackData, _In_ UINT64 byteOffset,
                                               _In_ UINT32 length);
typedef HRESULT(CALLBACK PRJ_QUERY_FILE_NAME_CB)(_In_ const PRJ_CALLBACK_DATA* callbackData);
typedef HRESULT(CALLBACK PRJ_NOTIFICATION_CB)(_In_ const PRJ_CALLBACK_DATA* callbackData, _In_ BOOLEAN isDirectory,
                                              _In_ PRJ_NOTIFICATION notification, _In_opt_ PCWSTR destinationFileName,
                                              _Inout_ PRJ_NOTIFICATION_PARAMETERS* operationParameters);
typedef void(CALLBACK PRJ_CANCEL_COMMAND_CB)(_In_ const PRJ_CALLBACK_DATA* callbackData);

typedef struct PRJ_CALLBACKS {
    PRJ_START_DIRECTORY_ENUMERATION_CB* StartDirectoryEnumerationCallback;
    PRJ_END_DIRECTORY_ENUMERATION_CB* EndDirectoryEnumerationCallback;
    PRJ_GET_DIRECTORY_ENUMERATION_CB* GetDirectoryEnumerationCallback;
    PRJ_GET_PLACEHOLDER_INFO_CB* GetPlaceholderInfoCallback;
    PRJ_GET_FILE_DATA_CB* GetFileDataCallback;
    PRJ_QUERY_FILE_NAME_CB* QueryFileNameCallback; /* optional */
    PRJ_NOTIFICATION_CB* NotificationCallback;     /* optional */
    PRJ_CANCEL_COMMAND_CB* CancelCommandCallback;  /* optional; without it nothing is cancellable */
} PRJ_CALLBACKS;

/* ---- completing commands ---- */
typedef enum PRJ_COMPLETE_COMMAND_TYPE {
    PRJ_COMPLETE_COMMAND_TYPE_NOTIFICATION = 1,
    PRJ_COMPLETE_COMMAND_TYPE_ENUMERATION = 2
} PRJ_COMPLETE_COMMAND_TYPE;

typedef struct PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS {
    PRJ_COMPLETE_COMMAND_TYPE CommandType;
    union {
        struct {
            PRJ_NOTIFY_TYPES NotificationMask;
        } Notification;
        struct {
            PRJ_DIR_ENTRY_BUFFER_HANDLE DirEntryBufferHandle;
        } Enumeration;
        /* Microsoft's asynchronous-callback sample spells this member `enumeration`; same storage. */
        struct {
            PRJ_DIR_ENTRY_BUFFER_HANDLE DirEntryBufferHandle;
        } enumeration;
    };
} PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS;

/* ---- on-disk state ---- */
typedef enum PRJ_FILE_STATE {
    PRJ_FILE_STATE_PLACEHOLDER = 0x00000001,
    PRJ_FILE_STATE_HYDRATED_PLACEHOLDER = 0x00000002,
    PRJ_FILE_STATE_DIRTY_PLACEHOLDER = 0x00000004,
    PRJ_FILE_STATE_FULL = 0x00000008,
    PRJ_FILE_STATE_TOMBSTONE = 0x00000010
} PRJ_FILE_STATE;

typedef enum PRJ_UPDATE_TYPES {
    PRJ_UPDATE_NONE = 0x00000000,
    PRJ_UPDATE_ALLOW_DIRTY_METADATA = 0x00000001,
    PRJ_UPDATE_ALLOW_DIRTY_DATA = 0x00000002,
    PRJ_UPDATE_ALLOW_TOMBSTONE = 0x00000004,
    PRJ_UPDATE_RESERVED1 = 0x00000008,
    PRJ_UPDATE_RESERVED2 = 0x00000010,
    PRJ_UPDATE_ALLOW_READ_ONLY = 0x00000020,
    PRJ_UPDATE_MAX_VAL = 0x00000040
} PRJ_UPDATE_TYPES;

typedef enum PRJ_UPDATE_FAILURE_CAUSES {
    PRJ_UPDATE_FAILURE_CAUSE_NONE = 0x00000000,
    PRJ_UPDATE_FAILURE_CAUSE_DIRTY_METADATA = 0x00000001,
    PRJ_UPDATE_FAILURE_CAUSE_DIRTY_DATA = 0x00000002,
    PRJ_UPDATE_FAILURE_CAUSE_TOMBSTONE = 0x00000004,
    PRJ_UPDATE_FAILURE_CAUSE_READ_ONLY = 0x00000008
} PRJ_UPDATE_FAILURE_CAUSES;

/* ---- flag enums combine with | & ~ ^ in C++ as they do with the Windows SDK ---- */
#ifdef __cplusplus
#define HOSTCOMPUTE_PRJ_FLAG_OPERATORS(T)                        \
    inline constexpr T operator|(T a, T b)                       \
    {                                                            \
        return T((unsigned long long)a | (unsigned long long)b); \
    }                                                            \
    inline constexpr T operator&(T a, T b)                       \
    {                                                            \
        return T((unsigned long long)a & (unsigned long long)b); \
    }                                                            \
    inline constexpr T operator^(T a, T b)                       \
    {                                                            \
        return T((unsigned long long)a ^ (unsigned long long)b); \
    }                                                            \
    inline constexpr T operator~(T a)                            \
    {                                                            \
        return T(~(unsigned long long)a);                        \
    }                                                            \
    inline T& operator|=(T& a, T b)                              \
    {                                                            \
        return a = a | b;                                        \
    }                                                            \
    inline T& operator&=(T& a, T b)                              \
    {                                                            \
        return a = a & b;                                        \
    }                                                            \
    inline T& operator^=(T& a, T b)                              \
    {                                                            \
        return a = a ^ b;                                        \
    }
HOSTCOMPUTE_PRJ_FLAG_OPERATORS(PRJ_NOTIFY_TYPES)
HOSTCOMPUTE_PRJ_FLAG_OPERATORS(PRJ_STARTVIRTUALIZING_FLAGS)
HOSTCOMPUTE_PRJ_FLAG_OPERATORS(PRJ_CALLBACK_DATA_FLAGS)
HOSTCOMPUTE_PRJ_FLAG_OPERATORS(PRJ_FILE_STATE)
HOSTCOMPUTE_PRJ_FLAG_OPERATORS(PRJ_UPDATE_TYPES)
HOSTCOMPUTE_PRJ_FLAG_OPERATORS(PRJ_UPDATE_FAILURE_CAUSES)
#undef HOSTCOMPUTE_PRJ_FLAG_OPERATORS
#endif

/* ---- functions ---- */
#ifdef __cplusplus
extern "C" {
#endif
HOSTCOMPUTE_API STDAPI
PrjStartVirtualizing(_In_ PCWSTR virtualizationRootPath, _In_ const PRJ_CALLBACKS* callbacks,
                     _In_opt_ const void* instanceContext, _In_opt_ const PRJ_STARTVIRTUALIZING_OPTIONS* options,
                     _Outptr_ PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT* namespaceVirtualizationContext);

HOSTCOMPUTE_API STDAPI_(void)
    PrjStopVirtualizing(_In_ PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext);

HOSTCOMPUTE_API STDAPI PrjClearNegativePathCache(
    _In_ PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext, _Out_opt_ UINT32* totalEntryNumber);

HOSTCOMPUTE_API STDAPI
PrjGetVirtualizationInstanceInfo(_In_ PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                 _Out_ PRJ_VIRTUALIZATION_INSTANCE_INFO* virtualizationInstanceInfo);

HOSTCOMPUTE_API STDAPI PrjMarkDirectoryAsPlaceholder(_In_ PCWSTR rootPathName, _In_opt_ PCWSTR targetPathName,
                                                     _In_opt_ const PRJ_PLACEHOLDER_VERSION_INFO* versionInfo,
                                                     _In_ const GUID* virtualizationInstanceID);

HOSTCOMPUTE_API STDAPI PrjWritePlaceholderInfo(_In_ PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                               _In_ PCWSTR destinationFileName,
                                               _In_ const PRJ_PLACEHOLDER_INFO* placeholderInfo,
                                               _In_ UINT32 placeholderInfoSize);

HOSTCOMPUTE_API STDAPI
PrjWritePlaceholderInfo2(_In_ PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                         _In_ PCWSTR destinationFileName, _In_ const PRJ_PLACEHOLDER_INFO* placeholderInfo,
                         _In_ UINT32 placeholderInfoSize, _In_opt_ const PRJ_EXTENDED_INFO* ExtendedInfo);

HOSTCOMPUTE_API STDAPI PrjUpdateFileIfNeeded(_In_ PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                             _In_ PCWSTR destinationFileName,
                                             _In_ const PRJ_PLACEHOLDER_INFO* placeholderInfo,
                                             _In_ UINT32 placeholderInfoSize, _In_opt_ PRJ_UPDATE_TYPES updateFlags,
                                             _Out_opt_ PRJ_UPDATE_FAILURE_CAUSES* failureReason);

HOSTCOMPUTE_API STDAPI PrjDeleteFile(_In_ PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                     _In_ PCWSTR destinationFileName, _In_opt_ PRJ_UPDATE_TYPES updateFlags,
                                     _Out_opt_ PRJ_UPDATE_FAILURE_CAUSES* failureReason);

HOSTCOMPUTE_API STDAPI PrjWriteFileData(_In_ PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                        _In_ const GUID* dataStreamId, _In_reads_bytes_(length) void* buffer,
                                        _In_ UINT64 byteOffset, _In_ UINT32 length);

/* destinationFileName is a full path; works with or without the provider running. */
HOSTCOMPUTE_API STDAPI PrjGetOnDiskFileState(_In_ PCWSTR destinationFileName, _Out_ PRJ_FILE_STATE* fileState);

HOSTCOMPUTE_API STDAPI_(void*)
    PrjAllocateAlignedBuffer(_In_ PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                             _In_ size_t size);

HOSTCOMPUTE_API STDAPI_(void) PrjFreeAlignedBuffer(_In_ void* buffer);

HOSTCOMPUTE_API STDAPI PrjCompleteCommand(_In_ PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                          _In_ INT32 commandId, _In_ HRESULT completionResult,
                                          _In_opt_ PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS* extendedParameters);

HOSTCOMPUTE_API STDAPI PrjFillDirEntryBuffer(_In_ PCWSTR fileName, _In_opt_ PRJ_FILE_BASIC_INFO* fileBasicInfo,
                                             _In_ PRJ_DIR_ENTRY_BUFFER_HANDLE dirEntryBufferHandle);

/* Note: the buffer handle comes FIRST here, as in the Windows SDK. */
HOSTCOMPUTE_API STDAPI PrjFillDirEntryBuffer2(_In_ PRJ_DIR_ENTRY_BUFFER_HANDLE dirEntryBufferHandle,
                                              _In_ PCWSTR fileName, _In_opt_ PRJ_FILE_BASIC_INFO* fileBasicInfo,
                                              _In_opt_ PRJ_EXTENDED_INFO* extendedInfo);

HOSTCOMPUTE_API STDAPI_(BOOLEAN) PrjFileNameMatch(_In_ PCWSTR fileNameToCheck, _In_ PCWSTR pattern);

HOSTCOMPUTE_API STDAPI_(int) PrjFileNameCompare(_In_ PCWSTR fileName1, _In_ PCWSTR fileName2);

HOSTCOMPUTE_API STDAPI_(BOOLEAN) PrjDoesNameContainWildCards(_In_ LPCWSTR fileName);

/* ---- hostcompute extensions (not in Windows' projectedfslib.h) ------------------------------------------
 *
 * PrjInvalidateDirectoryListing: the provider's source changed what the directory `directoryName` (relative
 * to the virtualization root, either separator; "" is the root) lists. Listings of placeholder directories
 * are cached by the Linux kernel after the first enumeration (Windows asks the provider every time); the
 * runtime drops that cache itself after PrjWritePlaceholderInfo(2), PrjUpdateFileIfNeeded and PrjDeleteFile
 * of a child and after local changes, so a provider needs this call only when it lists different entries
 * without touching the disk. The next listing starts a new enumeration. Callable from any thread, also
 * from inside a callback.
 * Returns S_OK (also for a directory that is still virtual: no listing of it can be cached),
 * E_INVALIDARG (unknown context, NULL or malformed name), HRESULT_FROM_WIN32(ERROR_DIRECTORY) (the name is
 * a file), or the error of reading the backing store. */
HOSTCOMPUTE_API STDAPI PrjInvalidateDirectoryListing(
    _In_ PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext, _In_ PCWSTR directoryName);

/* PRJ_HOSTCOMPUTE_POSIX_INFO: POSIX attributes of a projected item, an entry of the ExtendedInfo chain of
 * PrjWritePlaceholderInfo2 and PrjFillDirEntryBuffer2 (pass its address cast to PRJ_EXTENDED_INFO*; chain
 * it after or before a PRJ_EXT_INFO_TYPE_SYMLINK entry with NextInfoOffset, as Windows chains entries:
 * the byte offset from the start of this entry to the next, 0 = last).
 * Its type is a plain constant, not a PRJ_EXT_INFO_TYPE enumerator, so code written against Windows'
 * header (a switch over PRJ_EXT_INFO_TYPE, an enum that may only hold 0..1) never meets it, and
 * PRJ_EXTENDED_INFO keeps Windows' size. The value, 'H' 'C' in the high bytes, is far from Windows' own
 * types (small integers counting up from 1) so a future Windows type cannot collide with it.
 * Fields says which of Mode, Uid, Gid are given; the others take the defaults (mode 0644, 0444 with
 * FILE_ATTRIBUTE_READONLY, 0755 for directories, less the provider's umask; the provider's owner).
 * Mode: permission bits only (07777); given, it is exact (no umask) and wins over FILE_ATTRIBUTE_READONLY.
 * Uid/Gid: applied only when the provider process may give files away (effective uid 0); otherwise the
 * item is the provider's, silently, both when listed and on disk (docs/projfs-design.md, "POSIX attributes").
 * Ignored for symbolic links (Linux links have no mode). Unknown Fields bits, mode bits outside 07777, a
 * repeated entry type or an unknown type in the chain: E_INVALIDARG. */
#define PRJ_EXT_INFO_TYPE_HOSTCOMPUTE_POSIX 0x48430001u

typedef enum PRJ_HOSTCOMPUTE_POSIX_FIELDS {
    PRJ_HOSTCOMPUTE_POSIX_MODE = 0x1,
    PRJ_HOSTCOMPUTE_POSIX_UID = 0x2,
    PRJ_HOSTCOMPUTE_POSIX_GID = 0x4
} PRJ_HOSTCOMPUTE_POSIX_FIELDS;

typedef struct PRJ_HOSTCOMPUTE_POSIX_INFO {
    UINT32 InfoType;       /* PRJ_EXT_INFO_TYPE_HOSTCOMPUTE_POSIX; where PRJ_EXTENDED_INFO has InfoType */
    ULONG NextInfoOffset;  /* as in PRJ_EXTENDED_INFO */
    UINT32 Fields;         /* PRJ_HOSTCOMPUTE_POSIX_FIELDS, or-ed */
    UINT32 Mode;
    UINT32 Uid;
    UINT32 Gid;
} PRJ_HOSTCOMPUTE_POSIX_INFO;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HOSTCOMPUTE_PROJECTEDFSLIB_H */
