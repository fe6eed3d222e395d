#include "hcs/vm/qmp_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <span>

#include "base/log.h"
#include "hcs/ipc/descriptor_passing.h"
#include "hcs/ipc/unix_socket.h"
#include "hcs/schema/json_limits.h"

namespace hc::hcs::vm {

using nlohmann::json;

namespace {
constexpr size_t kMaxQmpLine = 4 * 1024 * 1024;
}

QmpClient::QmpClient(int fd, ReadyHandler onReady, EventHandler onEvent)
    : fd_(fd), onReady_(std::move(onReady)), onEvent_(std::move(onEvent))
{
    // A wedged QEMU must not block hcsd forever in a write.
    timeval timeout{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

QmpClient::~QmpClient()
{
    if (fd_ >= 0) close(fd_);
}

bool QmpClient::onReadable()
{
    if (closed_) return false;
    char buffer[16384];
    ssize_t n = recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    if (n <= 0) {
        failAll(makeError(HCS_E_CONNECTION_CLOSED, "the QEMU monitor connection closed"));
        return false;
    }
    input_.append(buffer, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = input_.find('\n', start)) != std::string::npos; start = nl + 1) {
        handleLine(input_.substr(start, nl - start));
        if (closed_) return false;
    }
    input_.erase(0, start);
    if (input_.size() > kMaxQmpLine) {
        failAll(makeError(HCS_E_PROTOCOL_ERROR, "QEMU sent an over-long QMP line"));
        return false;
    }
    return true;
}

void QmpClient::handleLine(const std::string& line)
{
    auto parsed = schema::parseJson(line, schema::kWireLineLimits, "a QMP line", HCS_E_PROTOCOL_ERROR);
    if (!parsed || !parsed->is_object()) {
        HC_LOG(Warn, "qmp", "ignoring a malformed QMP line: " + line.substr(0, 200));
        return;
    }
    json& message = *parsed;
    if (message.contains("QMP")) {
        execute("qmp_capabilities", json::object(), [this](Result<json> r) {
            ready_ = r.ok();
            auto ready = std::move(onReady_);
            onReady_ = nullptr;
            if (ready) ready(r.ok() ? Status{} : Status(r.error()));
        });
        return;
    }
    if (auto event = message.find("event"); event != message.end() && event->is_string()) {
        if (onEvent_) onEvent_(event->get<std::string>(), message.value("data", json::object()));
        return;
    }
    auto id = message.find("id");
    if (id == message.end() || !id->is_number_unsigned()) return;
    auto it = pending_.find(id->get<uint64_t>());
    if (it == pending_.end()) return;
    ReplyHandler handler = std::move(it->second);
    pending_.erase(it);
    if (auto ret = message.find("return"); ret != message.end()) {
        handler(*ret);
    } else {
        const json& err = message.value("error", json::object());
        handler(makeError(E_FAIL, "QMP error " + err.value("class", std::string("?")) + ": " +
                                      err.value("desc", std::string("(no description)"))));
    }
}

uint64_t QmpClient::execute(const std::string& command, const json& arguments, ReplyHandler handler, int descriptor)
{
    if (closed_) {
        handler(makeError(HCS_E_CONNECTION_CLOSED, "the QEMU monitor connection is closed"));
        return 0;
    }
    uint64_t id = nextId_++;
    json message{{"execute", command}, {"id", id}};
    if (!arguments.empty()) message["arguments"] = arguments;
    pending_[id] = std::move(handler);
    const std::string line = message.dump() + "\n";
    Status st =
        descriptor >= 0 ? sendAllWithDescriptors(fd_, line, std::span<const int>(&descriptor, 1)) : writeAll(fd_, line);
    if (!st) {
        failAll(makeError(HCS_E_CONNECTION_CLOSED, "cannot send to the QEMU monitor: " + st.error().message));
    }
    return id;
}

void QmpClient::failAll(const Error& error)
{
    closed_ = true;
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, handler] : pending)
        handler(error);
    if (!ready_ && onReady_) {
        auto ready = std::move(onReady_);
        onReady_ = nullptr;
        ready(error);
    }
}

}  // namespace hc::hcs::vm
