#include "hcs/client/sync_call.h"

#include <condition_variable>
#include <memory>
#include <mutex>

namespace hc::hcs {

Result<ServiceReply> callAndWait(ServiceChannel& channel, protocol::Method method, protocol::Params params,
                                 std::optional<std::chrono::milliseconds> limit)
{
    struct Pending {
        std::mutex mutex;
        std::condition_variable arrived;
        std::optional<ServiceReply> reply;
    };
    auto pending = std::make_shared<Pending>();
    const uint64_t requestId = channel.send(method, std::move(params), [pending](ServiceReply reply) {
        {
            std::lock_guard lock(pending->mutex);
            pending->reply = std::move(reply);
        }
        pending->arrived.notify_all();
    });
    std::unique_lock lock(pending->mutex);
    auto arrived = [&] { return pending->reply.has_value(); };
    if (!limit) {
        pending->arrived.wait(lock, arrived);
    } else if (!pending->arrived.wait_for(lock, *limit, arrived)) {
        lock.unlock();
        channel.cancel(requestId);
        return makeError(HCS_E_CONNECTION_TIMEOUT,
                         std::string("hcsd did not answer ") + protocol::methodName(method) + " in time");
    }
    return std::move(*pending->reply);
}

}  // namespace hc::hcs
