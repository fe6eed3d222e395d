// SystemHandle: the state behind an HCS_SYSTEM handle — which connection and handle number name the
// compute system in hcsd, and (through EventTarget) the event callback registered on it and completions
// waiting for one.
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
#include <string>

#include "hcs/client/event_target.h"

namespace hc::hcs {

class ServiceChannel;

class SystemHandle : public EventTarget {
public:
    using Registration = EventTarget::Registration;

    SystemHandle(std::shared_ptr<ServiceChannel> channel, uint64_t number, std::string id)
        : EventTarget("compute system"), channel_(std::move(channel)), number_(number), id_(std::move(id))
    {
    }

    void setHandle(HCS_SYSTEM handle) { setTargetHandle(handle); }
    HCS_SYSTEM handle() const { return static_cast<HCS_SYSTEM>(targetHandle()); }
    const std::shared_ptr<ServiceChannel>& channel() const { return channel_; }
    uint64_t number() const { return number_; }
    const std::string& id() const { return id_; }

private:
    const std::shared_ptr<ServiceChannel> channel_;
    const uint64_t number_;
    const std::string id_;
};

}  // namespace hc::hcs
