// EventTarget: what a handle that takes an HCS_EVENT_CALLBACK shares — compute system handles
// (HcsSetComputeSystemCallback) and process handles (HcsSetProcessCallback): the one registration,
// the callback gate, and operation completions that wait for a callback registered later.
//
// Lifecycle: owned by the handle table through the handle object that derives from it. The
// registration is set at most once (a second one fails with HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET)
// and never removed; the handle's close closes the gate (no callback starts afterwards; one already
// running is waited for unless the close comes from the dispatch thread). Operations are remembered by
// weak reference only.
#pragma once

#include <computedefs.h>

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/result.h"
#include "hcs/client/callback_gate.h"

namespace hc::hcs {

class Operation;

class EventTarget {
public:
    struct Registration {
        HCS_EVENT_OPTIONS options = HcsEventOptionNone;
        void* context = nullptr;
        HCS_EVENT_CALLBACK callback = nullptr;
    };

    // `kind` names the handle in messages ("compute system", "process").
    explicit EventTarget(const char* kind) : kind_(kind) {}
    virtual ~EventTarget() = default;
    EventTarget(const EventTarget&) = delete;
    EventTarget& operator=(const EventTarget&) = delete;

    // The public handle value (HCS_SYSTEM or HCS_PROCESS); set once, right after registration in its table.
    void setTargetHandle(void* handle) { targetHandle_ = handle; }
    void* targetHandle() const { return targetHandle_; }

    // Once per handle (HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET after). With
    // HcsEventOptionEnableOperationCallbacks, returns the operations used on this handle whose completion
    // nobody has seen yet, for the caller to deliver now.
    Result<std::vector<std::shared_ptr<Operation>>> setEventCallback(Registration registration);
    std::optional<Registration> registration() const;
    bool operationCallbacksEnabled() const;

    // For the completion of an operation used on this handle that has no callback of its own: true when
    // the handle's event callback takes operation completions (deliver now); otherwise remembers the
    // operation so that a later set*Callback can deliver it, and returns false.
    bool acceptOrDeferCompletion(const std::shared_ptr<Operation>& operation);

    CallbackGate& gate() { return gate_; }

private:
    const char* const kind_;
    void* targetHandle_ = nullptr;
    CallbackGate gate_;

    mutable std::mutex mutex_;
    std::optional<Registration> registration_;
    std::vector<std::weak_ptr<Operation>> undelivered_;
};

}  // namespace hc::hcs
