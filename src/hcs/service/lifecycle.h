// The compute-system lifecycle as ONE table: which call is allowed in which state and which state
// it leads to. Every lifecycle call asks checkCall() first; its error (HCS_E_INVALID_STATE naming
// the state and the call, or HCS_E_SYSTEM_ALREADY_STOPPED) is what the client sees.
#pragma once

#include <optional>

#include "base/result.h"

namespace hc::hcs::service {

enum class SystemState { Created, Running, Paused, Stopped, SavedAsTemplate };

enum class SystemCall { Start, ShutDown, Terminate, Pause, Resume, Save, Crash, Modify, GetProperties };

const char* stateName(SystemState state);
const char* callName(SystemCall call);

// The state a successful `call` leaves the system in (the same state for queries; for ShutDown and
// Terminate the state after the VM exits). Errors name the state and the call.
Result<SystemState> checkCall(SystemState from, SystemCall call);

// Whether the state may change from `from` to `to` at all (calls and spontaneous exits).
bool validTransition(SystemState from, SystemState to);

}  // namespace hc::hcs::service
