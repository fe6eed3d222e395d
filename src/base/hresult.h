// HRESULT <-> errno, in one table, plus readable names for HRESULTs in logs and error messages.
#pragma once

#include <hostcompute/win.h>

#include <string>

#include "base/result.h"

namespace hc {

// errno (positive) -> HRESULT. Unknown values map to HRESULT_FROM_WIN32(ERROR_INTERNAL_ERROR)... never S_OK for err !=
// 0.
HRESULT hresultFromErrno(int err);

// An Error for a failed system call: hresultFromErrno(err) and "<what>: <strerror(err)>".
Error errnoError(int err, const std::string& what);
// The same for the errno the failed call just left.
Error lastErrnoError(const std::string& what);

// HRESULT -> errno (positive) for replying to the kernel or a POSIX caller. Success maps to 0; unknown failures to EIO.
int errnoFromHresult(HRESULT hr);

// "E_INVALIDARG", "HCS_E_INVALID_STATE", ... or "0x80070020" when the value has no name here.
std::string hresultName(HRESULT hr);

// "0x80070057" formatting used in messages and documents.
std::string hresultHex(HRESULT hr);

}  // namespace hc
