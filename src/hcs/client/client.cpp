#include "hcs/client/client.h"

#include "base/hresult.h"
#include "base/log.h"
#include "base/strings.h"
#include "hcs/client/testing.h"
#include "hcs/schema/documents.h"

namespace hc::hcs {

Client& Client::instance()
{
    // Never destroyed: the dispatch thread may still run when static destructors do.
    static Client* client = new Client();
    return *client;
}

void setServiceChannelForTesting(std::shared_ptr<ServiceChannel> channel)
{
    Client::instance().setChannelForTesting(std::move(channel));
}

void Client::setChannelForTesting(std::shared_ptr<ServiceChannel> channel)
{
    if (channel) adopt(channel);
    std::lock_guard lock(channelMutex_);
    testChannel_ = std::move(channel);
}

Result<std::shared_ptr<ServiceChannel>> Client::channel()
{
    std::lock_guard lock(channelMutex_);
    if (testChannel_) return testChannel_;
    if (serviceChannel_) return serviceChannel_;
    auto connected = connectService();
    if (!connected) return connected.error();
    if (!connected.value()) return makeError(HCS_E_SERVICE_NOT_AVAILABLE, "connectService() returned no channel");
    serviceChannel_ = connected.value();
    adopt(serviceChannel_);
    return serviceChannel_;
}

void Client::adopt(const std::shared_ptr<ServiceChannel>& channel)
{
    // The handler names the channel by address only: holding a reference here would make the channel
    // own itself. System handles keep their channel alive, so the address stays unique meanwhile.
    const ServiceChannel* key = channel.get();
    channel->setEventHandler([this, key](const ServiceEvent& event) { onEvent(key, event); });
}

Status Client::startCall(const std::shared_ptr<Operation>& operation, Operation::Target target,
                         const std::shared_ptr<ServiceChannel>& channel, protocol::Method method,
                         protocol::Params params, std::shared_ptr<ProcessHandle> process)
{
    const protocol::CallSpec& call = protocol::callSpec(method);
    // Calls whose success has no result document (spec: "Create -> none"): hcsd answers "{}" for them;
    // callers get NULL, as on Windows. Failures always keep their ResultError document. Process
    // information travels in the operation's ProcessInfo, not as a document.
    const bool keepsDocument = call.result == protocol::ResultShape::Document;
    const bool carriesProcessInfo = call.result == protocol::ResultShape::ProcessInfo;
    auto generation = operation->begin(call.operationType, std::move(target), channel);
    if (!generation) return generation.error();
    // A weak reference: an operation closed while in flight is freed once nobody waits on it, and
    // its late reply is dropped here.
    std::weak_ptr<Operation> weak = operation;
    // The process only learns its id from the reply; a pending request must not keep a closed handle
    // (and through it the channel that holds this very handler) alive.
    std::weak_ptr<ProcessHandle> weakProcess = process;
    const uint64_t use = generation.value();
    uint64_t requestId = 0;
    try {
        requestId = channel->send(
            method, std::move(params),
            [this, weak, use, keepsDocument, carriesProcessInfo, weakProcess](ServiceReply reply) {
                auto op = weak.lock();
                if (!op) return;  // closed and freed: the reply's descriptors are closed with it
                std::optional<ProcessInfo> info;
                if (SUCCEEDED(reply.hr) && carriesProcessInfo) {
                    auto parsed = parseProcessInfo(reply.document, std::move(reply.fds));
                    if (!parsed) {
                        HC_LOG(Error, "hcs",
                               "hcsd sent process information that does not fit: " + parsed.error().message);
                        completeOperation(op, use, parsed.hr(),
                                          schema::resultErrorText(parsed.hr(),
                                                                  "hcsd sent process information that "
                                                                  "does not fit: " +
                                                                      parsed.error().message));
                        return;
                    }
                    if (auto process = weakProcess.lock()) process->setProcessId(parsed->processId);
                    info = std::move(parsed.value());
                }
                if (SUCCEEDED(reply.hr) && !keepsDocument) reply.document.clear();
                completeOperation(op, use, reply.hr, std::move(reply.document), std::move(info));
            });
    } catch (...) {
        // Never leave the operation pending on a request that was not sent; the call fails
        // synchronously, so no callback is delivered.
        (void)operation->finish(use, {E_FAIL, schema::resultErrorText(E_FAIL, "the request could not be sent")});
        throw;
    }
    operation->attachRequest(use, requestId);
    return {};
}

void Client::completeOperation(const std::shared_ptr<Operation>& operation, uint64_t generation, HRESULT hr,
                               std::string document, std::optional<ProcessInfo> info)
{
    auto use = operation->finish(generation, Operation::Outcome{hr, std::move(document)}, std::move(info));
    if (use) deliverCompletion(operation, *use);
}

void Client::deliverCompletion(const std::shared_ptr<Operation>& operation, const Operation::Use& use)
{
    if (operation->isClosed()) return;
    const auto callbacks = operation->callbacks();
    if (callbacks.completion) {
        dispatcher_.post([operation] {
            if (!operation->gate().enter()) return;
            // The callback and context current when it runs (HcsSetOperationContext may change them).
            const auto current = operation->callbacks();
            if (current.completion) {
                operation->markCompletionObserved();
                current.completion(operation->handle(), current.context);
            }
            operation->gate().leave();
        });
    } else if (callbacks.events) {
        dispatcher_.post([operation] {
            if (!operation->gate().enter()) return;
            const auto current = operation->callbacks();
            if (current.events) {
                operation->markCompletionObserved();
                HCS_EVENT event{HcsEventOperationCallback, nullptr, operation->handle()};
                current.events(&event, current.context);
            }
            operation->gate().leave();
        });
    } else if (use.target.events && use.target.events->acceptOrDeferCompletion(operation)) {
        postEvent(use.target.events, HcsEventOperationCallback, {}, operation);
    }
}

void Client::postEvent(const std::shared_ptr<EventTarget>& system, HCS_EVENT_TYPE type, std::string data,
                       std::shared_ptr<Operation> operation)
{
    dispatcher_.post([system, type, data = std::move(data), operation = std::move(operation)] {
        if (!system->gate().enter()) return;
        if (operation && !operation->gate().enter()) {
            system->gate().leave();
            return;
        }
        const auto registration = system->registration();
        if (registration && registration->callback) {
            std::wstring wideData;
            bool haveData = false;
            if (!data.empty()) {
                auto converted = fromUtf8(data);
                if (converted) {
                    wideData = std::move(converted.value());
                    haveData = true;
                } else {
                    HC_LOG(Warn, "hcs", "event data is not valid UTF-8; delivering the event without data");
                }
            }
            HCS_EVENT event{type, haveData ? wideData.c_str() : nullptr, operation ? operation->handle() : nullptr};
            if (operation) operation->markCompletionObserved();
            registration->callback(&event, registration->context);
        }
        if (operation) operation->gate().leave();
        system->gate().leave();
    });
}

void Client::onEvent(const ServiceChannel* channel, const ServiceEvent& event)
{
    if (event.type == HcsEventServiceDisconnect) {
        onDisconnect(channel);
        return;
    }
    if (event.type == HcsEventOperationCallback) {
        HC_LOG(Warn, "hcs", "ignoring an OperationCallback event sent by hcsd");
        return;
    }
    // ProcessExited goes to process handles only, never to a system callback; every other event to
    // system handles only. Handle numbers are unique per connection across both kinds.
    if (event.type == HcsEventProcessExited) {
        for (auto& process : processes_.all()) {
            if (process->channel().get() != channel || process->number() != event.handle) continue;
            if (process->registration()) postEvent(process, event.type, event.data, nullptr);
        }
        return;
    }
    for (auto& system : systems_.all()) {
        if (system->channel().get() != channel || system->number() != event.handle) continue;
        if (system->registration()) postEvent(system, event.type, event.data, nullptr);
    }
}

void Client::onDisconnect(const ServiceChannel* channel)
{
    {
        std::lock_guard lock(channelMutex_);
        if (serviceChannel_.get() == channel) serviceChannel_.reset();  // the next call reconnects
    }
    // Pending operations of that connection will never hear back.
    for (auto& operation : operations_.all()) {
        uint64_t generation = 0;
        if (operation->isPendingOn(channel, &generation))
            completeOperation(operation, generation, HCS_E_SERVICE_DISCONNECT,
                              schema::resultErrorText(HCS_E_SERVICE_DISCONNECT, "lost the connection to hcsd"));
    }
    for (auto& system : systems_.all()) {
        if (system->channel().get() == channel && system->registration())
            postEvent(system, HcsEventServiceDisconnect, {}, nullptr);
    }
    for (auto& process : processes_.all()) {
        if (process->channel().get() == channel && process->registration())
            postEvent(process, HcsEventServiceDisconnect, {}, nullptr);
    }
}

}  // namespace hc::hcs
