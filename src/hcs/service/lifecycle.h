// The compute-system lifecycle: ONE state enum and two tables. checkCall() says which client call
// is allowed in which state and where it leads; validTransition() says which state changes may
// happen at all (calls, QEMU events, exits, re-adoption). ComputeSystem::setState
// (service/managed_system.h) is the only writer of a system's state and refuses what this table
// refuses. Calls are named by protocol::Method, the one name of a call.
//
//   Creating --ready--> Created --Start--> Running <--Pause/Resume--> Paused
//   Adopting --query-status--> Created | Running | Paused
//   Paused --Save AsTemplate--> SavedAsTemplate (QEMU up, its state in the save file; Terminate only)
//   Created/Running/Paused/SavedAsTemplate --Terminate, guest power-off--> Stopping --exit--> Stopped
//   Stopped --last user--> Removed
//   any live state --QEMU exit--> Stopped;  Creating --QEMU exit / Create abandoned--> Removed
#pragma once

#include "base/result.h"
#include "hcs/protocol/messages.h"

namespace hc::hcs::service {

enum class SystemState {
    Creating,  // QEMU launched, monitor not yet negotiated; the Create reply is pending
    Adopting,  // re-attaching to a QEMU left by an earlier hcsd; its real state is being queried
    Created,   // QEMU up, paused before the first instruction (-S)
    Running,
    Paused,
    SavedAsTemplate,  // saved with SaveType AsTemplate: a RestoreState.TemplateSystemId names it
    Stopping,         // Terminate sent "quit", or the guest powered off: the exit is coming
    Stopped,          // QEMU is gone; the system stays while handles name it
    Removed,          // gone from the registry; handles that still name it see "not found"
};

const char* stateName(SystemState state);

// Created, Running, Paused or SavedAsTemplate: QEMU is up and nothing is setting it up or taking it down.
bool isActive(SystemState state);

// "Pause" for PauseComputeSystem: how error messages name a call.
const char* callName(protocol::Method call);

// The state a successful `call` leaves the system in (the same state for queries; for ShutDown and
// Terminate the state after the VM exits). Errors name the state and the call.
Result<SystemState> checkCall(SystemState from, protocol::Method call);

// Whether the state may change from `from` to `to` at all.
bool validTransition(SystemState from, SystemState to);

// What QEMU's query-status "status" means for a system that was (`started`) or was not started.
SystemState stateFromQemuStatus(const std::string& status, bool started);

}  // namespace hc::hcs::service
