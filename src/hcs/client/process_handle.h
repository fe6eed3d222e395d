// ProcessHandle: the state behind an HCS_PROCESS handle — the connection and handle number that name the
// process in hcsd, the compute system handle it was created or opened through, its process id, and
// (through EventTarget) the event callback registered with HcsSetProcessCallback (ProcessExited,
// completions of operations used on it, ServiceDisconnect).
//
// Lifecycle: created by HcsCreateProcess (the process id becomes known when the create completes) or
// HcsOpenProcess (known at once), owned by the handle table until HcsCloseProcess, which (1) removes it
// from the table (later calls get E_HANDLE), (2) closes the callback gate — waiting for a callback
// already running unless the close comes from inside a callback — and (3) tells hcsd CloseProcess
// without waiting for the reply. The handle holds no descriptors: stdio descriptors belong to the
// operation that received them until the caller takes them (operation.h).
#pragma once

#include <computedefs.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "hcs/client/event_target.h"

namespace hc::hcs {

class ServiceChannel;

class ProcessHandle : public EventTarget {
public:
    ProcessHandle(std::shared_ptr<ServiceChannel> channel, uint64_t number, HCS_SYSTEM system, DWORD processId)
        : EventTarget("process"), channel_(std::move(channel)), number_(number), system_(system), processId_(processId)
    {
    }

    void setHandle(HCS_PROCESS handle) { setTargetHandle(handle); }
    HCS_PROCESS handle() const { return static_cast<HCS_PROCESS>(targetHandle()); }
    const std::shared_ptr<ServiceChannel>& channel() const { return channel_; }
    uint64_t number() const { return number_; }
    // The HCS_SYSTEM the process was created or opened through (it may be closed by now).
    HCS_SYSTEM system() const { return system_; }

    DWORD processId() const { return processId_.load(std::memory_order_acquire); }
    void setProcessId(DWORD processId) { processId_.store(processId, std::memory_order_release); }

private:
    const std::shared_ptr<ServiceChannel> channel_;
    const uint64_t number_;
    const HCS_SYSTEM system_;
    std::atomic<DWORD> processId_;
};

}  // namespace hc::hcs
