#include "hcs/service/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/log.h"
#include "hcs/ipc/descriptor_passing.h"
#include "hcs/ipc/unix_socket.h"
#include "hcs/protocol/messages.h"

namespace hc::hcs::service {

namespace {
// A client that lets this much output pile up without reading is dropped.
constexpr size_t kMaxPendingOutput = 64 * 1024 * 1024;
// ... or this many replies carrying descriptors (each holds up to 3 of hcsd's descriptors).
constexpr size_t kMaxPendingFdReplies = 1024;
}  // namespace

Server::Server(EventLoop& loop, Service& service, int listenFd) : loop_(loop), service_(service), listenFd_(listenFd)
{
    loop_.watchFd(listenFd_, POLLIN, [this](short) { accept(); });
}

Server::~Server()
{
    if (acceptRetryTimer_) loop_.cancelTimer(acceptRetryTimer_);
    loop_.unwatchFd(listenFd_);
    close(listenFd_);
    for (auto& [id, c] : connections_) {
        loop_.unwatchFd(c.fd);
        close(c.fd);
    }
}

void Server::accept()
{
    int fd = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) return pauseAccepting();
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) HC_LOG(Warn, "hcsd", "accept failed");
        return;
    }
    exhaustionLogged_ = false;
    // The peer's user decides what the session may see (Service::mayAccess); unknown = refused.
    auto peer = peerCredentials(fd);
    if (!peer) {
        HC_LOG(Warn, "hcsd", "no peer credentials on a new connection: closed (" + peer.error().message + ")");
        close(fd);
        return;
    }
    uint64_t id = nextConnection_++;
    Connection& c = connections_[id];
    c.fd = fd;
    c.session = service_.openSession(
        [this, id](const std::string& line, std::vector<UniqueFd> fds) { send(id, line, std::move(fds)); }, peer->uid);
    loop_.watchFd(fd, POLLIN, [this, id](short revents) {
        if (revents & POLLOUT) onWritable(id);
        if (revents & (POLLIN | POLLHUP | POLLERR)) onReadable(id);
    });
    HC_LOG(Info, "hcsd",
           "client connected (connection " + std::to_string(id) + ", uid " + std::to_string(peer->uid) + ")");
    send(id, protocol::encodeGreeting(kServiceVersion));
}

void Server::pauseAccepting()
{
    if (acceptRetryTimer_) return;
    // The pending connection stays in the backlog; polling the listener now would only spin.
    if (!exhaustionLogged_) {
        HC_LOG(Warn, "hcsd", "out of file descriptors: not accepting connections until one is freed");
        exhaustionLogged_ = true;
    }
    loop_.setFdEvents(listenFd_, 0);
    acceptRetryTimer_ = loop_.addTimer(std::chrono::milliseconds(500), [this] {
        acceptRetryTimer_ = 0;
        resumeAccepting();
    });
}

void Server::resumeAccepting()
{
    if (acceptRetryTimer_) loop_.cancelTimer(acceptRetryTimer_);
    acceptRetryTimer_ = 0;
    loop_.setFdEvents(listenFd_, POLLIN);  // a new failure pauses again
}

void Server::onReadable(uint64_t id)
{
    auto it = connections_.find(id);
    if (it == connections_.end() || it->second.closing) return;
    char buffer[65536];
    ssize_t n = recv(it->second.fd, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
        scheduleClose(id);
        return;
    }
    it->second.input.append(buffer, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = it->second.input.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string line = it->second.input.substr(start, nl - start);
        handleLine(id, line);
        it = connections_.find(id);
        if (it == connections_.end() || it->second.closing) return;
    }
    it->second.input.erase(0, start);
    if (it->second.input.size() > protocol::kMaxLineBytes) {
        send(id, protocol::encodeError(std::nullopt, HCS_E_PROTOCOL_ERROR, "line longer than 16 MiB; closing"));
        scheduleClose(id);
    }
}

