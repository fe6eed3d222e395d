#include "hcs/service/lifecycle.h"

#include <array>
#include <string>

#include "base/hresult.h"

namespace hc::hcs::service {

namespace {

using S = SystemState;
using M = protocol::Method;

struct Row {
    S from;
    M call;
    S to;
};

// Everything not listed is refused. Save leaves the system Paused (ToFile) or SavedAsTemplate
// (AsTemplate: the table says Paused; service/save_restore.cpp moves it on). Crash ends in Stopped.
// Terminate from Stopping joins the stop already under way (or escalates a guest power-off to a kill).
constexpr std::array kCalls{
    Row{S::Created, M::StartComputeSystem, S::Running},
    Row{S::Created, M::TerminateComputeSystem, S::Stopped},
    Row{S::Created, M::GetComputeSystemProperties, S::Created},
    Row{S::Created, M::ModifyComputeSystem, S::Created},
    Row{S::Running, M::ShutDownComputeSystem, S::Stopped},
    Row{S::Running, M::TerminateComputeSystem, S::Stopped},
    Row{S::Running, M::PauseComputeSystem, S::Paused},
    Row{S::Running, M::CrashComputeSystem, S::Stopped},
    Row{S::Running, M::ModifyComputeSystem, S::Running},
    Row{S::Running, M::GetComputeSystemProperties, S::Running},
    Row{S::Paused, M::ResumeComputeSystem, S::Running},
    Row{S::Paused, M::TerminateComputeSystem, S::Stopped},
    Row{S::Paused, M::SaveComputeSystem, S::Paused},
    Row{S::Paused, M::GetComputeSystemProperties, S::Paused},
    Row{S::SavedAsTemplate, M::TerminateComputeSystem, S::Stopped},
    Row{S::SavedAsTemplate, M::GetComputeSystemProperties, S::SavedAsTemplate},
    Row{S::Stopping, M::TerminateComputeSystem, S::Stopped},
    Row{S::Stopping, M::GetComputeSystemProperties, S::Stopping},
    Row{S::Stopped, M::GetComputeSystemProperties, S::Stopped},
};

// clang-format off
constexpr std::array<std::pair<S, S>, 21> kTransitions{{
    {S::Creating, S::Created},
    {S::Creating, S::Removed},
    {S::Adopting, S::Created},
    {S::Adopting, S::Running},
    {S::Adopting, S::Paused},
    {S::Adopting, S::Stopped},
    {S::Created, S::Running},
    {S::Created, S::Paused},  // a re-synchronisation after an abandoned Start found QEMU stopped
    {S::Created, S::Stopping},
    {S::Created, S::Stopped},
    {S::Running, S::Paused},
    {S::Running, S::Stopping},
    {S::Running, S::Stopped},
    {S::Paused, S::Running},
    {S::Paused, S::Stopping},
    {S::Paused, S::Stopped},
    {S::Paused, S::SavedAsTemplate},
    {S::SavedAsTemplate, S::Stopping},
    {S::SavedAsTemplate, S::Stopped},
    {S::Stopping, S::Stopped},
    {S::Stopped, S::Removed},
}};
// clang-format on

}  // namespace

const char* stateName(SystemState state)
{
    switch (state) {
        case S::Creating:
            return "Creating";
        case S::Adopting:
            return "Adopting";
        case S::Created:
            return "Created";
        case S::Running:
            return "Running";
        case S::Paused:
            return "Paused";
        case S::SavedAsTemplate:
            return "SavedAsTemplate";
        case S::Stopping:
            return "Stopping";
        case S::Stopped:
            return "Stopped";
        case S::Removed:
            return "Removed";
    }
    return "Unknown";
}

bool isActive(SystemState state)
{
    return state == S::Created || state == S::Running || state == S::Paused || state == S::SavedAsTemplate;
}

const char* callName(protocol::Method call)
{
    switch (call) {
        case M::StartComputeSystem:
            return "Start";
        case M::ShutDownComputeSystem:
            return "ShutDown";
        case M::TerminateComputeSystem:
            return "Terminate";
        case M::PauseComputeSystem:
            return "Pause";
        case M::ResumeComputeSystem:
            return "Resume";
        case M::SaveComputeSystem:
            return "Save";
        case M::CrashComputeSystem:
            return "Crash";
        case M::ModifyComputeSystem:
            return "Modify";
        case M::GetComputeSystemProperties:
            return "GetProperties";
        default:
            return protocol::methodName(call);
    }
}

Result<SystemState> checkCall(SystemState from, protocol::Method call)
{
    for (const Row& row : kCalls) {
        if (row.from == from && row.call == call) return row.to;
    }
    if (from == S::Stopped && (call == M::ShutDownComputeSystem || call == M::TerminateComputeSystem)) {
        return makeError(HCS_E_SYSTEM_ALREADY_STOPPED,
                         std::string("cannot ") + callName(call) + " the compute system: it is already Stopped");
    }
    return makeError(HCS_E_INVALID_STATE,
                     std::string(callName(call)) + " is not valid for a compute system in state " + stateName(from));
}

bool validTransition(SystemState from, SystemState to)
{
    for (const auto& [a, b] : kTransitions) {
        if (a == from && b == to) return true;
    }
    return false;
}

SystemState stateFromQemuStatus(const std::string& status, bool started)
{
    if (status == "running") return S::Running;
    return started ? S::Paused : S::Created;
}

}  // namespace hc::hcs::service
