// The guest processes of one compute system, and the clients waiting for them to exit. The table is
// the ONE owner of its processes' lifecycle and of their waiters; session handles share a process
// (ProcessPtr) but only the Service, through this table, changes its state. Runs on the event loop.
//
// Lifecycle of a process (GuestProcess::state):
//   Starting  CreateProcess accepted: a handle names it, its stdio pipes exist, the request is queued on
//             the system or the guest channel is starting it. Calls on it other than Close and Wait are
//             deferred until the start's outcome (GuestProcess::afterStart).
//   Running   the agent reported its pid: the creator got the reply with its stdio descriptors.
//   Exited    it exited (exit set), or never started (startError set), or its fate is unknown because the
//             agent or the VM went away (exit->error set). Final. Every handle got ProcessExited (not
//             after a failed start) and every waiter its answer.
// A process leaves the table when it is Exited and no handle names it; a process whose handles all
// closed while it ran stays listed (ProcessList, OpenProcess by pid) until it exits.
//
// A waiter (WaitForProcessExit) leaves exactly once: answered at the exit (takeWaiters), timed out
// (its onTimeout runs), taken (Cancel, its handle closed) or dropped (its session closed). Destroying
// the table cancels the timers of the waiters still in it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/event_loop.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "hcs/guest/guest_channel.h"
#include "hcs/schema/process.h"

namespace hc::hcs::service {

class ComputeSystem;

enum class ProcessState { Starting, Running, Exited };

struct ProcessWaiter {
    uint64_t session = 0;
    uint64_t requestId = 0;
    uint64_t handle = 0;  // the process handle the wait names
    uint64_t timer = 0;
    std::function<void()> onTimeout;
};

// The client's ends of the stdio pipes, held until the CreateProcess reply carries them.
struct ClientStdio {
    UniqueFd stdIn, stdOut, stdErr;
};

class GuestProcess {
public:
    GuestProcess(uint64_t serial, std::weak_ptr<ComputeSystem> system) : serial(serial), system(std::move(system)) {}

    const uint64_t serial;                      // unique within its system (guest pids are reused)
    const std::weak_ptr<ComputeSystem> system;  // may be gone while handles still name the process
    ProcessState state = ProcessState::Starting;
    uint32_t pid = 0;  // once Running
    std::string imageName;
    int64_t createTime = 0;  // FILETIME ticks
    bool console = false;

    // Starting only: what the channel gets, what the creator gets, and who gets the reply.
    guest::ProcessSpec spec;
    guest::StdioEnds hostEnds;
    ClientStdio clientEnds;
    uint64_t createSession = 0, createRequest = 0;
    bool launched = false;  // handed to the guest channel
    std::vector<std::function<void()>> afterStart;

    // Exited only.
    std::optional<guest::ProcessExit> exit;
    std::optional<Error> startError;

    uint32_t handles = 0;  // open handles naming it, over every session
    std::vector<ProcessWaiter> waiters;

    // ProcessStatus for GetProcessProperties, waits and the ProcessExited event.
    schema::ProcessStatus status() const;
};

using ProcessPtr = std::shared_ptr<GuestProcess>;

class ProcessTable {
public:
    ProcessTable(EventLoop& loop, size_t limit) : loop_(loop), limit_(limit) {}
    ~ProcessTable();
    ProcessTable(const ProcessTable&) = delete;
    ProcessTable& operator=(const ProcessTable&) = delete;

    // A new process in state Starting. HRESULT_FROM_WIN32(ERROR_TOO_MANY_OPEN_FILES) naming the limit
    // when `limit` processes are Starting or Running already.
    Result<ProcessPtr> add(std::weak_ptr<ComputeSystem> system);
    // The process with that guest pid: a Running one first, else an Exited one still held; never Starting.
    ProcessPtr findByPid(uint32_t pid) const;
    // Drops the process if it is Exited and no handle names it.
    void removeIfUnused(const ProcessPtr& process);
    size_t liveCount() const;
    std::vector<ProcessPtr> all() const;

    // `timeout` zero = wait for ever.
    void addWaiter(const ProcessPtr& process, ProcessWaiter waiter, std::chrono::milliseconds timeout);
    std::vector<ProcessWaiter> takeWaiters(const ProcessPtr& process);
    // The waiter of that request (Cancel), if any.
    std::optional<ProcessWaiter> takeWaiter(uint64_t session, uint64_t requestId);
    // The waiters naming one handle (it was closed).
    std::vector<ProcessWaiter> takeWaitersOfHandle(uint64_t session, uint64_t handle);
    void dropSession(uint64_t session);

private:
    void cancelTimer(ProcessWaiter& waiter);

    EventLoop& loop_;
    size_t limit_;
    std::map<uint64_t, ProcessPtr> processes_;  // by serial
    uint64_t nextSerial_ = 1;
};

}  // namespace hc::hcs::service
