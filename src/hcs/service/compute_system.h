// One compute system as hcsd holds it: identity, configuration, lifecycle state, the QEMU behind it,
// the calls queued on it (processed one at a time, in arrival order), and the clients waiting for
// its exit. Owned by the Service's registry (shared with the session handles that name it).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/guid.h"
#include "hcs/protocol/messages.h"
#include "hcs/schema/compute_system.h"
#include "hcs/schema/documents.h"
#include "hcs/service/lifecycle.h"
#include "hcs/service/qemu_vm.h"

namespace hc::hcs::service {

// A request waiting its turn on a system.
struct QueuedCall {
    uint64_t session = 0;
    uint64_t requestId = 0;
    protocol::Method method = protocol::Method::GetComputeSystemProperties;
    std::string document;   // options / query / configuration
    bool internal = false;  // issued by hcsd itself (terminate on last handle closed): no reply
};

// Someone to tell when the system exits: a WaitForComputeSystemExit, or a ShutDown/Terminate reply.
struct ExitWaiter {
    uint64_t session = 0;
    uint64_t requestId = 0;
    uint64_t timer = 0;  // EventLoop timer for the wait's timeout, 0 = none
    std::function<void(const schema::SystemExitStatus&)> onExit;
};

enum class StopRequest { None, ShutDown, Terminate };

struct ComputeSystem {
    std::string id;
    std::string configText;
    schema::ComputeSystemConfig config;
    std::string directory;  // per-system state directory

    SystemState state = SystemState::Created;
    bool createComplete = false;  // QEMU is up and the Create reply was sent
    bool adopting = false;        // re-attaching to a QEMU left by an earlier hcsd
    bool removed = false;         // gone from the registry; handles that still name it see "not found"
    GUID runtimeId{};
    int64_t createTime = 0;  // FILETIME ticks
    int64_t startTime = 0;   // FILETIME ticks of the last Start (0 = never started)

    std::unique_ptr<QemuVm> vm;
    StopRequest stopRequest = StopRequest::None;
    schema::ExitInitiator terminateInitiator = schema::ExitInitiator::Client;
    bool guestPoweredOff = false;  // QMP SHUTDOWN with guest=true seen
    uint64_t killTimer = 0;
    std::optional<schema::SystemExitStatus> exitStatus;

    std::deque<QueuedCall> queue;
    bool busy = false;  // a queued call is in progress (waiting for QEMU)
    std::vector<ExitWaiter> exitWaiters;
    uint64_t openHandles = 0;  // over every session
};

}  // namespace hc::hcs::service
