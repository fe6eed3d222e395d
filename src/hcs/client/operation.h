// Operation: the state behind an HCS_OPERATION handle — one asynchronous call at a time, its result,
// and how its completion is reported (wait, completion callback, event callback).
//
// Lifecycle (docs/hcs-operations.md has the long form):
//
//   NotStarted --begin()--> Pending --finish()--> Completed --begin()--> Pending ...
//
//   - NotStarted: created by HcsCreateOperation*; results are HCS_E_OPERATION_NOT_STARTED.
//   - Pending: a call (HcsStartComputeSystem, ...) was accepted and sent; begin() again fails with
//     HCS_E_OPERATION_ALREADY_STARTED. Exactly one finish() per use wins: the service's reply, a cancel
//     (HCS_E_OPERATION_ALREADY_CANCELLED) or a service disconnect (HCS_E_SERVICE_DISCONNECT); later
//     ones for the same use are ignored (each use has a generation number).
//   - Completed: result and document kept until the next begin() replaces them. A CreateProcess /
//     GetProcessInfo use also keeps the ProcessInfo (process id, stdio descriptors) of its reply: the
//     first result()/waitForResult() that asks for it hands the descriptors to the caller; otherwise the
//     next begin() or close() closes them (a reply arriving after close() is dropped with them).
//
// Ownership: the handle table owns the Operation while its handle is open. Waiters, queued callbacks
// and the system handle's list of undelivered completions hold shared/weak references only for as
// long as they need the object; the service channel's reply handler holds a weak reference, so an
// operation closed while in flight is freed as soon as nobody waits on it, and its reply is dropped.
//
// Close (HcsCloseOperation) in each state: the handle is removed from the table first (every later
// call with it gets E_HANDLE), then the callback gate is closed — waiting for a callback of this
// operation already running on the dispatch thread unless the close comes from that thread — and
// threads blocked in HcsWaitForOperationResult wake up with E_HANDLE. A pending call's work goes on
// in hcsd; its result is discarded and no callback is delivered.
#pragma once

#include <computedefs.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/result.h"
#include "hcs/client/callback_gate.h"
#include "hcs/client/process_info.h"

namespace hc::hcs {

class EventTarget;
class ServiceChannel;

enum class OperationState { NotStarted, Pending, Completed };

const char* operationTypeName(HCS_OPERATION_TYPE type);

class Operation {
public:
    // How the completion of a use is reported besides waiters.
    struct Callbacks {
        HCS_OPERATION_COMPLETION completion = nullptr;  // HcsCreateOperation / HcsSetOperationCallback
        HCS_EVENT_CALLBACK events = nullptr;            // HcsCreateOperationWithNotifications
        HCS_OPERATION_OPTIONS eventOptions = HcsOperationOptionNone;
        void* context = nullptr;
    };

    // What a use is a call on: the system, the process (process calls; for CreateProcess the new one),
    // and the handle whose event callback takes the completion when the operation has no callback of its
    // own (the system for system calls and CreateProcess, the process for the other process calls).
    struct Target {
        HCS_SYSTEM system = nullptr;
        HCS_PROCESS process = nullptr;
        std::shared_ptr<EventTarget> events;
    };

    // One use of the operation, as the completion path needs it.
    struct Use {
        uint64_t generation = 0;
        HCS_OPERATION_TYPE type = HcsOperationTypeNone;
        Target target;
    };

    struct Outcome {
        HRESULT hr = S_OK;
        std::string document;  // UTF-8 JSON; empty when there is none
    };

    Operation(uint64_t id, Callbacks callbacks);

    // Set once, right after the handle table assigned the handle.
    void setHandle(HCS_OPERATION handle) { handle_ = handle; }
    HCS_OPERATION handle() const { return handle_; }
    uint64_t id() const { return id_; }

    void* context() const;
    void setContext(void* context);
    Callbacks callbacks() const;
    bool hasOwnCallback() const;
    // HcsSetOperationCallback: not while a use is pending (HCS_E_OPERATION_ALREADY_STARTED).
    Status setCompletionCallback(void* context, HCS_OPERATION_COMPLETION completion);

    HCS_OPERATION_TYPE type() const;
    HCS_SYSTEM system() const;
    HCS_PROCESS process() const;
    // The handle whose event callback takes this use's completion (null once the operation is closed).
    std::shared_ptr<EventTarget> target() const;
    OperationState state() const;

    // Starts a use: NotStarted/Completed -> Pending. Returns the use's generation.
    Result<uint64_t> begin(HCS_OPERATION_TYPE type, Target target, std::shared_ptr<ServiceChannel> channel);
    // Remembers the service request of use `generation` (for HcsCancelOperation).
    void attachRequest(uint64_t generation, uint64_t requestId);
    // Ends use `generation` with `outcome`. Returns the use when this call completed it (the caller
    // then delivers the completion), or nothing when that use had already ended.
    // `info`: the ProcessInfo of a successful CreateProcess / GetProcessInfo reply.
    std::optional<Use> finish(uint64_t generation, Outcome outcome, std::optional<ProcessInfo> info = std::nullopt);

    // Non-blocking result: HCS_E_OPERATION_NOT_STARTED / HCS_E_OPERATION_PENDING / the use's result.
    // With `info`, also the use's process information (zeroed when it has none): the first call that
    // asks hands over the stdio descriptors, later calls get the ProcessId and NULL stdio handles.
    Result<Outcome> result(HCS_PROCESS_INFORMATION* info = nullptr);
    // Blocking result, bounded by timeoutMs (INFINITE = no bound). HCS_E_OPERATION_TIMEOUT leaves the
    // operation as it is; E_HANDLE when the operation is closed meanwhile. `info` as for result().
    Result<Outcome> waitForResult(DWORD timeoutMs, HCS_PROCESS_INFORMATION* info = nullptr);

    // HcsCancelOperation: asks the service to abandon the pending request and returns the generation
    // of the use the caller must now finish with HCS_E_OPERATION_ALREADY_CANCELLED (0: nothing to
    // finish, the real result came first). A second cancel fails with HCS_E_OPERATION_ALREADY_CANCELLED.
    Result<uint64_t> cancel();

    // HcsCloseOperation (after the handle was removed from the table).
    void close(bool waitForRunningCallback);
    bool isClosed() const;
    CallbackGate& gate() { return gate_; }

    // Whether the result of the current use was seen by a waiter, a getter or a callback; a completion
    // nobody saw is delivered later when a system event callback with operation callbacks is set.
    bool completionObserved() const;
    void markCompletionObserved();

    // Use currently pending (generation, channel) for disconnect handling.
    bool isPendingOn(const ServiceChannel* channel, uint64_t* generation) const;

private:
    const uint64_t id_;
    HCS_OPERATION handle_ = nullptr;
    CallbackGate gate_;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    Callbacks callbacks_;
    OperationState state_ = OperationState::NotStarted;
    bool closed_ = false;
    bool observed_ = false;
    uint64_t generation_ = 0;
    HCS_OPERATION_TYPE type_ = HcsOperationTypeNone;
    Target target_;
    std::weak_ptr<ServiceChannel> channel_;
    uint64_t requestId_ = 0;
    bool requestAttached_ = false;
    Outcome outcome_;
    std::optional<ProcessInfo> processInfo_;  // the descriptors until handed over

    Result<Outcome> completedResult(HCS_PROCESS_INFORMATION* info);  // with mutex_ held, state_ Completed
};

}  // namespace hc::hcs
