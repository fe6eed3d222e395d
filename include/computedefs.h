/*
 * computedefs.h — the types, enumerations and callback signatures of the Host Compute Service API
 * (Windows SDK ComputeDefs.h), with the same names and numeric values, for Linux. Plain C; included
 * by computecore.h.
 */
#ifndef _HYPERV_COMPUTEDEFS_H_
#define _HYPERV_COMPUTEDEFS_H_

#include <hostcompute/win.h>

#ifdef __cplusplus
extern "C" {
#endif

/* In C++ every enumeration gets int as its fixed underlying type, so any 32-bit value a caller passes
 * (unknown flags included) is a valid value that the library can reject, as in C and on Windows. */
#ifdef __cplusplus
#define HOSTCOMPUTE_HCS_ENUM_BASE : int
#else
#define HOSTCOMPUTE_HCS_ENUM_BASE
#endif

/* Opaque handles. They are never pointers to memory a caller may touch: the library validates each
 * value in a handle table, so NULL, closed or garbage values are rejected, not dereferenced. */
typedef struct HCS_SYSTEM__* HCS_SYSTEM;       /* handle to a compute system */
typedef struct HCS_PROCESS__* HCS_PROCESS;     /* handle to a process in a compute system */
typedef struct HCS_OPERATION__* HCS_OPERATION; /* handle to an operation */
typedef struct HCS_CALLBACK__* HCS_CALLBACK;   /* handle to a callback registration */

/* Type of an operation: the function that last used it. */
typedef enum HCS_OPERATION_TYPE HOSTCOMPUTE_HCS_ENUM_BASE {
    HcsOperationTypeNone = -1,
    HcsOperationTypeEnumerate = 0,
    HcsOperationTypeCreate = 1,
    HcsOperationTypeStart = 2,
    HcsOperationTypeShutdown = 3,
    HcsOperationTypePause = 4,
    HcsOperationTypeResume = 5,
    HcsOperationTypeSave = 6,
    HcsOperationTypeTerminate = 7,
    HcsOperationTypeModify = 8,
    HcsOperationTypeGetProperties = 9,
    HcsOperationTypeCreateProcess = 10,
    HcsOperationTypeSignalProcess = 11,
    HcsOperationTypeGetProcessInfo = 12,
    HcsOperationTypeGetProcessProperties = 13,
    HcsOperationTypeModifyProcess = 14,
    HcsOperationTypeCrash = 15,
    HcsOperationTypeReserved1 = 16,
    HcsOperationTypeReserved2 = 17,
    HcsOperationTypeReserved3 = 18,
    HcsOperationTypeLiveMigration = 19
} HCS_OPERATION_TYPE;

#define HCS_INVALID_OPERATION_ID ((UINT64)(-1))

/* Completion callback of an operation (HcsCreateOperation / HcsSetOperationCallback). */
typedef void(CALLBACK* HCS_OPERATION_COMPLETION)(HCS_OPERATION operation, void* context);

/* Events delivered to HCS_EVENT_CALLBACKs. */
typedef enum HCS_EVENT_TYPE HOSTCOMPUTE_HCS_ENUM_BASE {
    HcsEventInvalid = 0x00000000,

    /* events for HCS_SYSTEM handles */
    HcsEventSystemExited = 0x00000001,
    HcsEventSystemCrashInitiated = 0x00000002,
    HcsEventSystemCrashReport = 0x00000003,
    HcsEventSystemRdpEnhancedModeStateChanged = 0x00000004,
    HcsEventSystemSiloJobCreated = 0x00000005,
    HcsEventSystemGuestConnectionClosed = 0x00000006,

    /* events for HCS_PROCESS handles */
    HcsEventProcessExited = 0x00010000,

    /* common events */
    HcsEventOperationCallback = 0x01000000,
    HcsEventServiceDisconnect = 0x02000000,

    /* event groups, enabled by HCS_EVENT_OPTIONS */
    HcsEventGroupVmLifecycle = (int)0x80000002u,
    HcsEventGroupLiveMigration = (int)0x80000003u,

    /* events for HCS_OPERATION (HcsCreateOperationWithNotifications) */
    HcsEventGroupOperationInfo = (int)0xC0000001u
} HCS_EVENT_TYPE;

/* An event on a compute system, a process or an operation. */
typedef struct HCS_EVENT {
    HCS_EVENT_TYPE Type; /* see HCS_EVENT_TYPE */
    PCWSTR EventData;    /* JSON document with the event's data, or NULL */
    HCS_OPERATION Operation; /* the completed operation when Type is HcsEventOperationCallback */
} HCS_EVENT;

/* Options of an event callback registration (flags). */
typedef enum HCS_EVENT_OPTIONS HOSTCOMPUTE_HCS_ENUM_BASE {
    HcsEventOptionNone = 0x00000000,
    HcsEventOptionEnableOperationCallbacks = 0x00000001,
    HcsEventOptionEnableVmLifecycle = 0x00000002,
    HcsEventOptionEnableLiveMigrationEvents = 0x00000004
} HCS_EVENT_OPTIONS;

/* Which events an operation created by HcsCreateOperationWithNotifications reports (flags). */
typedef enum HCS_OPERATION_OPTIONS HOSTCOMPUTE_HCS_ENUM_BASE {
    HcsOperationOptionNone = 0x00000000,
    HcsOperationOptionProgressUpdate = 0x00000001,
    HcsOperationOptionReserved1 = 0x00000002
} HCS_OPERATION_OPTIONS;

/* Event callback of a compute system, a process, or an operation with notifications. */
typedef void(CALLBACK* HCS_EVENT_CALLBACK)(HCS_EVENT* event, void* context);

/* Resource types for HcsAddResourceToOperation. */
typedef enum HCS_RESOURCE_TYPE HOSTCOMPUTE_HCS_ENUM_BASE {
    HcsResourceTypeNone = 0,
    HcsResourceTypeFile = 1,
    HcsResourceTypeJob = 2,
    HcsResourceTypeComObject = 3,
    HcsResourceTypeSocket = 4
} HCS_RESOURCE_TYPE;

/* Flags of the legacy (pre-1809) notifications. */
typedef enum HCS_NOTIFICATION_FLAGS HOSTCOMPUTE_HCS_ENUM_BASE {
    HcsNotificationFlagSuccess = 0x00000000,
    HcsNotificationFlagFailure = (int)0x80000000u
} HCS_NOTIFICATION_FLAGS;

/* Legacy (pre-1809) notifications; kept for source compatibility, not delivered by this library. */
typedef enum HCS_NOTIFICATIONS HOSTCOMPUTE_HCS_ENUM_BASE {
    HcsNotificationInvalid = 0x00000000,
    HcsNotificationSystemExited = 0x00000001,
    HcsNotificationSystemCreateCompleted = 0x00000002,
    HcsNotificationSystemStartCompleted = 0x00000003,
    HcsNotificationSystemPauseCompleted = 0x00000004,
    HcsNotificationSystemResumeCompleted = 0x00000005,
    HcsNotificationSystemCrashReport = 0x00000006,
    HcsNotificationSystemSiloJobCreated = 0x00000007,
    HcsNotificationSystemSaveCompleted = 0x00000008,
    HcsNotificationSystemRdpEnhancedModeStateChanged = 0x00000009,
    HcsNotificationSystemShutdownFailed = 0x0000000A,
    HcsNotificationSystemShutdownCompleted = 0x0000000A,
    HcsNotificationSystemGetPropertiesCompleted = 0x0000000B,
    HcsNotificationSystemModifyCompleted = 0x0000000C,
    HcsNotificationSystemCrashInitiated = 0x0000000D,
    HcsNotificationSystemGuestConnectionClosed = 0x0000000E,
    HcsNotificationSystemOperationCompletion = 0x0000000F,
    HcsNotificationSystemPassThru = 0x00000010,
    HcsNotificationOperationProgressUpdate = 0x00000100,
    HcsNotificationProcessExited = 0x00010000,
    HcsNotificationServiceDisconnect = 0x01000000,
    HcsNotificationFlagsReserved = (int)0xF0000000u
} HCS_NOTIFICATIONS;

typedef void(CALLBACK* HCS_NOTIFICATION_CALLBACK)(DWORD notificationType, void* context, HRESULT notificationStatus,
                                                  PCWSTR notificationData);

/* Information about a process created by HcsCreateProcess / returned by HcsGetProcessInfo. */
typedef struct HCS_PROCESS_INFORMATION {
    DWORD ProcessId; /* identifier of the process in the compute system */
    DWORD Reserved;
    HANDLE StdInput;  /* standard input, if created */
    HANDLE StdOutput; /* standard output, if created */
    HANDLE StdError;  /* standard error, if created */
} HCS_PROCESS_INFORMATION;

/* Versions of the options of HcsCreateComputeSystemInNamespace. */
typedef enum HCS_CREATE_OPTIONS HOSTCOMPUTE_HCS_ENUM_BASE { HcsCreateOptions_1 = 0x00010000 } HCS_CREATE_OPTIONS;

/* Options of HcsCreateComputeSystemInNamespace; Version must be HcsCreateOptions_1. */
typedef struct HCS_CREATE_OPTIONS_1 {
    HCS_CREATE_OPTIONS Version;
    HANDLE UserToken; /* must be NULL on Linux */
    SECURITY_DESCRIPTOR* SecurityDescriptor; /* must be NULL on Linux */
    HCS_EVENT_OPTIONS CallbackOptions;
    void* CallbackContext;
    HCS_EVENT_CALLBACK Callback; /* optional: registered as by HcsSetComputeSystemCallback */
} HCS_CREATE_OPTIONS_1;

#undef HOSTCOMPUTE_HCS_ENUM_BASE

#ifdef __cplusplus
} /* extern "C" */

/* DEFINE_ENUM_FLAG_OPERATORS is in <hostcompute/win.h>. */
DEFINE_ENUM_FLAG_OPERATORS(HCS_EVENT_OPTIONS)
DEFINE_ENUM_FLAG_OPERATORS(HCS_OPERATION_OPTIONS)
#endif /* __cplusplus */

#endif /* _HYPERV_COMPUTEDEFS_H_ */
