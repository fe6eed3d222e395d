#include "hcs/guest/agent_channel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/hresult.h"
#include "base/log.h"
#include "hcs/guest/control_messages.h"

namespace hc::hcs::guest {

using wire::FrameType;

namespace {

constexpr const char* kLog = "guest-channel";

void setNonBlocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && !(flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

bool isSocket(int fd)
{
    struct stat st {};
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

std::string ms(std::chrono::milliseconds d)
{
    return std::to_string(d.count()) + " ms";
}

}  // namespace

struct AgentChannel::Impl {
    enum class State { Connecting, Handshake, Ready };
    enum class ProcState { Queued, Creating, Running };

    // One output stream (stdout or stderr) on the host: the agent may send `allowance` more bytes;
    // what it sent waits in `buffer` until the sink takes it; `toGrant` bytes were drained and not yet
    // granted back.
    struct OutStream {
        bool requested = false;
        UniqueFd sink;
        bool sinkIsSocket = false;
        bool eof = false;
        bool watched = false;
        std::string buffer;
        size_t offset = 0;
        uint32_t allowance = 0;
        uint32_t toGrant = 0;
        size_t pending() const { return buffer.size() - offset; }
        bool finished() const { return !requested || (eof && pending() == 0); }
    };
    // stdin on the host: `credit` bytes may still be sent; `unacked` were sent and not yet credited back.
    struct InStream {
        UniqueFd source;
        bool watched = false;
        uint32_t credit = 0;
        uint32_t unacked = 0;
    };
    struct Process {
        uint32_t id = 0;
        ProcState state = ProcState::Queued;
        ProcessSpec spec;
        ProcessCallbacks callbacks;
        uint32_t pid = 0;
        uint64_t connectTimer = 0;
        InStream in;
        OutStream out[2];
        std::optional<ProcessExit> exit;
    };
    struct PendingRequest {
        uint32_t processId = 0;
        const char* what = "";
        uint64_t timer = 0;
        std::function<void(Result<wire::Reply>)> done;
    };

    Impl(AgentChannel& owner, EventLoop& loop, ChannelOptions options, ChannelCallbacks callbacks, ChannelLimits limits)
        : owner(owner),
          loop(loop),
          options(std::move(options)),
          callbacks(std::move(callbacks)),
          limits(limits),
          decoder(limits.maxPayload),
          alive(std::make_shared<bool>(true))
    {
        tryConnect();
    }

    ~Impl()
    {
        *alive = false;
        closeSocket();
        if (retryTimer) loop.cancelTimer(retryTimer);
        for (auto& [id, p] : processes)
            forgetProcess(*p);
        for (auto& [req, r] : pending)
            loop.cancelTimer(r.timer);
    }

    AgentChannel& owner;
    EventLoop& loop;
    ChannelOptions options;
    ChannelCallbacks callbacks;
    ChannelLimits limits;
    wire::FrameDecoder decoder;
    std::shared_ptr<bool> alive;

    State state = State::Connecting;
    UniqueFd socket;
    bool socketWatched = false;
    uint64_t retryTimer = 0;  // reconnect (Connecting) or hello resend (Handshake)
    std::string sendQueue;
    size_t sendOffset = 0;
    size_t junk = 0;
    std::optional<AgentInfo> agentInfo;
    std::string session;
    EventLoop::Clock::time_point unsolicitedWindow{};
    uint32_t unsolicitedCount = 0;

    uint32_t nextProcessId = 1;
    uint32_t nextRequest = 1;
    std::map<uint32_t, std::unique_ptr<Process>> processes;  // by the host's process id
    std::map<uint32_t, uint32_t> byPid;                      // guest pid -> host id, Running only
    std::map<uint32_t, PendingRequest> pending;              // by request id

    // ---- callbacks to the owner: always posted, never run after the channel is gone ----
    void deliver(std::function<void()> call)
    {
        std::weak_ptr<bool> token = alive;
        loop.post([token, call = std::move(call)] {
            if (auto live = token.lock(); live && *live) call();
        });
    }

    // ---- connection ----
    void scheduleRetry(std::chrono::milliseconds delay)
    {
        if (retryTimer) loop.cancelTimer(retryTimer);
        retryTimer = loop.addTimer(delay, [this] {
            retryTimer = 0;
            if (state == State::Connecting)
                tryConnect();
            else if (state == State::Handshake)
                sendHelloRequest();
        });
    }

    void tryConnect()
    {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (options.socketPath.empty() || options.socketPath.size() >= sizeof addr.sun_path) {
            HC_LOG(Error, kLog, "agent socket path '" + options.socketPath + "' is empty or too long");
            return;  // nothing will ever connect: createProcess times out
        }
        std::memcpy(addr.sun_path, options.socketPath.data(), options.socketPath.size());
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd.valid() || connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            scheduleRetry(limits.reconnectDelay);  // QEMU not listening yet (or the VM is gone)
            return;
        }
        socket = std::move(fd);
        state = State::Handshake;
        ++owner.stats_.connects;
        decoder.reset();
        junk = 0;
        session.clear();
        unsolicitedCount = 0;
        unsolicitedWindow = EventLoop::Clock::now();
        loop.watchFd(socket.get(), POLLIN, [this](short revents) { onSocket(revents); });
        socketWatched = true;
        sendHelloRequest();
    }

    void sendHelloRequest()
    {
        // Only when nothing is queued: a port nobody reads yet must not collect requests.
        if (sendOffset == sendQueue.size()) {
            wire::HelloRequest hello;
            hello.hostVersion = "hostcompute";
            send(FrameType::HelloRequest, 0, wire::encode(hello));
        }
        scheduleRetry(limits.helloInterval);
    }

    void closeSocket()
    {
        if (socketWatched) loop.unwatchFd(socket.get());
        socketWatched = false;
        socket.reset();
        sendQueue.clear();
        sendOffset = 0;
    }

    // Ends the connection: every sent request and started process fails with `error`; processes not
    // yet sent keep waiting for the next agent (within their connect timeout).
    void disconnect(const Error& error, bool violation)
    {
        if (state == State::Connecting) return;
        HC_LOG(Warn, kLog, options.socketPath + ": " + error.message);
        bool wasReady = state == State::Ready;
        closeSocket();
        state = State::Connecting;
        agentInfo.reset();
        ++owner.stats_.disconnects;
        if (violation) ++owner.stats_.violations;
        failAgentWork(error);
        if (wasReady || violation) {
            if (callbacks.onDisconnected) deliver([cb = callbacks.onDisconnected, error] { cb(error); });
        }
        scheduleRetry(limits.reconnectDelay);
    }

    void violation(const std::string& what)
    {
        disconnect(makeError(HCS_E_CONNECTION_CLOSED, "guest agent protocol violation: " + what), true);
    }

    void failAgentWork(const Error& error)
    {
        auto requests = std::move(pending);
        pending.clear();
        for (auto& [req, r] : requests) {
            loop.cancelTimer(r.timer);
            r.done(error);
        }
        std::vector<uint32_t> ended;
        for (auto& [id, p] : processes) {
            if (p->state != ProcState::Queued) ended.push_back(id);
        }
        for (uint32_t id : ended) {
            auto it = processes.find(id);
            Process& p = *it->second;
            if (p.state == ProcState::Creating) {
                deliver([cb = p.callbacks.started, error] { cb(error); });
            } else {
                ProcessExit exit;
                exit.error = error;
                deliver([cb = p.callbacks.exited, exit] { cb(exit); });
            }
            forgetProcess(p);
            processes.erase(it);
        }
    }

    // ---- sending ----
    void send(FrameType type, uint32_t id, std::string_view payload)
    {
        if (!socket.valid()) return;
        wire::appendFrame(sendQueue, type, id, payload);
        ++owner.stats_.framesOut;
        flush();
    }

    void flush()
    {
        while (sendOffset < sendQueue.size()) {
            ssize_t n = ::send(socket.get(), sendQueue.data() + sendOffset, sendQueue.size() - sendOffset,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                if (errno == EAGAIN) break;
                // Reported by the next poll as HUP/ERR (disconnect runs from onSocket, not from here).
                sendQueue.clear();
                sendOffset = 0;
                return;
            }
            sendOffset += static_cast<size_t>(n);
            owner.stats_.bytesOut += static_cast<uint64_t>(n);
        }
        if (sendOffset == sendQueue.size()) {
            sendQueue.clear();
            sendOffset = 0;
        } else if (sendOffset > sendQueue.size() / 2) {
            sendQueue.erase(0, sendOffset);
            sendOffset = 0;
        }
        if (socketWatched) loop.setFdEvents(socket.get(), POLLIN | (sendQueue.empty() ? 0 : POLLOUT));
    }

    // ---- receiving ----
    void onSocket(short revents)
    {
        if (revents & POLLOUT) {
            flush();
            if (sendQueue.size() - sendOffset > limits.maxSendQueue) {
                disconnect(makeError(HCS_E_CONNECTION_CLOSED, "the guest agent stopped reading its port"), true);
                return;
            }
        }
        if (revents & (POLLIN | POLLHUP | POLLERR)) readSocket();
    }

    void readSocket()
    {
        char buffer[64 * 1024];
        size_t budget = limits.readBudget;
        while (budget > 0 && state != State::Connecting) {
            ssize_t n = ::recv(socket.get(), buffer, std::min(sizeof buffer, budget), MSG_DONTWAIT);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return;
            if (n <= 0) {
                disconnect(makeError(HCS_E_CONNECTION_CLOSED,
                                     n == 0 ? "the guest agent's socket closed (the VM exited?)"
                                            : "reading the guest agent's socket: " + std::string(std::strerror(errno))),
                           false);
                return;
            }
            budget -= static_cast<size_t>(n);
            owner.stats_.bytesIn += static_cast<uint64_t>(n);
            decoder.append(buffer, static_cast<size_t>(n));
            if (!drainFrames()) return;
        }
    }

    // Returns false once the connection was dropped.
    bool drainFrames()
    {
        wire::Frame frame;
        for (;;) {
            auto status = decoder.next(frame);
            if (status == wire::FrameDecoder::Status::NeedMore) {
                if (state == State::Handshake && junk + decoder.buffered() > limits.maxJunkBeforeHello) {
                    violation("more than " + std::to_string(limits.maxJunkBeforeHello) + " bytes before a Hello");
                    return false;
                }
                return true;
            }
            if (status == wire::FrameDecoder::Status::Error) {
                if (state == State::Handshake) {
                    // Leftovers of an earlier connection, or an agent that starts mid-frame: skip to a frame.
                    std::string last = decoder.error();
                    junk += decoder.skipToMagic();
                    if (junk > limits.maxJunkBeforeHello) {
                        violation("more than " + std::to_string(limits.maxJunkBeforeHello) +
                                  " bytes that are not frames before a Hello (last: " + last + ")");
                        return false;
                    }
                    continue;
                }
                violation(decoder.error());
                return false;
            }
            ++owner.stats_.framesIn;
            if (!handleFrame(frame)) return false;
        }
    }

    bool handleFrame(const wire::Frame& frame)
    {
        if (state == State::Handshake && frame.header.type != FrameType::Hello) {
            junk += wire::kHeaderSize + frame.payload.size();  // frames of an earlier connection
            return true;
        }
        switch (frame.header.type) {
            case FrameType::Hello:
                return onHello(frame);
            case FrameType::Reply:
                return onReply(frame);
            case FrameType::Exited:
                return onExited(frame);
            case FrameType::Stdout:
                return onOutput(frame, 0);
            case FrameType::Stderr:
                return onOutput(frame, 1);
            case FrameType::StdinCredit:
                return onStdinCredit(frame);
            default:
                violation(std::string("the agent sent a ") + wire::frameTypeName(frame.header.type) +
                          " frame, which only the host sends");
                return false;
        }
    }

    bool unsolicited(const char* what)
    {
        auto now = EventLoop::Clock::now();
        if (now - unsolicitedWindow >= std::chrono::seconds(1)) {
            unsolicitedWindow = now;
            unsolicitedCount = 0;
        }
        if (++unsolicitedCount > limits.maxUnsolicitedPerSecond) {
            violation(std::string("more than ") + std::to_string(limits.maxUnsolicitedPerSecond) + " unrequested " +
                      what + " frames in one second");
            return false;
        }
        return true;
    }

    bool onHello(const wire::Frame& frame)
    {
        if (!unsolicited("Hello")) return false;
        auto hello = wire::decodeHello(frame.payload);
        if (!hello) {
            violation(hello.error().message);
            return false;
        }
        if (hello->protocolVersion != wire::kProtocolVersion) {
            violation("the agent speaks protocol version " + std::to_string(hello->protocolVersion) +
                      ", this host speaks " + std::to_string(wire::kProtocolVersion));
            return false;
        }
        if (hello->agentVersion.size() > 256 || hello->capabilities.size() > 64) {
            violation("Hello's agentVersion or capabilities are too large");
            return false;
        }
        if (state == State::Ready && hello->session == session) return true;  // an answer to a repeated request
        if (state == State::Ready) {
            // The agent restarted on the same connection: what the old one ran is gone.
            failAgentWork(
                makeError(HCS_E_CONNECTION_CLOSED, "the guest agent restarted; the process's fate is unknown"));
        }
        if (retryTimer) loop.cancelTimer(retryTimer);
        retryTimer = 0;
        state = State::Ready;
        session = hello->session;
        ++owner.stats_.hellos;
        AgentInfo info{hello->protocolVersion, hello->agentVersion, hello->capabilities};
        agentInfo = info;
        if (callbacks.onConnected) deliver([cb = callbacks.onConnected, info] { cb(info); });
        std::vector<uint32_t> queued;
        for (auto& [id, p] : processes) {
            if (p->state == ProcState::Queued) queued.push_back(id);
        }
        for (uint32_t id : queued)
            sendCreate(*processes[id]);
        return true;
    }

    bool onReply(const wire::Frame& frame)
    {
        auto reply = wire::decodeReply(frame.payload);
        if (!reply) {
            violation(reply.error().message);
            return false;
        }
        auto it = pending.find(reply->req);
        if (it == pending.end() || it->second.processId != frame.header.id) {
            violation("a Reply to request " + std::to_string(reply->req) + ", which is not outstanding");
            return false;
        }
        if (reply->message.size() > 4096) reply->message.resize(4096);
        PendingRequest r = std::move(it->second);
        pending.erase(it);
        loop.cancelTimer(r.timer);
        r.done(std::move(reply.value()));
        return state != State::Connecting;
    }

    Process* running(uint32_t id, const char* what)
    {
        auto it = processes.find(id);
        if (it == processes.end() || it->second->state != ProcState::Running || it->second->exit) {
            violation(std::string(what) + " for process id " + std::to_string(id) + ", which is not running");
            return nullptr;
        }
        return it->second.get();
    }

    bool onExited(const wire::Frame& frame)
    {
        auto m = wire::decodeExited(frame.payload);
        if (!m) {
            violation(m.error().message);
            return false;
        }
        Process* p = running(frame.header.id, "Exited");
        if (!p) return false;
        ProcessExit exit;
        exit.exitCode = m->exitCode;
        exit.signal = m->signal;
        p->exit = exit;
        closeInput(*p);
        maybeFinish(p->id);
        return true;
    }

    bool onOutput(const wire::Frame& frame, int stream)
    {
        const char* name = stream == 0 ? "Stdout" : "Stderr";
        Process* p = running(frame.header.id, name);
        if (!p) return false;
        OutStream& s = p->out[stream];
        if (!s.requested || s.eof) {
            violation(std::string(name) + " data for process " + std::to_string(p->id) +
                      (s.eof ? " after its EOF" : ", which did not ask for it"));
            return false;
        }
        if (frame.payload.empty()) {
            s.eof = true;
            writeSink(*p, stream);
            maybeFinish(p->id);
            return true;
        }
        if (frame.payload.size() > s.allowance) {
            violation(std::string(name) + " of process " + std::to_string(p->id) + " sent " +
                      std::to_string(frame.payload.size()) + " bytes with a credit of " + std::to_string(s.allowance));
            return false;
        }
        s.allowance -= static_cast<uint32_t>(frame.payload.size());
        if (!s.sink.valid()) {  // the host end was closed: discard, and keep the window open
            s.toGrant += static_cast<uint32_t>(frame.payload.size());
            grant(*p, stream, true);
            return true;
        }
        s.buffer.append(frame.payload);
        owner.stats_.maxBufferedOutput = std::max(owner.stats_.maxBufferedOutput, s.pending());
        writeSink(*p, stream);
        return true;
    }

    bool onStdinCredit(const wire::Frame& frame)
    {
        auto credit = wire::decodeCredit(frame.payload);
        auto it = processes.find(frame.header.id);
        if (!credit || it == processes.end() || *credit > it->second->in.unacked) {
            violation("a StdinCredit for process " + std::to_string(frame.header.id) +
                      " that does not match the stdin bytes sent");
            return false;
        }
        InStream& in = it->second->in;
        in.unacked -= *credit;
        in.credit += *credit;
        updateInput(*it->second);
        return true;
    }

    // ---- per-process stdio ----
    void grant(Process& p, int stream, bool force)
    {
        OutStream& s = p.out[stream];
        if (s.toGrant == 0 || s.eof) return;
        // Batch grants: a quarter window at a time, or everything once the buffer is empty.
        if (!force && s.toGrant < limits.streamWindow / 4 && s.pending() > 0) return;
        send(stream == 0 ? FrameType::StdoutCredit : FrameType::StderrCredit, p.id, wire::encodeCredit(s.toGrant));
        s.allowance += s.toGrant;
        s.toGrant = 0;
    }

    void writeSink(Process& p, int stream)
    {
        OutStream& s = p.out[stream];
        while (s.pending() > 0 && s.sink.valid()) {
            ssize_t n = s.sinkIsSocket
                            ? ::send(s.sink.get(), s.buffer.data() + s.offset, s.pending(), MSG_NOSIGNAL | MSG_DONTWAIT)
                            : ::write(s.sink.get(), s.buffer.data() + s.offset, s.pending());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) break;
            if (n < 0) {
                // The reader closed its end (EPIPE) or the sink broke: discard this stream from now on;
                // the guest process keeps running and its output is credited as if read.
                s.toGrant += static_cast<uint32_t>(s.pending());
                s.buffer.clear();
                s.offset = 0;
                if (s.watched) loop.unwatchFd(s.sink.get());
                s.watched = false;
                s.sink.reset();
                break;
            }
            s.offset += static_cast<size_t>(n);
            s.toGrant += static_cast<uint32_t>(n);
        }
        if (s.pending() == 0) {
            s.buffer.clear();
            s.offset = 0;
        }
        bool want = s.sink.valid() && s.pending() > 0;
        if (want && !s.watched) {
            uint32_t id = p.id;
            loop.watchFd(s.sink.get(), POLLOUT, [this, id, stream](short) {
                auto it = processes.find(id);
                if (it == processes.end()) return;
                writeSink(*it->second, stream);
                maybeFinish(id);
            });
        } else if (!want && s.watched) {
            loop.unwatchFd(s.sink.get());
        }
        s.watched = want;
        grant(p, stream, false);
        if (s.eof && s.pending() == 0 && s.sink.valid()) s.sink.reset();  // EOF reaches the reader
    }

