/*
 * computecore.h — the Host Compute Service client API (Windows SDK ComputeCore.h) on Linux: the same
 * function names, signatures and HRESULTs. Compute systems belong to the hcsd service; these functions
 * talk to it. Link with -lcomputecore. Result strings (PWSTR*) are freed by the caller with LocalFree.
 *
 * Functions that return E_NOTIMPL in this version (after validating their arguments): the process
 * functions (HcsCreateProcess ... HcsWaitForProcessExit), HcsAddResourceToOperation,
 * HcsModifyServiceSettings, HcsSubmitWerReport, HcsCreateEmptyGuestStateFile,
 * HcsCreateEmptyRuntimeStateFile, HcsGrantVmAccess / HcsRevokeVmAccess and the Group variants,
 * HcsGetProcessorCompatibilityFromSavedState and the live-migration functions. docs/hcs-operations.md
 * describes operations, handles, callbacks and threads.
 */
#ifndef _HYPERV_COMPUTECORE_H_
#define _HYPERV_COMPUTECORE_H_

#include <computedefs.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- operations ---- */

HOSTCOMPUTE_API HCS_OPERATION WINAPI HcsCreateOperation(_In_opt_ const void* context,
                                                        _In_opt_ HCS_OPERATION_COMPLETION callback);
HOSTCOMPUTE_API HCS_OPERATION WINAPI HcsCreateOperationWithNotifications(_In_ HCS_OPERATION_OPTIONS eventTypes,
                                                                         _In_opt_ const void* context,
                                                                         _In_ HCS_EVENT_CALLBACK callback);
HOSTCOMPUTE_API void WINAPI HcsCloseOperation(_In_ HCS_OPERATION operation);
HOSTCOMPUTE_API void* WINAPI HcsGetOperationContext(_In_ HCS_OPERATION operation);
HOSTCOMPUTE_API HRESULT WINAPI HcsSetOperationContext(_In_ HCS_OPERATION operation, _In_opt_ const void* context);
HOSTCOMPUTE_API HCS_SYSTEM WINAPI HcsGetComputeSystemFromOperation(_In_ HCS_OPERATION operation);
HOSTCOMPUTE_API HCS_PROCESS WINAPI HcsGetProcessFromOperation(_In_ HCS_OPERATION operation);
HOSTCOMPUTE_API HCS_OPERATION_TYPE WINAPI HcsGetOperationType(_In_ HCS_OPERATION operation);
HOSTCOMPUTE_API UINT64 WINAPI HcsGetOperationId(_In_ HCS_OPERATION operation);
HOSTCOMPUTE_API HRESULT WINAPI HcsGetOperationResult(_In_ HCS_OPERATION operation,
                                                     _Outptr_opt_ PWSTR* resultDocument);
HOSTCOMPUTE_API HRESULT WINAPI HcsGetOperationResultAndProcessInfo(
    _In_ HCS_OPERATION operation, _Out_opt_ HCS_PROCESS_INFORMATION* processInformation,
    _Outptr_opt_ PWSTR* resultDocument);
HOSTCOMPUTE_API HRESULT WINAPI HcsAddResourceToOperation(_In_ HCS_OPERATION operation, HCS_RESOURCE_TYPE type,
                                                         _In_ PCWSTR uri, HANDLE handle);
HOSTCOMPUTE_API HRESULT WINAPI HcsGetProcessorCompatibilityFromSavedState(PCWSTR RuntimeFileName,
                                                                          _Outptr_opt_ PCWSTR* ProcessorFeaturesString);
HOSTCOMPUTE_API HRESULT WINAPI HcsWaitForOperationResult(_In_ HCS_OPERATION operation, _In_ DWORD timeoutMs,
                                                         _Outptr_opt_ PWSTR* resultDocument);
HOSTCOMPUTE_API HRESULT WINAPI HcsWaitForOperationResultAndProcessInfo(
    _In_ HCS_OPERATION operation, _In_ DWORD timeoutMs, _Out_opt_ HCS_PROCESS_INFORMATION* processInformation,
    _Outptr_opt_ PWSTR* resultDocument);
HOSTCOMPUTE_API HRESULT WINAPI HcsSetOperationCallback(_In_ HCS_OPERATION operation, _In_opt_ const void* context,
                                                       _In_ HCS_OPERATION_COMPLETION callback);
HOSTCOMPUTE_API HRESULT WINAPI HcsCancelOperation(_In_ HCS_OPERATION operation);
HOSTCOMPUTE_API HRESULT WINAPI HcsGetOperationProperties(_In_ HCS_OPERATION operation, _In_ PCWSTR options,
                                                         _Outptr_ PWSTR* resultDocument);

/* ---- compute systems ---- */

