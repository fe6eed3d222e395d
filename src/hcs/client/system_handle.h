// SystemHandle: the state behind an HCS_SYSTEM handle — which connection and handle number name the
// compute system in hcsd, the event callback registered on it, and completions waiting for one.
//
// Lifecycle: created by HcsCreateComputeSystem / HcsOpenComputeSystem and owned by the handle table
// until HcsCloseComputeSystem, which (1) removes it from the table (later calls get E_HANDLE),
// (2) closes the callback gate — no event callback starts afterwards, and one already running is
// waited for unless the close comes from inside a callback (the dispatch thread) — and (3) tells hcsd
// CloseComputeSystem without waiting for the reply. Operations still pending on the handle keep a
// reference and complete normally (their own callbacks and waiters still see the result).
#pragma once

#include <computedefs.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "hcs/client/callback_gate.h"

namespace hc::hcs {

class Operation;
class ServiceChannel;

class SystemHandle {
public:
    struct Registration {
        HCS_EVENT_OPTIONS options = HcsEventOptionNone;
        void* context = nullptr;
        HCS_EVENT_CALLBACK callback = nullptr;
    };

    SystemHandle(std::shared_ptr<ServiceChannel> channel, uint64_t number, std::string id);

    void setHandle(HCS_SYSTEM handle) { handle_ = handle; }
    HCS_SYSTEM handle() const { return handle_; }
    const std::shared_ptr<ServiceChannel>& channel() const { return channel_; }
    uint64_t number() const { return number_; }
    const std::string& id() const { return id_; }

    // HcsSetComputeSystemCallback: once per handle (HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET after).
    // With HcsEventOptionEnableOperationCallbacks, returns the operations used on this handle whose
    // completion nobody has seen yet, for the caller to deliver now.
    Result<std::vector<std::shared_ptr<Operation>>> setEventCallback(Registration registration);
    std::optional<Registration> registration() const;
    bool operationCallbacksEnabled() const;

    // For the completion of an operation used on this handle that has no callback of its own: true when
    // the handle's event callback takes operation completions (deliver now); otherwise remembers the
    // operation so that a later HcsSetComputeSystemCallback can deliver it, and returns false.
    bool acceptOrDeferCompletion(const std::shared_ptr<Operation>& operation);

    CallbackGate& gate() { return gate_; }

private:
    const std::shared_ptr<ServiceChannel> channel_;
    const uint64_t number_;
    const std::string id_;
    HCS_SYSTEM handle_ = nullptr;
    CallbackGate gate_;

    mutable std::mutex mutex_;
    std::optional<Registration> registration_;
    std::vector<std::weak_ptr<Operation>> undelivered_;
};

}  // namespace hc::hcs
