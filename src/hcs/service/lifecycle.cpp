#include "hcs/service/lifecycle.h"

#include <array>
#include <string>

namespace hc::hcs::service {

namespace {

struct Row {
    SystemState from;
    SystemCall call;
    SystemState to;
};

using S = SystemState;
using C = SystemCall;

// Everything not listed is refused. Save/Crash/Modify rows say the state allows them; the backend
// then reports what it does not implement (E_NOTIMPL) rather than pretending to succeed.
constexpr std::array kTable{
    Row{S::Created, C::Start, S::Running},
    Row{S::Created, C::Terminate, S::Stopped},
    Row{S::Created, C::GetProperties, S::Created},
    Row{S::Created, C::Modify, S::Created},
    Row{S::Running, C::ShutDown, S::Stopped},
    Row{S::Running, C::Terminate, S::Stopped},
    Row{S::Running, C::Pause, S::Paused},
    Row{S::Running, C::Crash, S::Stopped},
    Row{S::Running, C::Modify, S::Running},
    Row{S::Running, C::GetProperties, S::Running},
    Row{S::Paused, C::Resume, S::Running},
    Row{S::Paused, C::Terminate, S::Stopped},
    Row{S::Paused, C::Save, S::Paused},
    Row{S::Paused, C::GetProperties, S::Paused},
    Row{S::Stopped, C::GetProperties, S::Stopped},
    Row{S::SavedAsTemplate, C::GetProperties, S::SavedAsTemplate},
    Row{S::SavedAsTemplate, C::Terminate, S::Stopped},
};

constexpr std::array<std::pair<S, S>, 7> kTransitions{{
    {S::Created, S::Running},
    {S::Created, S::Stopped},
    {S::Running, S::Paused},
    {S::Running, S::Stopped},
    {S::Paused, S::Running},
    {S::Paused, S::Stopped},
    {S::Paused, S::SavedAsTemplate},
}};

}  // namespace

const char* stateName(SystemState state)
{
    switch (state) {
        case S::Created:
            return "Created";
        case S::Running:
            return "Running";
        case S::Paused:
            return "Paused";
        case S::Stopped:
            return "Stopped";
        case S::SavedAsTemplate:
            return "SavedAsTemplate";
    }
    return "Unknown";
}

const char* callName(SystemCall call)
{
    switch (call) {
        case C::Start:
            return "Start";
        case C::ShutDown:
            return "ShutDown";
        case C::Terminate:
            return "Terminate";
        case C::Pause:
            return "Pause";
        case C::Resume:
            return "Resume";
        case C::Save:
            return "Save";
        case C::Crash:
            return "Crash";
        case C::Modify:
            return "Modify";
        case C::GetProperties:
            return "GetProperties";
    }
    return "?";
}

Result<SystemState> checkCall(SystemState from, SystemCall call)
{
    for (const Row& row : kTable) {
        if (row.from == from && row.call == call) return row.to;
    }
    if (from == S::Stopped && (call == C::ShutDown || call == C::Terminate)) {
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

}  // namespace hc::hcs::service