    void updateInput(Process& p)
    {
        InStream& in = p.in;
        if (!in.source.valid()) return;
        bool want = in.credit > 0 && state == State::Ready;
        if (want && !in.watched) {
            uint32_t id = p.id;
            loop.watchFd(in.source.get(), POLLIN, [this, id](short) { readInput(id); });
        } else if (!want && in.watched) {
            loop.unwatchFd(in.source.get());
        }
        in.watched = want;
    }

    void readInput(uint32_t id)
    {
        auto it = processes.find(id);
        if (it == processes.end()) return;
        Process& p = *it->second;
        InStream& in = p.in;
        if (!in.source.valid() || in.credit == 0) return;
        char buffer[64 * 1024];
        size_t want = std::min<size_t>({sizeof buffer, in.credit, limits.maxPayload});
        ssize_t n = ::read(in.source.get(), buffer, want);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {
            send(FrameType::Stdin, id, {});  // EOF
            closeInput(p);
            return;
        }
        in.credit -= static_cast<uint32_t>(n);
        in.unacked += static_cast<uint32_t>(n);
        send(FrameType::Stdin, id, std::string_view(buffer, static_cast<size_t>(n)));
        updateInput(p);
    }

    void closeInput(Process& p)
    {
        if (p.in.watched) loop.unwatchFd(p.in.source.get());
        p.in.watched = false;
        p.in.source.reset();
    }