HOSTCOMPUTE_API HRESULT WINAPI HcsEnumerateComputeSystems(_In_opt_ PCWSTR query, _In_ HCS_OPERATION operation);
HOSTCOMPUTE_API HRESULT WINAPI HcsEnumerateComputeSystemsInNamespace(_In_ PCWSTR idNamespace,
                                                                     _In_opt_ PCWSTR query,
                                                                     _In_ HCS_OPERATION operation);
HOSTCOMPUTE_API HRESULT WINAPI HcsCreateComputeSystem(_In_ PCWSTR id, _In_ PCWSTR configuration,
                                                      _In_ HCS_OPERATION operation,
                                                      _In_opt_ const SECURITY_DESCRIPTOR* securityDescriptor,
                                                      _Out_ HCS_SYSTEM* computeSystem);
HOSTCOMPUTE_API HRESULT WINAPI HcsCreateComputeSystemInNamespace(_In_ PCWSTR idNamespace, _In_ PCWSTR id,
                                                                 _In_ PCWSTR configuration,
                                                                 _In_ HCS_OPERATION operation,
                                                                 _In_opt_ const HCS_CREATE_OPTIONS* options,
                                                                 _Out_ HCS_SYSTEM* computeSystem);
HOSTCOMPUTE_API HRESULT WINAPI HcsOpenComputeSystem(_In_ PCWSTR id, _In_ DWORD requestedAccess,
                                                    _Out_ HCS_SYSTEM* computeSystem);
HOSTCOMPUTE_API HRESULT WINAPI HcsOpenComputeSystemInNamespace(_In_ PCWSTR idNamespace, _In_ PCWSTR id,
                                                               _In_ DWORD requestedAccess,
                                                               _Out_ HCS_SYSTEM* computeSystem);
HOSTCOMPUTE_API void WINAPI HcsCloseComputeSystem(_In_ HCS_SYSTEM computeSystem);
HOSTCOMPUTE_API HRESULT WINAPI HcsStartComputeSystem(_In_ HCS_SYSTEM computeSystem, _In_ HCS_OPERATION operation,
                                                     _In_opt_ PCWSTR options);
HOSTCOMPUTE_API HRESULT WINAPI HcsShutDownComputeSystem(_In_ HCS_SYSTEM computeSystem,
                                                        _In_ HCS_OPERATION operation, _In_opt_ PCWSTR options);
HOSTCOMPUTE_API HRESULT WINAPI HcsTerminateComputeSystem(_In_ HCS_SYSTEM computeSystem,
                                                         _In_ HCS_OPERATION operation, _In_opt_ PCWSTR options);
HOSTCOMPUTE_API HRESULT WINAPI HcsCrashComputeSystem(_In_ HCS_SYSTEM computeSystem, _In_ HCS_OPERATION operation,
                                                     _In_opt_ PCWSTR options);
HOSTCOMPUTE_API HRESULT WINAPI HcsPauseComputeSystem(_In_ HCS_SYSTEM computeSystem, _In_ HCS_OPERATION operation,
                                                     _In_opt_ PCWSTR options);
HOSTCOMPUTE_API HRESULT WINAPI HcsResumeComputeSystem(_In_ HCS_SYSTEM computeSystem, _In_ HCS_OPERATION operation,
                                                      _In_opt_ PCWSTR options);
HOSTCOMPUTE_API HRESULT WINAPI HcsSaveComputeSystem(_In_ HCS_SYSTEM computeSystem, _In_ HCS_OPERATION operation,
                                                    _In_opt_ PCWSTR options);
HOSTCOMPUTE_API HRESULT WINAPI HcsGetComputeSystemProperties(_In_ HCS_SYSTEM computeSystem,
                                                             _In_ HCS_OPERATION operation,
                                                             _In_opt_ PCWSTR propertyQuery);
HOSTCOMPUTE_API HRESULT WINAPI HcsModifyComputeSystem(_In_ HCS_SYSTEM computeSystem, _In_ HCS_OPERATION operation,
                                                      _In_ PCWSTR configuration, _In_opt_ HANDLE identity);
HOSTCOMPUTE_API HRESULT WINAPI HcsWaitForComputeSystemExit(_In_ HCS_SYSTEM computeSystem, _In_ DWORD timeoutMs,
                                                           _Outptr_opt_ PWSTR* result);
HOSTCOMPUTE_API HRESULT WINAPI HcsSetComputeSystemCallback(_In_ HCS_SYSTEM computeSystem,
                                                           _In_ HCS_EVENT_OPTIONS callbackOptions,
                                                           _In_opt_ const void* context,
                                                           _In_ HCS_EVENT_CALLBACK callback);

/* ---- live migration (E_NOTIMPL) ---- */

