/* computecore.h and computedefs.h must compile as C (this file is built as C11). */
#include <computecore.h>

int hcs_headers_c_check(void)
{
    HCS_EVENT event;
    HCS_PROCESS_INFORMATION info;
    HCS_CREATE_OPTIONS_1 options;
    HRESULT (*start)(HCS_SYSTEM, HCS_OPERATION, PCWSTR) = HcsStartComputeSystem;
    event.Type = HcsEventSystemExited;
    event.EventData = 0;
    event.Operation = 0;
    info.ProcessId = 0;
    options.Version = HcsCreateOptions_1;
    (void)start;
    (void)options;
    return (int)event.Type + (int)info.ProcessId + (HCS_INVALID_OPERATION_ID == (UINT64)-1 ? 0 : 100);
}