    void maybeFinish(uint32_t id)
    {
        auto it = processes.find(id);
        if (it == processes.end()) return;
        Process& p = *it->second;
        if (!p.exit || !p.out[0].finished() || !p.out[1].finished()) return;
        deliver([cb = p.callbacks.exited, exit = *p.exit] { cb(exit); });
        forgetProcess(p);
        processes.erase(it);
    }

    void forgetProcess(Process& p)
    {
        if (p.connectTimer) loop.cancelTimer(p.connectTimer);
        p.connectTimer = 0;
        closeInput(p);
        for (auto& s : p.out) {
            if (s.watched) loop.unwatchFd(s.sink.get());
            s.watched = false;
            s.sink.reset();
        }
        if (p.pid) byPid.erase(p.pid);
    }

    // ---- requests ----
    void request(FrameType type, uint32_t processId, const char* what, std::string payload, uint32_t req,
                 std::function<void(Result<wire::Reply>)> done)
    {
        PendingRequest r;
        r.processId = processId;
        r.what = what;
        r.done = std::move(done);
        r.timer = loop.addTimer(options.replyTimeout, [this, req, what] {
            auto it = pending.find(req);
            if (it == pending.end()) return;
            it->second.timer = 0;
            disconnect(makeError(HCS_E_CONNECTION_TIMEOUT, std::string("the guest agent did not answer ") + what +
                                                               " within " + ms(options.replyTimeout)),
                       true);
        });
        pending[req] = std::move(r);
        send(type, processId, payload);
    }

