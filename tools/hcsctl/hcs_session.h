// hcsctl's view of the computecore C API: owning handles, "run one operation to completion" and the
// translation of an HRESULT plus ResultError document into a message and an exit code. Every call goes
// through the public C functions, exactly as any client program would make it.
#pragma once

#include <computecore.h>

#include <functional>
#include <string>

namespace hcsctl {

// Outcome of one HCS call: the HRESULT and the result document (UTF-8 JSON; empty when there is none).
// On failure the document is the ResultError the service returned, when it returned one.
struct CallOutcome {
    HRESULT hr = S_OK;
    std::string document;
};

// An open HCS_SYSTEM, closed when the object goes away.
class SystemHandle {
public:
    SystemHandle() = default;
    explicit SystemHandle(HCS_SYSTEM system) : system_(system) {}
    SystemHandle(const SystemHandle&) = delete;
    SystemHandle& operator=(const SystemHandle&) = delete;
    SystemHandle(SystemHandle&& other) noexcept : system_(other.system_) { other.system_ = nullptr; }
    ~SystemHandle();
    HCS_SYSTEM get() const { return system_; }
    HCS_SYSTEM* put();
    // Gives up ownership without closing.
    HCS_SYSTEM release()
    {
        HCS_SYSTEM system = system_;
        system_ = nullptr;
        return system;
    }

private:
    HCS_SYSTEM system_ = nullptr;
};

// Creates an operation, lets `call` start it, and waits up to `timeoutMs` for its result. A call that
// fails synchronously reports that HRESULT; a wait that times out cancels the operation.
CallOutcome runOperation(DWORD timeoutMs, const std::function<HRESULT(HCS_OPERATION)>& call);

// Opens an existing compute system by id.
CallOutcome openSystem(const std::wstring& id, SystemHandle& system);

// Takes ownership of a library-allocated result string (frees it with LocalFree) as UTF-8.
std::string takeResultString(PWSTR text);

// "HCS_E_INVALID_STATE (0x80370105)" — the name from the one HRESULT table, and the value.
std::string describeHresult(HRESULT hr);

// The ErrorMessage of a ResultError document, or "" when the document has none.
std::string errorMessageOf(const std::string& resultDocument);

// The process exit code for an HRESULT: 0 for success, 64 + low byte for the HCS facility (0x37) errors
// (HCS_E_TERMINATED_DURING_START = 64 ... HCS_E_OPERATION_ALREADY_CANCELLED = 97), 1 for any other failure.
int exitCodeFor(HRESULT hr);

}  // namespace hcsctl
