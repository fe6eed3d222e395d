// FakeChannel: a ServiceChannel whose replies and events the test controls — reply at once (inside
// send()), later, from another thread, or never; deliver events; drop the connection.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hcs/client/service_channel.h"
#include "hcs/protocol/messages.h"

namespace hc::hcs::testing {

class FakeChannel : public ServiceChannel {
public:
    struct Request {
        uint64_t id = 0;
        std::string method;
        nlohmann::json params;
    };

    // Consulted inside send(): a reply to give at once, or nullopt to leave the request pending.
    using AutoReply = std::function<std::optional<ServiceReply>(const Request&)>;

    uint64_t send(protocol::Method method, protocol::Params params, ReplyHandler onReply) override;
    void cancel(uint64_t requestId) override;
    void setEventHandler(EventHandler handler) override;
    uint64_t newHandleNumber() override;

    void setAutoReply(AutoReply autoReply);
    // Replies to a pending request; false when it is not pending (already answered or unknown).
    bool reply(uint64_t requestId, HRESULT hr, std::string document = {}, std::vector<UniqueFd> fds = {});
    // Waits until a request for `method` was sent (pending or not); returns the n-th (0-based) one.
    std::optional<Request> waitForRequest(const std::string& method, size_t index = 0,
                                          std::chrono::milliseconds timeout = std::chrono::seconds(5));
    std::vector<Request> requests(const std::string& method = {}) const;
    std::vector<uint64_t> cancelled() const;
    size_t pendingCount() const;
    std::vector<uint64_t> pendingIds() const;
    void fireEvent(const ServiceEvent& event);
    // The connection drops: pending requests fail with HCS_E_SERVICE_DISCONNECT, a ServiceDisconnect
    // event follows, and later sends fail inside send().
    void disconnect();

private:
    mutable std::mutex mutex_;
    std::condition_variable sent_;
    AutoReply autoReply_;
    EventHandler eventHandler_;
    uint64_t nextRequestId_ = 1;
    uint64_t nextHandle_ = 1;
    bool disconnected_ = false;
    std::vector<Request> log_;
    std::map<uint64_t, ReplyHandler> pending_;
    std::vector<uint64_t> cancelled_;
};

// Replies to `requestId` from a new (detached) thread after `delay`, like the real channel's reader
// thread; retries until the request is filed (an AutoReply runs before send() files it).
void replyFromAnotherThread(std::shared_ptr<FakeChannel> channel, uint64_t requestId, HRESULT hr, std::string document,
                            std::chrono::milliseconds delay);

// Runs `condition` until true or the timeout; for results delivered on the dispatch thread.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace hc::hcs::testing