    void sendCreate(Process& p)
    {
        if (p.connectTimer) loop.cancelTimer(p.connectTimer);
        p.connectTimer = 0;
        p.state = ProcState::Creating;
        wire::CreateProcessRequest m;
        m.req = nextRequest++;
        m.argv = p.spec.argv;
        m.workingDirectory = p.spec.workingDirectory;
        m.environment = p.spec.environment;
        m.user = p.spec.user;
        m.console = p.spec.console;
        m.rows = p.spec.consoleRows;
        m.columns = p.spec.consoleColumns;
        m.stdinPipe = p.in.source.valid();
        m.stdoutPipe = p.out[0].requested;
        m.stderrPipe = p.out[1].requested;
        uint32_t id = p.id;
        request(FrameType::CreateProcess, id, "CreateProcess", wire::encode(m), m.req,
                [this, id](Result<wire::Reply> reply) { onCreated(id, std::move(reply)); });
    }

    void onCreated(uint32_t id, Result<wire::Reply> reply)
    {
        auto it = processes.find(id);
        if (it == processes.end()) return;
        Process& p = *it->second;
        Error error;
        if (!reply)
            error = reply.error();
        else if (reply->hr != S_OK)
            error = makeError(reply->hr, reply->message);
        else if (reply->pid == 0 || byPid.count(reply->pid)) {
            violation("CreateProcess answered with pid " + std::to_string(reply->pid) + ", which is not a new pid");
            return;  // the violation failed this process too
        }
        if (!reply || reply->hr != S_OK) {
            deliver([cb = p.callbacks.started, error] { cb(error); });
            forgetProcess(p);
            processes.erase(it);
            return;
        }
        p.state = ProcState::Running;
        p.pid = reply->pid;
        byPid[p.pid] = id;
        deliver([cb = p.callbacks.started, pid = p.pid] { cb(pid); });
        updateInput(p);
    }

