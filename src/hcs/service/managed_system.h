// One compute system as hcsd holds it: identity, configuration, its ONE lifecycle state (changed
// only through setState, which checks service/lifecycle.h's table and logs), the supervised VM,
// the calls queued on it, the clients waiting for its exit, and — with a GuestConnection — the
// guest agent's channel and the processes started through it (process_table.h). Owned by the Service's registry
// and shared with the session handles that name it (a handle may outlive its removal: state Removed).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/guid.h"
#include "base/unique_fd.h"
#include "hcs/guest/guest_channel.h"
#include "hcs/protocol/messages.h"
#include "hcs/schema/compute_system.h"
#include "hcs/schema/documents.h"
#include "hcs/service/exit_waiters.h"
#include "hcs/service/lifecycle.h"
#include "hcs/service/process_table.h"
#include "hcs/service/vm_supervisor.h"

namespace hc::hcs::service {

// A request waiting its turn on a system.
struct QueuedCall {
    uint64_t session = 0;
    uint64_t requestId = 0;
    uint64_t handle = 0;  // the session's handle the call names
    protocol::Method method = protocol::Method::GetComputeSystemProperties;
    std::string document;   // options / query / configuration
    bool internal = false;  // issued by hcsd itself (a re-synchronisation): no reply
    ProcessPtr process;     // CreateProcess: the process it starts
};

// The queued call being carried out, while it waits for QEMU.
struct InFlightCall {
    QueuedCall call;
    uint64_t command = 0;  // the VmSupervisor command it waits for
};

// Who asked the system to stop, for the exit's attribution.
enum class StopRequest { None, ShutDown, Terminate, Crash };

// A save or restore under way: QEMU's migration stream to or from a file (service/save_restore.cpp).
// Ends once: QEMU's MIGRATION event (completed / failed / cancelled), the bound, the VM's exit, or a cancel.
struct MigrationWait {
    std::function<void(Status)> onDone;
    uint64_t timer = 0;
};

class ComputeSystem {
public:
    ComputeSystem(EventLoop& loop, std::string id, SystemState initial, size_t processLimit = 256)
        : id(std::move(id)), exitWaiters(loop), processes(loop, processLimit), state_(initial)
    {
    }

    SystemState state() const { return state_; }
    // The one way a state changes: refused (and logged as a bug) unless validTransition allows it.
    bool setState(SystemState to, const std::string& why);

    // Listed by Enumerate and reachable by Open: created, or being re-adopted.
    bool listed() const { return state_ != SystemState::Creating && state_ != SystemState::Removed; }
    // The queue runs calls only in settled states: not while QEMU is being set up or going down.
    bool queueRuns() const { return isActive(state_) || state_ == SystemState::Stopped; }

    const std::string id;
    std::string configText;
    schema::ComputeSystemConfig config;
    std::string directory;  // per-system state directory
    GUID runtimeId{};
    int64_t createTime = 0;  // FILETIME ticks
    int64_t startTime = 0;   // FILETIME ticks of the last Start (0 = never started)
    // The user whose session created it (docs/hcsd.md, "Who may see and control a system").
    uid_t ownerUid = 0;

    std::unique_ptr<VmSupervisor> vm;
    StopRequest stopRequest = StopRequest::None;
    schema::ExitInitiator terminateInitiator = schema::ExitInitiator::Client;
    std::optional<schema::SystemExitStatus> exitStatus;

    // Save and restore (service/save_restore.cpp).
    std::optional<MigrationWait> migration;
    UniqueFd restoreFile;              // the save file a restoring Create loads (Creating only)
    std::string savedStatePath;        // the file of the last successful Save (a template's state)
    uint64_t runs = 0;                 // transitions to Running (Start, Resume)
    uint64_t savedInRun = UINT64_MAX;  // `runs` when the last Save completed: QEMU saves a VM once per run
    // Crash: what the guest reported (QMP GUEST_PANICKED), as a CrashReport document.
    std::optional<nlohmann::json> crashReport;
    uint64_t crashTimer = 0;  // a Crash waiting for the guest to panic
    // Why hcsd stopped a Creating system itself (named in the Create's error); empty = QEMU stopped.
    std::string failureReason;

    // Who gets the Create reply once QEMU is ready (Creating only).
    std::optional<std::pair<uint64_t, uint64_t>> createReply;
    std::deque<QueuedCall> queue;
    std::optional<InFlightCall> inFlight;
    ExitWaiters exitWaiters;
    uint64_t openHandles = 0;  // over every session

    // The guest side (GuestConnection configured): the processes, then the channel (destroyed first;
    // it never calls back while being destroyed). The channel lives from the VM's launch or
    // re-adoption to its exit.
    ProcessTable processes;
    std::unique_ptr<guest::GuestChannel> guest;
    // A Start whose `cont` succeeded, waiting for the agent's hello (bounded by the agent timeout).
    struct AgentWait {
        QueuedCall call;
        uint64_t timer = 0;
    };
    std::optional<AgentWait> agentWait;
    // Requests waiting for the channel's answer (signal, close stdin, resize), answered with an error
    // if the channel goes away first.
    struct GuestCall {
        uint64_t session = 0;
        uint64_t requestId = 0;
    };
    std::map<uint64_t, GuestCall> guestCalls;
    uint64_t nextGuestCall = 1;

    // A Modify removing a device waits for QEMU's DEVICE_DELETED (the guest released it), by device id;
    // the handler gets OK, or an error when the wait times out or the VM exits (modify_calls.cpp).
    struct DeviceRemoval {
        std::function<void(Status)> done;
        uint64_t timer = 0;
    };
    std::map<std::string, DeviceRemoval> deviceRemovals;

private:
    SystemState state_;
};

}  // namespace hc::hcs::service
