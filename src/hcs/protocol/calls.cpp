#include "hcs/protocol/calls.h"

#include <array>
#include <utility>

namespace hc::hcs::protocol {

namespace {

constexpr HCS_OPERATION_TYPE kNoOperation = HcsOperationTypeNone;

// The catalogue. Order = Method order (checked below), so callSpec() is an index.
constexpr std::array<CallSpec, 28> kCalls{{
    {Method::Hello, "Hello", kParamsIndex<HelloParams>, "", false, ResultShape::Hello, kNoOperation, "", "", ""},
    {Method::Cancel, "Cancel", kParamsIndex<CancelParams>, "", false, ResultShape::None, kNoOperation, "", "", ""},
    {Method::CreateComputeSystem, "CreateComputeSystem", kParamsIndex<CreateParams>, "configuration", true,
     ResultShape::None, HcsOperationTypeCreate, "create", "ID FILE",
     "create a system from a ComputeSystem document (FILE \"-\" = stdin)"},
    {Method::OpenComputeSystem, "OpenComputeSystem", kParamsIndex<OpenParams>, "", false, ResultShape::None,
     kNoOperation, "", "", ""},
    {Method::CloseComputeSystem, "CloseComputeSystem", kParamsIndex<HandleParams>, "", false, ResultShape::None,
     kNoOperation, "", "", ""},
    {Method::EnumerateComputeSystems, "EnumerateComputeSystems", kParamsIndex<QueryParams>, "query", false,
     ResultShape::Document, HcsOperationTypeEnumerate, "list", "[QUERY]",
     "enumerate systems; QUERY like {\"Ids\":[\"vm1\"]}"},
    {Method::StartComputeSystem, "StartComputeSystem", kParamsIndex<SystemCallParams>, "options", false,
     ResultShape::None, HcsOperationTypeStart, "start", "ID [OPTIONS]", "start a created system"},
    {Method::ShutDownComputeSystem, "ShutDownComputeSystem", kParamsIndex<SystemCallParams>, "options", false,
     ResultShape::None, HcsOperationTypeShutdown, "shutdown", "ID [OPTIONS]",
     "ask the guest to shut down (ACPI power button)"},
    {Method::TerminateComputeSystem, "TerminateComputeSystem", kParamsIndex<SystemCallParams>, "options", false,
     ResultShape::None, HcsOperationTypeTerminate, "terminate", "ID [OPTIONS]", "stop the system at once"},
    {Method::CrashComputeSystem, "CrashComputeSystem", kParamsIndex<SystemCallParams>, "options", false,
     ResultShape::None, HcsOperationTypeCrash, "crash", "ID [OPTIONS]", "crash the guest (CrashOptions)"},
    {Method::PauseComputeSystem, "PauseComputeSystem", kParamsIndex<SystemCallParams>, "options", false,
     ResultShape::None, HcsOperationTypePause, "pause", "ID [OPTIONS]", "pause a running system"},
    {Method::ResumeComputeSystem, "ResumeComputeSystem", kParamsIndex<SystemCallParams>, "options", false,
     ResultShape::None, HcsOperationTypeResume, "resume", "ID [OPTIONS]", "resume a paused system"},
    {Method::SaveComputeSystem, "SaveComputeSystem", kParamsIndex<SystemCallParams>, "options", false,
     ResultShape::None, HcsOperationTypeSave, "save", "ID OPTIONS", "save a paused system (SaveOptions)"},
    {Method::GetComputeSystemProperties, "GetComputeSystemProperties", kParamsIndex<SystemCallParams>, "query", false,
     ResultShape::Document, HcsOperationTypeGetProperties, "props", "ID [QUERY]",
     "properties; QUERY like {\"PropertyTypes\":[\"Statistics\"]}"},
    {Method::ModifyComputeSystem, "ModifyComputeSystem", kParamsIndex<SystemCallParams>, "configuration", true,
     ResultShape::None, HcsOperationTypeModify, "modify", "ID FILE",
     "apply the ModifySettingRequest document in FILE (- reads stdin)"},
    {Method::WaitForComputeSystemExit, "WaitForComputeSystemExit", kParamsIndex<WaitExitParams>, "", false,
     ResultShape::Document, kNoOperation, "wait", "ID [TIMEOUT_MS]",
     "wait until the system exits; prints SystemExitStatus"},
    {Method::GetServiceProperties, "GetServiceProperties", kParamsIndex<QueryParams>, "query", false,
     ResultShape::Document, kNoOperation, "service", "[QUERY]", "service properties"},
    {Method::CreateProcess, "CreateProcess", kParamsIndex<CreateProcessParams>, "parameters", true,
     ResultShape::ProcessInfo, HcsOperationTypeCreateProcess, "", "", ""},
    {Method::OpenProcess, "OpenProcess", kParamsIndex<OpenProcessParams>, "", false, ResultShape::None, kNoOperation,
     "", "", ""},
    {Method::CloseProcess, "CloseProcess", kParamsIndex<HandleParams>, "", false, ResultShape::None, kNoOperation, "",
     "", ""},
    {Method::TerminateProcess, "TerminateProcess", kParamsIndex<SystemCallParams>, "options", false, ResultShape::None,
     HcsOperationTypeSignalProcess, "", "", ""},
    {Method::SignalProcess, "SignalProcess", kParamsIndex<SystemCallParams>, "options", false, ResultShape::None,
     HcsOperationTypeSignalProcess, "", "", ""},
    {Method::GetProcessInfo, "GetProcessInfo", kParamsIndex<HandleParams>, "", false, ResultShape::ProcessInfo,
     HcsOperationTypeGetProcessInfo, "", "", ""},
    {Method::GetProcessProperties, "GetProcessProperties", kParamsIndex<SystemCallParams>, "query", false,
     ResultShape::Document, HcsOperationTypeGetProcessProperties, "", "", ""},
    {Method::ModifyProcess, "ModifyProcess", kParamsIndex<SystemCallParams>, "settings", true, ResultShape::None,
     HcsOperationTypeModifyProcess, "", "", ""},
    {Method::WaitForProcessExit, "WaitForProcessExit", kParamsIndex<WaitExitParams>, "", false, ResultShape::Document,
     kNoOperation, "", "", ""},
    {Method::GrantVmAccess, "GrantVmAccess", kParamsIndex<VmAccessParams>, "", false, ResultShape::None, kNoOperation,
     "grant", "ID FILE", "give the system's VM access to FILE (an ACL entry; you must own FILE)"},
    {Method::RevokeVmAccess, "RevokeVmAccess", kParamsIndex<VmAccessParams>, "", false, ResultShape::None, kNoOperation,
     "revoke", "ID FILE", "take that access away again"},
}};

constexpr bool inMethodOrder()
{
    for (size_t i = 0; i < kCalls.size(); ++i) {
        if (static_cast<size_t>(kCalls[i].method) != i) return false;
    }
    return true;
}
static_assert(inMethodOrder(), "kCalls must list the calls in Method order");
static_assert(static_cast<size_t>(Method::RevokeVmAccess) + 1 == kCalls.size(), "every Method has a row");

}  // namespace

std::span<const CallSpec> allCalls()
{
    return kCalls;
}

const CallSpec& callSpec(Method method)
{
    return kCalls.at(static_cast<size_t>(method));
}

const CallSpec* findCallByName(std::string_view name)
{
    for (const auto& call : kCalls) {
        if (call.name == name) return &call;
    }
    return nullptr;
}

const CallSpec* findCallByVerb(std::string_view verb)
{
    if (verb.empty()) return nullptr;
    for (const auto& call : kCalls) {
        if (call.hcsctlVerb == verb) return &call;
    }
    return nullptr;
}

const char* methodName(Method method)
{
    return callSpec(method).name.data();  // every name is a string literal
}

namespace {
template <size_t... I>
Params paramsAt(size_t index, std::index_sequence<I...>)
{
    Params out;
    ((index == I ? (out.emplace<I>(), 0) : 0), ...);
    return out;
}
}  // namespace

Params emptyParams(Method method)
{
    return paramsAt(callSpec(method).paramsIndex, std::make_index_sequence<std::variant_size_v<Params>>{});
}

}  // namespace hc::hcs::protocol