    Process* byGuestPid(uint32_t pid)
    {
        auto it = byPid.find(pid);
        if (it == byPid.end()) return nullptr;
        auto p = processes.find(it->second);
        return p == processes.end() ? nullptr : p->second.get();
    }

    void simpleRequest(uint32_t pid, FrameType type, const char* what,
                       const std::function<std::string(uint32_t)>& encode, CompletionHandler done)
    {
        Process* p = byGuestPid(pid);
        if (!p || p->exit) {
            deliver([done, pid] {
                done(makeError(HCS_E_PROCESS_ALREADY_STOPPED, "process " + std::to_string(pid) + " has exited"));
            });
            return;
        }
        uint32_t req = nextRequest++;
        request(type, p->id, what, encode(req), req, [this, done](Result<wire::Reply> reply) {
            Status status;
            if (!reply)
                status = reply.error();
            else if (reply->hr != S_OK)
                status = makeError(reply->hr, reply->message);
            deliver([done, status] { done(status); });
        });
    }
};

AgentChannel::AgentChannel(EventLoop& loop, ChannelOptions options, ChannelCallbacks callbacks, ChannelLimits limits)
{
    impl_ = std::make_unique<Impl>(*this, loop, std::move(options), std::move(callbacks), limits);
}

AgentChannel::~AgentChannel() = default;

std::optional<AgentInfo> AgentChannel::agent() const
{
    return impl_->agentInfo;
}

void AgentChannel::createProcess(ProcessSpec spec, StdioEnds ends, ProcessCallbacks callbacks)
{
    Impl& d = *impl_;
    if (spec.argv.empty() || spec.argv[0].empty()) {
        d.deliver([cb = callbacks.started] { cb(makeError(E_INVALIDARG, "the process has no argv[0]")); });
        return;
    }
    auto p = std::make_unique<Impl::Process>();
    p->id = d.nextProcessId++;
    p->spec = std::move(spec);
    p->callbacks = std::move(callbacks);
    p->in.source = std::move(ends.stdinSource);
    p->in.credit = d.limits.streamWindow;
    if (p->in.source.valid()) setNonBlocking(p->in.source.get());
    UniqueFd* sinks[2] = {&ends.stdoutSink, &ends.stderrSink};
    for (int i = 0; i < 2; ++i) {
        Impl::OutStream& s = p->out[i];
        s.requested = sinks[i]->valid() && !(i == 1 && p->spec.console);  // a console has no stderr
        s.allowance = d.limits.streamWindow;
        if (s.requested) {
            s.sink = std::move(*sinks[i]);
            setNonBlocking(s.sink.get());
            s.sinkIsSocket = isSocket(s.sink.get());
        }
    }
    Impl::Process& ref = *p;
    uint32_t id = p->id;
    d.processes[id] = std::move(p);
    if (d.state == Impl::State::Ready) {
        d.sendCreate(ref);
        return;
    }
    ref.connectTimer = d.loop.addTimer(d.options.connectTimeout, [&d, id] {
        auto it = d.processes.find(id);
        if (it == d.processes.end()) return;
        it->second->connectTimer = 0;
        Error error = makeError(HCS_E_CONNECTION_TIMEOUT, "no guest agent answered on " + d.options.socketPath +
                                                              " within " + ms(d.options.connectTimeout));
        d.deliver([cb = it->second->callbacks.started, error] { cb(error); });
        d.forgetProcess(*it->second);
        d.processes.erase(it);
    });
}

void AgentChannel::signalProcess(uint32_t pid, int signal, CompletionHandler done)
{
    impl_->simpleRequest(
        pid, FrameType::Signal, "Signal",
        [signal](uint32_t req) {
            return wire::encode(wire::SignalRequest{req, signal});
        },
        std::move(done));
}

void AgentChannel::closeStdin(uint32_t pid, CompletionHandler done)
{
    Impl::Process* p = impl_->byGuestPid(pid);
    if (p) impl_->closeInput(*p);
    impl_->simpleRequest(
        pid, FrameType::CloseStdin, "CloseStdin",
        [](uint32_t req) { return wire::encode(wire::CloseStdinRequest{req}); }, std::move(done));
}

void AgentChannel::resizeConsole(uint32_t pid, uint16_t rows, uint16_t columns, CompletionHandler done)
{
    Impl::Process* p = impl_->byGuestPid(pid);
    if (p && !p->spec.console) {
        impl_->deliver([done] { done(makeError(E_INVALIDARG, "the process has no console (EmulateConsole)")); });
        return;
    }
    impl_->simpleRequest(
        pid, FrameType::Resize, "Resize",
        [rows, columns](uint32_t req) {
            return wire::encode(wire::ResizeRequest{req, rows, columns});
        },
        std::move(done));
}

std::unique_ptr<GuestChannel> AgentChannelFactory::open(EventLoop& loop, const ChannelOptions& options,
                                                        ChannelCallbacks callbacks)
{
    return std::make_unique<AgentChannel>(loop, options, std::move(callbacks), limits_);
}

}  // namespace hc::hcs::guest
