// The client side of the hcsd connection: ServiceChannel over a Unix socket (one reader thread) and
// connectService(), which finds the daemon (HCS_SOCKET, else the system instance, else the per-user
// one), checks the path and the daemon's credentials, and autostarts a private hcsd
// (hcsd_launcher.h) when nobody listens.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "base/hresult.h"
#include "base/log.h"
#include "hcs/client/hcsd_launcher.h"
#include "hcs/client/service_channel.h"
#include "hcs/ipc/descriptor_passing.h"
#include "hcs/ipc/runtime_paths.h"
#include "hcs/ipc/system_instance.h"
#include "hcs/ipc/unix_socket.h"
#include "hcs/protocol/messages.h"
#include "hcs/schema/documents.h"

namespace hc::hcs {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kHandshakeTimeout = std::chrono::seconds(5);

ServiceReply failedReply(HRESULT hr, const std::string& message)
{
    return ServiceReply{hr, schema::resultErrorText(hr, message)};
}

HCS_EVENT_TYPE eventType(const std::string& name)
{
    if (name == "SystemExited") return HcsEventSystemExited;
    if (name == "SystemCrashInitiated") return HcsEventSystemCrashInitiated;
    if (name == "SystemCrashReport") return HcsEventSystemCrashReport;
    if (name == "SystemGuestConnectionClosed") return HcsEventSystemGuestConnectionClosed;
    if (name == "ProcessExited") return HcsEventProcessExited;
    return HcsEventInvalid;
}

// Reads one line within the deadline (used only during the handshake, before the reader starts).
Result<std::string> readLine(int fd, std::string& buffer, Clock::time_point deadline)
{
    while (true) {
        size_t nl = buffer.find('\n');
        if (nl != std::string::npos) {
            std::string line = buffer.substr(0, nl);
            buffer.erase(0, nl + 1);
            return line;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return makeError(HCS_E_CONNECTION_TIMEOUT, "hcsd did not answer within 5 s");
        pollfd p{fd, POLLIN, 0};
        int n = poll(&p, 1, static_cast<int>(left));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) continue;
        char chunk[4096];
        ssize_t r = recv(fd, chunk, sizeof chunk, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return makeError(HCS_E_CONNECTION_CLOSED, "hcsd closed the connection during the handshake");
        buffer.append(chunk, static_cast<size_t>(r));
    }
}

// Greeting, then Hello. Returns bytes already read past the Hello reply (none in practice).
Result<std::string> handshake(int fd)
{
    auto deadline = Clock::now() + kHandshakeTimeout;
    std::string buffer;
    auto greetingLine = readLine(fd, buffer, deadline);
    if (!greetingLine) return greetingLine.error();
    auto greeting = protocol::decodeServerMessage(*greetingLine);
    if (!greeting || !std::holds_alternative<protocol::Greeting>(*greeting)) {
        return makeError(HCS_E_PROTOCOL_ERROR, "the socket did not greet like hcsd");
    }
    bool supported = false;
    for (uint32_t v : std::get<protocol::Greeting>(*greeting).protocols)
        supported |= v == protocol::kProtocolVersion;
    if (!supported) {
        return makeError(HCS_E_UNSUPPORTED_PROTOCOL_VERSION,
                         "hcsd does not speak protocol version " + std::to_string(protocol::kProtocolVersion));
    }
    auto line = protocol::encodeRequest(
        {0, protocol::Method::Hello,
         protocol::HelloParams{protocol::kProtocolVersion, "computecore pid " + std::to_string(getpid())}});
    if (!line) return line.error();
    if (Status st = writeAll(fd, *line); !st) return makeError(HCS_E_CONNECTION_CLOSED, st.error().message);
    auto replyLine = readLine(fd, buffer, deadline);
    if (!replyLine) return replyLine.error();
    auto reply = protocol::decodeServerMessage(*replyLine);
    if (!reply || !std::holds_alternative<protocol::Reply>(*reply)) {
        return makeError(HCS_E_PROTOCOL_ERROR, "hcsd did not answer Hello");
    }
    if (std::get<protocol::Reply>(*reply).hr != S_OK) {
        return makeError(std::get<protocol::Reply>(*reply).hr,
                         "hcsd refused Hello: " + std::get<protocol::Reply>(*reply).document);
    }
    return buffer;
}

// Lifecycle: constructed connected and negotiated -> the channel launches the reader thread -> replies
// and events flow -> EOF/error (or the channel being destroyed) -> every pending handler gets HCS_E_SERVICE_DISCONNECT,
// the event handler gets one ServiceDisconnect, send() fails from then on. The reader thread owns a
// shared_ptr to the Core, so the Core outlives it; the channel's destructor shuts the socket down and
// joins the reader (or detaches it when the last reference is dropped on the reader thread itself).
class Core {
public:
    Core(int fd, std::string pending) : fd_(fd), input_(std::move(pending))
    {
        // send() must not hang on an hcsd that stopped reading (e.g. SIGSTOPped): give up after 10 s.
        timeval timeout{10, 0};
        setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    }
    ~Core() { close(fd_); }

    bool disconnected()
    {
        std::lock_guard lock(mutex_);
        return disconnected_;
    }

    void setEventHandler(ServiceChannel::EventHandler handler)
    {
        std::lock_guard lock(mutex_);
        events_ = std::move(handler);
    }

    uint64_t send(protocol::Method method, protocol::Params params, ServiceChannel::ReplyHandler onReply)
    {
        uint64_t id;
        bool lost;
        {
            std::lock_guard lock(mutex_);
            id = nextId_++;
            lost = disconnected_;
            if (!lost) pending_[id] = std::move(onReply);
        }
        if (lost) {
            onReply(failedReply(HCS_E_SERVICE_DISCONNECT, "the connection to hcsd was lost"));
            return id;
        }
        auto line = protocol::encodeRequest({id, method, std::move(params)});
        Status written = line ? Status{} : Status(line.error());
        if (line) {
            std::lock_guard writeLock(writeMutex_);
            written = writeAll(fd_, *line);
            if (!written) {
                // A partial line would corrupt the stream: treat the connection as lost (the reader
                // then fails everything pending and reports ServiceDisconnect). Mark it lost now, not
                // when the reader gets there, so connectService() never hands this channel out again.
                {
                    std::lock_guard lock(mutex_);
                    disconnected_ = true;
                }
                ::shutdown(fd_, SHUT_RDWR);
                written = makeError(HCS_E_SERVICE_DISCONNECT, "cannot send to hcsd: " + written.error().message);
            }
        }
        if (!written) {
            ServiceChannel::ReplyHandler handler = take(id);
            if (handler) handler(failedReply(written.hr(), written.error().message));
        }
        return id;
    }

    void shutdownSocket() { ::shutdown(fd_, SHUT_RDWR); }

    void readLoop()
    {
        char chunk[65536];
        while (true) {
            size_t nl;
            bool inSync = true;
            while (inSync && (nl = input_.find('\n')) != std::string::npos) {
                std::string line = input_.substr(0, nl);
                input_.erase(0, nl + 1);
                inSync = dispatch(line);
            }
            if (!inSync || input_.size() > protocol::kMaxLineBytes) break;
            // Descriptors ride on the first byte of their line, so they are queued before the line ends.
            auto n = receiveWithDescriptors(fd_, chunk, descriptors_);
            if (!n) {
                HC_LOG(Warn, "hcs", "reading from hcsd failed: " + n.error().message);
                break;
            }
            if (*n == 0) break;
            input_.append(chunk, *n);
        }
        descriptors_.clear();
        disconnect();
    }

private:
    ServiceChannel::ReplyHandler take(uint64_t id)
    {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(id);
        if (it == pending_.end()) return nullptr;
        auto handler = std::move(it->second);
        pending_.erase(it);
        return handler;
    }

    // False when the stream lost sync with its descriptors (the connection is then dropped).
    bool dispatch(const std::string& line)
    {
        auto message = protocol::decodeServerMessage(line);
        if (!message) {
            HC_LOG(Warn, "hcs", "ignoring a malformed line from hcsd: " + message.error().message);
            return true;
        }
        if (auto* reply = std::get_if<protocol::Reply>(&*message)) {
            auto fds = descriptors_.take(reply->fdCount);
            if (!fds) {
                HC_LOG(Error, "hcs", "protocol error: reply " + std::to_string(reply->id) + ": " + fds.error().message);
                return false;
            }
            // A reply nobody waits for any more drops its descriptors here (closed).
            if (auto handler = take(reply->id))
                handler(ServiceReply{reply->hr, std::move(reply->document), std::move(*fds)});
            return true;
        }
        if (auto* event = std::get_if<protocol::Event>(&*message)) {
            ServiceEvent e{event->handle, eventType(event->name), std::move(event->data)};
            if (e.type == HcsEventInvalid) return true;  // an event this client does not know
            ServiceChannel::EventHandler handler;
            {
                std::lock_guard lock(mutex_);
                handler = events_;
            }
            if (handler) handler(e);
        }
        return true;
    }

    void disconnect()
    {
        std::map<uint64_t, ServiceChannel::ReplyHandler> pending;
        ServiceChannel::EventHandler handler;
        {
            std::lock_guard lock(mutex_);
            disconnected_ = true;
            pending.swap(pending_);
            handler = events_;
        }
        ::shutdown(fd_, SHUT_RDWR);
        for (auto& [id, h] : pending) {
            h(failedReply(HCS_E_SERVICE_DISCONNECT, "the connection to hcsd was lost"));
        }
        if (handler) handler(ServiceEvent{0, HcsEventServiceDisconnect, "{}"});
    }

    const int fd_;
    std::string input_;            // reader thread only
    DescriptorQueue descriptors_;  // reader thread only: received, not yet claimed by a reply
    std::mutex mutex_;             // pending_, events_, disconnected_, nextId_
    std::mutex writeMutex_;
    std::map<uint64_t, ServiceChannel::ReplyHandler> pending_;
    ServiceChannel::EventHandler events_;
    bool disconnected_ = false;
    uint64_t nextId_ = 1;
};

class UnixServiceChannel final : public ServiceChannel {
public:
    explicit UnixServiceChannel(std::shared_ptr<Core> core) : core_(std::move(core))
    {
        reader_ = std::thread([core = core_] { core->readLoop(); });
    }

    ~UnixServiceChannel() override
    {
        core_->shutdownSocket();
        if (reader_.get_id() == std::this_thread::get_id()) {
            reader_.detach();  // dropped from a handler; the thread finishes on its own Core reference
        } else {
            reader_.join();
        }
    }

    uint64_t send(protocol::Method method, protocol::Params params, ReplyHandler onReply) override
    {
        return core_->send(method, std::move(params), std::move(onReply));
    }

    void cancel(uint64_t requestId) override
    {
        core_->send(protocol::Method::Cancel, protocol::CancelParams{requestId}, [](ServiceReply) {});
    }

    void setEventHandler(EventHandler handler) override { core_->setEventHandler(std::move(handler)); }

    uint64_t newHandleNumber() override { return nextHandle_.fetch_add(1); }

    bool disconnected() const { return core_->disconnected(); }

private:
    std::shared_ptr<Core> core_;
    std::thread reader_;
    std::atomic<uint64_t> nextHandle_{1};
};

Result<std::shared_ptr<UnixServiceChannel>> connectAt(const std::string& path)
{
    auto fd = connectUnixSocket(path);
    if (!fd) return fd.error();
    // Nothing — not even Hello — goes to a daemon of another user (it could have taken the path).
    if (Status trusted = requireTrustedPeer(*fd, "the socket " + path); !trusted) {
        close(*fd);
        return trusted.error();
    }
    auto rest = handshake(*fd);
    if (!rest) {
        close(*fd);
        return rest.error();
    }
    return std::make_shared<UnixServiceChannel>(std::make_shared<Core>(*fd, std::move(*rest)));
}

}  // namespace

Result<std::shared_ptr<ServiceChannel>> connectService()
{
    static std::mutex mutex;
    static std::shared_ptr<UnixServiceChannel> current;
    std::lock_guard lock(mutex);
    if (current && !current->disconnected()) return std::shared_ptr<ServiceChannel>(current);
    current.reset();
    // Without HCS_SOCKET: the system instance when it is there and this user may use it (root or a
    // member of its group); a system socket nobody listens on (hcsd.socket stopped) falls through.
    if (std::getenv("HCS_SOCKET") == nullptr) {
        const std::string systemSocket = systemSocketPath();
        if (maySystemSocket(systemSocket)) {
            auto channel = connectAt(systemSocket);
            if (channel) {
                current = *channel;
                return std::shared_ptr<ServiceChannel>(current);
            }
            if (channel.error().hr == E_ACCESSDENIED) return channel.error();
            HC_LOG(Info, "hcs",
                   "the system hcsd at " + systemSocket + " does not answer (" + channel.error().message +
                       "): using a per-user hcsd");
        }
    }
    auto path = serviceSocketPath();
    if (!path) return makeError(HCS_E_SERVICE_NOT_AVAILABLE, "no safe hcsd socket path: " + path.error().message);
    auto channel = connectAt(*path);
    if (!channel) {
        HRESULT hr = channel.error().hr;
        if (hr == E_ACCESSDENIED) return channel.error();  // an impostor: never start another hcsd there
        bool nobodyListens = hr == hresultFromErrno(ENOENT) || hr == hresultFromErrno(ECONNREFUSED);
        if (!nobodyListens) {
            return makeError(HCS_E_SERVICE_NOT_AVAILABLE,
                             "cannot connect to hcsd at " + *path + ": " + channel.error().message);
        }
        if (Status st = prepareSocketDirectory(*path); !st)
            return makeError(HCS_E_SERVICE_NOT_AVAILABLE, "cannot start hcsd at " + *path + ": " + st.error().message);
        if (Status st = startPrivateHcsd(locateHcsd(), *path); !st) return st.error();
        channel = connectAt(*path);
        if (!channel) {
            if (channel.error().hr == E_ACCESSDENIED) return channel.error();
            return makeError(HCS_E_SERVICE_NOT_AVAILABLE,
                             "started hcsd but cannot connect to " + *path + ": " + channel.error().message);
        }
    }
    current = *channel;
    return std::shared_ptr<ServiceChannel>(current);
}

}  // namespace hc::hcs