HOSTCOMPUTE_API HRESULT WINAPI HcsInitializeLiveMigrationOnSource(_In_ HCS_SYSTEM computeSystem,
                                                                  _In_ HCS_OPERATION operation,
                                                                  _In_opt_ PCWSTR options);
HOSTCOMPUTE_API HRESULT WINAPI HcsStartLiveMigrationOnSource(_In_ HCS_SYSTEM computeSystem,
                                                             _In_ HCS_OPERATION operation, _In_opt_ PCWSTR options);
HOSTCOMPUTE_API HRESULT WINAPI HcsStartLiveMigrationTransfer(_In_ HCS_SYSTEM computeSystem,
                                                             _In_ HCS_OPERATION operation, _In_opt_ PCWSTR options);
HOSTCOMPUTE_API HRESULT WINAPI HcsFinalizeLiveMigration(_In_ HCS_SYSTEM computeSystem, _In_ HCS_OPERATION operation,
                                                        _In_opt_ PCWSTR options);

/* ---- processes (E_NOTIMPL in this version) ---- */

HOSTCOMPUTE_API HRESULT WINAPI HcsCreateProcess(_In_ HCS_SYSTEM computeSystem, _In_ PCWSTR processParameters,
                                                _In_ HCS_OPERATION operation,
                                                _In_opt_ const SECURITY_DESCRIPTOR* securityDescriptor,
                                                _Out_ HCS_PROCESS* process);
HOSTCOMPUTE_API HRESULT WINAPI HcsOpenProcess(_In_ HCS_SYSTEM computeSystem, _In_ DWORD processId,
                                              _In_ DWORD requestedAccess, _Out_ HCS_PROCESS* process);
HOSTCOMPUTE_API void WINAPI HcsCloseProcess(_In_ HCS_PROCESS process);
HOSTCOMPUTE_API HRESULT WINAPI HcsTerminateProcess(_In_ HCS_PROCESS process, _In_ HCS_OPERATION operation,
                                                   _In_opt_ PCWSTR options);
HOSTCOMPUTE_API HRESULT WINAPI HcsSignalProcess(_In_ HCS_PROCESS process, _In_ HCS_OPERATION operation,
                                                _In_opt_ PCWSTR options);
HOSTCOMPUTE_API HRESULT WINAPI HcsGetProcessInfo(_In_ HCS_PROCESS process, _In_ HCS_OPERATION operation);
HOSTCOMPUTE_API HRESULT WINAPI HcsGetProcessProperties(_In_ HCS_PROCESS process, _In_ HCS_OPERATION operation,
                                                       _In_opt_ PCWSTR propertyQuery);
HOSTCOMPUTE_API HRESULT WINAPI HcsModifyProcess(_In_ HCS_PROCESS process, _In_ HCS_OPERATION operation,
                                                _In_ PCWSTR settings);
HOSTCOMPUTE_API HRESULT WINAPI HcsSetProcessCallback(_In_ HCS_PROCESS process, _In_ HCS_EVENT_OPTIONS callbackOptions,
                                                     _In_ void* context, _In_ HCS_EVENT_CALLBACK callback);
HOSTCOMPUTE_API HRESULT WINAPI HcsWaitForProcessExit(_In_ HCS_PROCESS computeSystem, _In_ DWORD timeoutMs,
                                                     _Outptr_opt_ PWSTR* result);

/* ---- the service ---- */

HOSTCOMPUTE_API HRESULT WINAPI HcsGetServiceProperties(_In_opt_ PCWSTR propertyQuery, _Outptr_ PWSTR* result);
HOSTCOMPUTE_API HRESULT WINAPI HcsModifyServiceSettings(_In_ PCWSTR settings, _Outptr_opt_ PWSTR* result);
HOSTCOMPUTE_API HRESULT WINAPI HcsSubmitWerReport(_In_ PCWSTR settings);
HOSTCOMPUTE_API HRESULT WINAPI HcsCreateEmptyGuestStateFile(_In_ PCWSTR guestStateFilePath);
HOSTCOMPUTE_API HRESULT WINAPI HcsCreateEmptyRuntimeStateFile(_In_ PCWSTR runtimeStateFilePath);
HOSTCOMPUTE_API HRESULT WINAPI HcsGrantVmAccess(_In_ PCWSTR vmId, _In_ PCWSTR filePath);
HOSTCOMPUTE_API HRESULT WINAPI HcsRevokeVmAccess(_In_ PCWSTR vmId, _In_ PCWSTR filePath);
HOSTCOMPUTE_API HRESULT WINAPI HcsGrantVmGroupAccess(_In_ PCWSTR filePath);
HOSTCOMPUTE_API HRESULT WINAPI HcsRevokeVmGroupAccess(_In_ PCWSTR filePath);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* _HYPERV_COMPUTECORE_H_ */
