// ProcessInfo: what a CreateProcess / GetProcessInfo reply carries — the guest process id and the stdio
// descriptors that came with the reply — and how it becomes an HCS_PROCESS_INFORMATION.
//
// The descriptors are owned here until handed to the caller; a ProcessInfo dropped before that closes
// them (so a result nobody takes never leaks a pipe end). Handed-out descriptors are always >= 3, so a
// descriptor cast to HANDLE is never NULL (NULL means "no such stream").
#pragma once

#include <computedefs.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace hc::hcs {

struct ProcessInfo {
    DWORD processId = 0;
    UniqueFd stdInput;
    UniqueFd stdOutput;
    UniqueFd stdError;

    // Fills `out`; the descriptors move to the caller (this keeps none).
    void handOver(HCS_PROCESS_INFORMATION* out);
};

// Parses {"ProcessId": N, "StdInput": i|null, "StdOutput": i|null, "StdError": i|null}, where i indexes
// `fds` (the reply's descriptors). HCS_E_PROTOCOL_ERROR, naming the field, when the document does not
// fit the descriptors (an index out of range or used twice, a missing ProcessId). Descriptors the
// document does not claim are closed.
Result<ProcessInfo> parseProcessInfo(const std::string& document, std::vector<UniqueFd> fds);

// The descriptor behind a HANDLE of HCS_PROCESS_INFORMATION (-1 for NULL).
inline int descriptorOf(HANDLE handle)
{
    return handle ? static_cast<int>(reinterpret_cast<intptr_t>(handle)) : -1;
}

}  // namespace hc::hcs
