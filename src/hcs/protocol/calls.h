// The HCS call catalogue: every call between the computecore client library and hcsd, written once —
// its wire method name, the typed params struct it travels in (and the name of its document field),
// what success returns, the HCS_OPERATION_TYPE it completes as, and hcsctl's verb for it. The client
// builds typed params and the codec (messages.h) encodes them; hcsd decodes with the same codec and
// switches on Method. Adding a call = one Method, one row in calls.cpp, its handler in hcsd, and its C
// function on the client side.
#pragma once

#include <computedefs.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace hc::hcs::protocol {

// Also the key of hcsd's lifecycle table and its per-system queue.
enum class Method {
    Hello,
    Cancel,
    CreateComputeSystem,
    OpenComputeSystem,
    CloseComputeSystem,
    EnumerateComputeSystems,
    StartComputeSystem,
    ShutDownComputeSystem,
    TerminateComputeSystem,
    CrashComputeSystem,
    PauseComputeSystem,
    ResumeComputeSystem,
    SaveComputeSystem,
    GetComputeSystemProperties,
    ModifyComputeSystem,
    WaitForComputeSystemExit,
    GetServiceProperties,
    // Processes inside a system (the guest agent). A process handle is a number from the same per-session
    // space as system handles, chosen by the client (CreateProcess/OpenProcess) like a system handle.
    CreateProcess,
    OpenProcess,
    CloseProcess,
    TerminateProcess,
    SignalProcess,
    GetProcessInfo,
    GetProcessProperties,
    ModifyProcess,
    WaitForProcessExit,
    // HcsGrantVmAccess / HcsRevokeVmAccess: a file's ACL entry for a system's identity (docs/hcsd.md).
    GrantVmAccess,
    RevokeVmAccess,
};

// Typed parameters, one struct per shape of "params". A document argument is JSON text ("" = none).
struct HelloParams {
    uint32_t protocol = 0;
    std::string client;
    bool operator==(const HelloParams&) const = default;
};
struct CancelParams {
    uint64_t requestId = 0;
    bool operator==(const CancelParams&) const = default;
};
struct CreateParams {
    uint64_t handle = 0;
    std::string id;
    std::string configuration;
    bool operator==(const CreateParams&) const = default;
};
struct OpenParams {
    uint64_t handle = 0;
    std::string id;
    bool operator==(const OpenParams&) const = default;
};
struct HandleParams {  // CloseComputeSystem
    uint64_t handle = 0;
    bool operator==(const HandleParams&) const = default;
};
struct QueryParams {  // EnumerateComputeSystems, GetServiceProperties
    std::string query;
    bool operator==(const QueryParams&) const = default;
};
struct SystemCallParams {  // a call on one system with its one document (options, query or configuration)
    uint64_t handle = 0;
    std::string document;
    bool operator==(const SystemCallParams&) const = default;
};
struct WaitExitParams {
    uint64_t handle = 0;
    uint32_t timeoutMs = 0xFFFFFFFFu;  // INFINITE
    bool operator==(const WaitExitParams&) const = default;
};

struct CreateProcessParams {
    uint64_t handle = 0;     // the system's handle
    uint64_t process = 0;    // the new process handle number
    std::string parameters;  // ProcessParameters
    bool operator==(const CreateProcessParams&) const = default;
};
struct OpenProcessParams {
    uint64_t handle = 0;   // the system's handle
    uint64_t process = 0;  // the new process handle number
    uint32_t processId = 0;
    bool operator==(const OpenProcessParams&) const = default;
};

struct VmAccessParams {  // GrantVmAccess, RevokeVmAccess
    std::string id;      // the compute system
    std::string path;    // absolute
    bool operator==(const VmAccessParams&) const = default;
};

// HandleParams also names a process (CloseProcess, GetProcessInfo: handle = the process handle); SystemCallParams
// carries the process calls with a document (handle = the process handle); WaitExitParams waits for a
// process (WaitForProcessExit: handle = the process handle).
using Params = std::variant<HelloParams, CancelParams, CreateParams, OpenParams, HandleParams, QueryParams,
                            SystemCallParams, WaitExitParams, CreateProcessParams, OpenProcessParams, VmAccessParams>;

// What a successful reply carries to the caller.
enum class ResultShape {
    None,      // the C API hands back no document (hcsd answers {}): Create, Start, Close, ...
    Document,  // a document the caller receives: Properties, SystemExitStatus, service properties
    Hello,     // {"protocol": N, "version": "..."}: consumed by the connection itself
    // HCS_PROCESS_INFORMATION: {"ProcessId": N, "StdInput": i|null, "StdOutput": i|null, "StdError": i|null}
    // where i indexes the descriptors that came with the reply (Reply::fdCount, docs/protocol.md).
    ProcessInfo,
};

struct CallSpec {
    Method method;
    std::string_view name;           // the wire method name
    size_t paramsIndex;              // which alternative of Params carries the arguments
    std::string_view documentField;  // the wire name of the document argument ("" when none)
    bool documentRequired;           // the C API refuses a NULL document (E_INVALIDARG)
    ResultShape result;
    HCS_OPERATION_TYPE operationType;  // HcsOperationTypeNone: not completed through an HCS_OPERATION
    std::string_view hcsctlVerb;       // "" when hcsctl has no command for it
    std::string_view hcsctlArguments;  // after the verb; [optional] ones in brackets
    std::string_view hcsctlHelp;
};

std::span<const CallSpec> allCalls();
const CallSpec& callSpec(Method method);
const CallSpec* findCallByName(std::string_view name);
const CallSpec* findCallByVerb(std::string_view verb);

const char* methodName(Method method);

// Params holding the (default-constructed) struct the catalogue names for `method`.
Params emptyParams(Method method);

// The alternative index of a params struct within Params (for CallSpec::paramsIndex).
template <typename T, typename... Alternatives>
constexpr size_t indexOfAlternative(const std::variant<Alternatives...>*)
{
    size_t index = 0;
    bool found = false;
    ((found = found || std::is_same_v<T, Alternatives>, index += found ? 0 : 1), ...);
    return index;
}
template <typename T>
inline constexpr size_t kParamsIndex = indexOfAlternative<T>(static_cast<const Params*>(nullptr));

}  // namespace hc::hcs::protocol
