#include "fake_channel.h"

#include <thread>

namespace hc::hcs {

// The unit tests never reach hcsd: every test installs a FakeChannel first.
Result<std::shared_ptr<ServiceChannel>> connectService()
{
    return makeError(HCS_E_SERVICE_NOT_AVAILABLE, "unit tests use setServiceChannelForTesting()");
}

namespace testing {

uint64_t FakeChannel::send(protocol::Method method, protocol::Params params, ReplyHandler onReply)
{
    // Recorded as it would travel: encoded by the wire codec, exactly the line hcsd would read.
    auto line = protocol::encodeRequest({0, method, std::move(params)});
    if (!line) {
        onReply(ServiceReply{line.hr(), line.error().message});
        return 0;
    }
    nlohmann::json encoded = nlohmann::json::parse(*line);
    Request request{0, encoded["method"].get<std::string>(), encoded["params"]};
    std::optional<ServiceReply> immediate;
    AutoReply autoReply;
    {
        std::lock_guard lock(mutex_);
        request.id = nextRequestId_++;
        if (disconnected_)
            immediate = ServiceReply{HCS_E_SERVICE_DISCONNECT, R"({"Error":-2143878882,"ErrorMessage":"down"})"};
        else
            autoReply = autoReply_;
    }
    if (!immediate && autoReply) immediate = autoReply(request);
    {
        // Logged together with filing the handler, so a test that saw the request can reply to it.
        std::lock_guard lock(mutex_);
        log_.push_back(request);
        if (!immediate) pending_.emplace(request.id, std::move(onReply));
    }
    sent_.notify_all();
    if (immediate) onReply(std::move(*immediate));
    return request.id;
}

void FakeChannel::cancel(uint64_t requestId)
{
    std::lock_guard lock(mutex_);
    cancelled_.push_back(requestId);
}

void FakeChannel::setEventHandler(EventHandler handler)
{
    std::lock_guard lock(mutex_);
    eventHandler_ = std::move(handler);
}

uint64_t FakeChannel::newHandleNumber()
{
    std::lock_guard lock(mutex_);
    return nextHandle_++;
}

void FakeChannel::setAutoReply(AutoReply autoReply)
{
    std::lock_guard lock(mutex_);
    autoReply_ = std::move(autoReply);
}

bool FakeChannel::reply(uint64_t requestId, HRESULT hr, std::string document, std::vector<UniqueFd> fds)
{
    ReplyHandler handler;
    {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(requestId);
        if (it == pending_.end()) return false;
        handler = std::move(it->second);
        pending_.erase(it);
    }
    handler(ServiceReply{hr, std::move(document), std::move(fds)});
    return true;
}

std::optional<FakeChannel::Request> FakeChannel::waitForRequest(const std::string& method, size_t index,
                                                                std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mutex_);
    std::optional<Request> found;
    sent_.wait_for(lock, timeout, [&] {
        size_t seen = 0;
        for (const auto& request : log_) {
            if (request.method != method) continue;
            if (seen++ == index) {
                found = request;
                return true;
            }
        }
        return false;
    });
    return found;
}

std::vector<FakeChannel::Request> FakeChannel::requests(const std::string& method) const
{
    std::lock_guard lock(mutex_);
    std::vector<Request> result;
    for (const auto& request : log_)
        if (method.empty() || request.method == method) result.push_back(request);
    return result;
}

std::vector<uint64_t> FakeChannel::cancelled() const
{
    std::lock_guard lock(mutex_);
    return cancelled_;
}

size_t FakeChannel::pendingCount() const
{
    std::lock_guard lock(mutex_);
    return pending_.size();
}

std::vector<uint64_t> FakeChannel::pendingIds() const
{
    std::lock_guard lock(mutex_);
    std::vector<uint64_t> ids;
    for (const auto& [id, handler] : pending_)
        ids.push_back(id);
    return ids;
}

void FakeChannel::fireEvent(const ServiceEvent& event)
{
    EventHandler handler;
    {
        std::lock_guard lock(mutex_);
        handler = eventHandler_;
    }
    if (handler) handler(event);
}

void FakeChannel::disconnect()
{
    std::map<uint64_t, ReplyHandler> pending;
    {
        std::lock_guard lock(mutex_);
        disconnected_ = true;
        pending.swap(pending_);
    }
    for (auto& [id, handler] : pending)
        handler(ServiceReply{HCS_E_SERVICE_DISCONNECT, {}});
    fireEvent(ServiceEvent{0, HcsEventServiceDisconnect, {}});
}

void replyFromAnotherThread(std::shared_ptr<FakeChannel> channel, uint64_t requestId, HRESULT hr, std::string document,
                            std::chrono::milliseconds delay)
{
    std::thread([channel = std::move(channel), requestId, hr, document = std::move(document), delay] {
        std::this_thread::sleep_for(delay);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!channel->reply(requestId, hr, document) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }).detach();
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

}  // namespace testing
}  // namespace hc::hcs