void Server::handleLine(uint64_t id, const std::string& rawLine)
{
    std::string line = rawLine;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) return;  // blank lines are allowed by hand
    std::optional<uint64_t> requestId;
    auto request = protocol::decodeRequest(line, &requestId);
    if (!request) {
        send(id, protocol::encodeError(requestId, request.error().hr, request.error().message));
        return;
    }
    Connection& c = connections_.at(id);
    if (request->method == protocol::Method::Hello) {
        if (c.helloDone) {
            send(id, protocol::encodeError(request->id, HCS_E_PROTOCOL_ERROR, "Hello was already negotiated"));
            return;
        }
        const auto& hello = std::get<protocol::HelloParams>(request->params);
        if (hello.protocol < protocol::kMinProtocolVersion || hello.protocol > protocol::kProtocolVersion) {
            send(id, protocol::encodeError(request->id, HCS_E_UNSUPPORTED_PROTOCOL_VERSION,
                                           "protocol version " + std::to_string(hello.protocol) +
                                               " is not supported (this hcsd speaks " +
                                               std::to_string(protocol::kMinProtocolVersion) + " to " +
                                               std::to_string(protocol::kProtocolVersion) + ")"));
            return;
        }
        c.helloDone = true;
        HC_LOG(Info, "hcsd", "connection " + std::to_string(id) + " is \"" + hello.client + "\"");
        send(id, protocol::encodeResult(request->id, {{"protocol", hello.protocol}, {"version", kServiceVersion}}));
        return;
    }
    if (!c.helloDone) {
        send(id, protocol::encodeError(request->id, HCS_E_PROTOCOL_ERROR, "send Hello first"));
        return;
    }
    service_.handle(c.session, *request);
}

void Server::send(uint64_t id, const std::string& line, std::vector<UniqueFd> fds)
{
    auto it = connections_.find(id);
    if (it == connections_.end() || it->second.closing) return;
    Connection& c = it->second;
    if (!fds.empty()) c.pendingFds.push_back({c.sentBytes + c.output.size(), std::move(fds)});
    c.output += line;
    if (c.output.size() > kMaxPendingOutput || c.pendingFds.size() > kMaxPendingFdReplies) {
        HC_LOG(Warn, "hcsd", "connection " + std::to_string(id) + " does not read its replies; closing it");
        scheduleClose(id);
        return;
    }
    flush(c);
    if (c.closing) scheduleClose(id);
}

void Server::flush(Connection& c)
{
    while (!c.output.empty()) {
        // Write up to the next line that carries descriptors; that line's first byte goes with them.
        const bool withFds = !c.pendingFds.empty() && c.pendingFds.front().position == c.sentBytes;
        size_t limit = c.output.size();
        const size_t next = withFds ? 1 : 0;
        if (c.pendingFds.size() > next) {
            limit = std::min<uint64_t>(limit, c.pendingFds[next].position - c.sentBytes);
        }
        std::vector<int> raw;
        if (withFds) {
            for (const auto& fd : c.pendingFds.front().fds)
                raw.push_back(fd.get());
        }
        auto n = sendWithDescriptors(c.fd, std::string_view(c.output.data(), limit), raw);
        if (!n) {
            if (wouldBlock(n.error())) break;
            c.closing = true;  // peer gone; the read side reports it too
            return;
        }
        if (withFds) c.pendingFds.pop_front();  // sent: the client owns its copies now
        c.output.erase(0, *n);
        c.sentBytes += *n;
    }
    loop_.setFdEvents(c.fd, c.output.empty() ? POLLIN : (POLLIN | POLLOUT));
}

void Server::onWritable(uint64_t id)
{
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    flush(it->second);
    if (it->second.closing) scheduleClose(id);
}

void Server::scheduleClose(uint64_t id)
{
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    it->second.closing = true;
    loop_.unwatchFd(it->second.fd);
    loop_.post([this, id] { closeNow(id); });
}

void Server::closeNow(uint64_t id)
{
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    uint64_t session = it->second.session;
    close(it->second.fd);
    connections_.erase(it);
    HC_LOG(Info, "hcsd", "client disconnected (connection " + std::to_string(id) + ")");
    if (acceptRetryTimer_) resumeAccepting();  // a descriptor was just freed
    service_.closeSession(session);
}

}  // namespace hc::hcs::service
