// Client: the process-wide state of the computecore library — the handle tables, the event dispatch
// thread and the connection to hcsd — and the two paths every asynchronous call shares: starting a
// use of an operation (send the request) and completing it (store the result, wake waiters, deliver
// the callback on the dispatch thread).
//
// Threading: the channel's reader thread runs completeOperation() for replies and onEvent() for events;
// both only store state, notify waiters (one wake-up, no thread hop) and post user callbacks to the
// dispatcher. User callbacks run only on the dispatch thread. The Client is created on first use and
// never destroyed (so no callback can race static destructors at exit).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "base/result.h"
#include "hcs/client/event_dispatcher.h"
#include "hcs/client/handle_table.h"
#include "hcs/client/operation.h"
#include "hcs/client/process_handle.h"
#include "hcs/client/service_channel.h"
#include "hcs/client/system_handle.h"

namespace hc::hcs {

class Client {
public:
    static Client& instance();

    HandleTable<Operation, HandleKind::Operation>& operations() { return operations_; }
    HandleTable<SystemHandle, HandleKind::System>& systems() { return systems_; }
    HandleTable<ProcessHandle, HandleKind::Process>& processes() { return processes_; }
    EventDispatcher& dispatcher() { return dispatcher_; }

    // The connection new calls use: the test channel if one is set, else connectService() (lazily, and
    // anew after a disconnect).
    Result<std::shared_ptr<ServiceChannel>> channel();
    void setChannelForTesting(std::shared_ptr<ServiceChannel> channel);

    // Starts a use of `operation` as the catalogue's operation type of `method` on `target` and sends
    // the call. Synchronous failures (operation in flight or closed) come back here; everything later
    // arrives in the operation. A successful reply of a ResultShape::ProcessInfo call is parsed with its
    // descriptors into the operation's ProcessInfo (and gives `process`, if any, its process id); one
    // that does not fit its descriptors completes the operation with HCS_E_PROTOCOL_ERROR.
    Status startCall(const std::shared_ptr<Operation>& operation, Operation::Target target,
                     const std::shared_ptr<ServiceChannel>& channel, protocol::Method method, protocol::Params params,
                     std::shared_ptr<ProcessHandle> process = nullptr);

    // Ends use `generation` of `operation` (reply, cancel or disconnect) and delivers the completion.
    void completeOperation(const std::shared_ptr<Operation>& operation, uint64_t generation, HRESULT hr,
                           std::string document, std::optional<ProcessInfo> info = std::nullopt);

    // Posts an event to a system or process handle's callback (skipped if the handle or the operation is
    // closed by the time it would run). `operation` is set for HcsEventOperationCallback.
    void postEvent(const std::shared_ptr<EventTarget>& target, HCS_EVENT_TYPE type, std::string data,
                   std::shared_ptr<Operation> operation);

private:
    Client() = default;
    void adopt(const std::shared_ptr<ServiceChannel>& channel);
    void onEvent(const ServiceChannel* channel, const ServiceEvent& event);
    void onDisconnect(const ServiceChannel* channel);
    void deliverCompletion(const std::shared_ptr<Operation>& operation, const Operation::Use& use);

    HandleTable<Operation, HandleKind::Operation> operations_;
    HandleTable<SystemHandle, HandleKind::System> systems_;
    HandleTable<ProcessHandle, HandleKind::Process> processes_;
    EventDispatcher dispatcher_;

    std::mutex channelMutex_;
    std::shared_ptr<ServiceChannel> testChannel_;
    std::shared_ptr<ServiceChannel> serviceChannel_;  // from connectService(); reset on disconnect
};

}  // namespace hc::hcs
