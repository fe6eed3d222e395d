#include "agent_core.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/hresult.h"
#include "hcs/guest/control_messages.h"
#include "process_launcher.h"

namespace hc::guest_agent {

using wire::FrameType;

const char* const kAgentCapabilities[] = {"exec", "pty", "signal", "resize", "user", "credit", nullptr};

namespace {

constexpr size_t kReadChunk = 32 * 1024;
// The staging pipe's size: 4 MiB where the agent may (root, CAP_SYS_RESOURCE), else the unprivileged
// maximum. Pages are only allocated while output waits in it.
constexpr int kStagingBytes[] = {4 << 20, 1 << 20};

std::string randomSession()
{
    unsigned char bytes[8] = {};
    // Early in boot the kernel's pool may not be ready; a session only has to differ between agent starts,
    // so take what the kernel has (GRND_INSECURE never blocks) and fall back to pid and time.
    if (getrandom(bytes, sizeof bytes, GRND_INSECURE) != static_cast<ssize_t>(sizeof bytes)) {
        uint64_t fallback = (static_cast<uint64_t>(getpid()) << 40) ^
                            static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
        for (int i = 0; i < 8; ++i)
            bytes[i] = static_cast<unsigned char>(fallback >> (8 * i));
    }
    char hex[17];
    for (int i = 0; i < 8; ++i)
        std::snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
    return std::string(hex, 16);
}

}  // namespace

AgentCore::AgentCore(EventLoop& loop, UniqueFd port, AgentOptions options)
    : loop_(loop), port_(std::move(port)), options_(std::move(options)), session_(randomSession())
{
    if (options_.splice) resetStaging();
    watchPort();
}

AgentCore::~AgentCore()
{
    if (pollTimer_) loop_.cancelTimer(pollTimer_);
    if (portWatched_) loop_.unwatchFd(port_.get());
    killAll();
}

void AgentCore::watchPort()
{
    pollTimer_ = 0;
    short events = POLLIN;
    // Before the host is there, POLLOUT is how the port says it connected.
    if (!connected_ || queuedBytes() > 0) events |= POLLOUT;
    if (portWatched_) {
        loop_.setFdEvents(port_.get(), events);
        return;
    }
    loop_.watchFd(port_.get(), events, [this](short revents) { onPort(revents); });
    portWatched_ = true;
}

void AgentCore::onPort(short revents)
{
    if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
        // With data still buffered from the host, read it first; HUP wins on the next round.
        if (connected_ && (revents & POLLIN)) readPort();
        hostGone();
        return;
    }
    if (!connected_ && (revents & POLLOUT)) {
        connected_ = true;
        sendHello();
    }
    if (revents & POLLIN) readPort();
    if (connected_ && (revents & POLLOUT)) flush();
}

void AgentCore::sendHello()
{
    wire::Hello hello;
    hello.agentVersion = options_.agentVersion;
    for (const char* const* c = kAgentCapabilities; *c; ++c)
        hello.capabilities.push_back(*c);
    hello.session = session_;
    lastHello_ = std::chrono::steady_clock::now();
    send(FrameType::Hello, 0, wire::encode(hello));
}

void AgentCore::hostGone()
{
    if (!connected_ && !portWatched_) return;
    connected_ = false;
    killAll();
    decoder_.reset();
    sendQueue_.clear();
    sendOffset_ = 0;
    if (stagingRead_.valid()) resetStaging();
    outputPaused_ = false;
    if (portWatched_) {
        loop_.unwatchFd(port_.get());
        portWatched_ = false;
    }
    if (options_.onHostGone) {
        loop_.post(options_.onHostGone);
        return;
    }
    // The port polls as HUP until a host connects: look again later instead of spinning.
    if (!pollTimer_) pollTimer_ = loop_.addTimer(options_.hostPollInterval, [this] { watchPort(); });
}

void AgentCore::readPort()
{
    char buffer[64 * 1024];
    for (int round = 0; round < 4; ++round) {
        ssize_t n = read(port_.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return;
            hostGone();
            return;
        }
        if (n == 0) {
            hostGone();
            return;
        }
        decoder_.append(buffer, static_cast<size_t>(n));
        wire::Frame frame;
        for (;;) {
            auto status = decoder_.next(frame);
            if (status == wire::FrameDecoder::Status::NeedMore) break;
            if (status == wire::FrameDecoder::Status::Error) {
                // The host is trusted; bytes out of step come from a host that reconnected mid-frame.
                std::fprintf(stderr, "hcs-guest: %s; resynchronizing\n", decoder_.error().c_str());
                decoder_.skipToMagic();
                continue;
            }
            handleFrame(frame);
            if (!connected_) return;
        }
        if (static_cast<size_t>(n) < sizeof buffer) return;
    }
}

void AgentCore::handleFrame(const wire::Frame& frame)
{
    uint32_t id = frame.header.id;
    auto it = processes_.find(id);
    Process* p = it == processes_.end() ? nullptr : it->second.get();
    auto requestId = [&](auto decoded) -> uint32_t { return decoded ? decoded->req : 0; };
    switch (frame.header.type) {
        case FrameType::HelloRequest: {
            // Requests the host repeated while the port was closed arrive together: one answer is enough.
            auto now = std::chrono::steady_clock::now();
            if (now - lastHello_ >= std::chrono::milliseconds(50)) sendHello();
            return;
        }
        case FrameType::CreateProcess:
            createProcess(id, frame.payload);
            return;
        case FrameType::Signal: {
            auto m = wire::decodeSignal(frame.payload);
            wire::Reply r{requestId(m ? &*m : nullptr), 0, {}, 0};
            if (!m) {
                r.hr = m.error().hr, r.message = m.error().message;
            } else if (!p || p->reaped) {
                r.hr = HCS_E_PROCESS_ALREADY_STOPPED, r.message = "the process has exited";
            } else if (m->signal < 1 || m->signal >= NSIG) {
                r.hr = E_INVALIDARG,
                r.message = "signal " + std::to_string(m->signal) + " is not a Linux signal number";
            } else if (kill(p->pid, m->signal) != 0) {
                Error e = lastErrnoError("kill");
                r.hr = e.hr, r.message = e.message;
            }
            reply(FrameType::Reply, id, r);
            return;
        }
        case FrameType::Resize: {
            auto m = wire::decodeResize(frame.payload);
            wire::Reply r{requestId(m ? &*m : nullptr), 0, {}, 0};
            if (!m) {
                r.hr = m.error().hr, r.message = m.error().message;
            } else if (!p || p->reaped) {
                r.hr = HCS_E_PROCESS_ALREADY_STOPPED, r.message = "the process has exited";
            } else if (!p->ptyMaster.valid()) {
                r.hr = E_INVALIDARG, r.message = "the process has no console";
            } else {
                winsize size{};
                size.ws_row = m->rows;
                size.ws_col = m->columns;
                if (ioctl(p->ptyMaster.get(), TIOCSWINSZ, &size) != 0) {
                    Error e = lastErrnoError("TIOCSWINSZ");
                    r.hr = e.hr, r.message = e.message;
                }
            }
            reply(FrameType::Reply, id, r);
            return;
        }
        case FrameType::CloseStdin: {
            auto m = wire::decodeCloseStdin(frame.payload);
            wire::Reply r{requestId(m ? &*m : nullptr), 0, {}, 0};
            if (!m) {
                r.hr = m.error().hr, r.message = m.error().message;
            } else if (!p) {
                r.hr = HCS_E_PROCESS_ALREADY_STOPPED, r.message = "the process has exited";
            } else {
                // What the host sent before this request still reaches the process, then EOF.
                p->in.eof = true;
                updateWatches(*p);
            }
            reply(FrameType::Reply, id, r);
            return;
        }
        case FrameType::Stdin: {
            if (!p || !p->in.fd.valid() || p->in.eof) return;  // crossed an Exited or a close on the wire
            if (frame.payload.empty()) p->in.eof = true;
            p->in.queue += frame.payload;
            updateWatches(*p);
            return;
        }
        case FrameType::StdoutCredit:
        case FrameType::StderrCredit: {
            auto credit = wire::decodeCredit(frame.payload);
            if (!p || !credit) return;
            OutStream& s = p->out[frame.header.type == FrameType::StdoutCredit ? 0 : 1];
            uint64_t total = static_cast<uint64_t>(s.credit) + *credit;
            s.credit = static_cast<uint32_t>(total > wire::kStreamWindow ? wire::kStreamWindow : total);
            updateWatches(*p);
            return;
        }
        default:
            std::fprintf(stderr, "hcs-guest: ignoring a %s frame from the host\n",
                         wire::frameTypeName(frame.header.type));
            return;
    }
}

void AgentCore::createProcess(uint32_t id, const std::string& payload)
{
    auto m = wire::decodeCreateProcess(payload);
    wire::Reply r;
    if (!m) {
        r.hr = m.error().hr, r.message = m.error().message;
        reply(FrameType::Reply, id, r);
        return;
    }
    r.req = m->req;
    if (processes_.count(id)) {
        r.hr = E_INVALIDARG, r.message = "process id " + std::to_string(id) + " is in use";
        reply(FrameType::Reply, id, r);
        return;
    }
    auto launched = launchProcess(*m, options_.passwdPath);
    if (!launched) {
        r.hr = launched.error().hr, r.message = launched.error().message;
        reply(FrameType::Reply, id, r);
        return;
    }
    auto p = std::make_unique<Process>();
    p->id = id;
    p->pid = launched->pid;
    p->pidfd = std::move(launched->pidfd);
    p->ptyMaster = std::move(launched->ptyMaster);
    p->in.fd = std::move(launched->stdinFd);
    p->out[0].fd = std::move(launched->stdoutFd);
    p->out[0].forward = m->stdoutPipe;
    p->out[1].fd = std::move(launched->stderrFd);
    p->out[1].forward = m->stderrPipe;
    if (!p->ptyMaster.valid()) {
        for (auto& s : p->out) {
            int size = s.fd.valid() ? fcntl(s.fd.get(), F_GETPIPE_SZ) : -1;
            if (size > 0) s.pipeSlots = static_cast<size_t>(size) / static_cast<size_t>(sysconf(_SC_PAGESIZE));
        }
    }
    r.pid = static_cast<uint32_t>(launched->pid);
    reply(FrameType::Reply, id, r);
    Process& ref = *p;
    processes_[id] = std::move(p);
    loop_.watchFd(ref.pidfd.get(), POLLIN, [this, id](short) { onReaped(id); });
    updateWatches(ref);
}

void AgentCore::reply(FrameType type, uint32_t id, const wire::Reply& r)
{
    send(type, id, wire::encode(r));
}

void AgentCore::send(FrameType type, uint32_t id, std::string_view payload)
{
    if (!connected_) return;
    wire::appendFrame(sendQueue_, type, id, payload);
    flush();
}

void AgentCore::resetStaging()
{
    stagingRead_.reset();
    stagingWrite_.reset();
    stagedBytes_ = 0;
    stagedSlots_ = 0;
    stagingSlots_ = 0;
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return;  // no staging: output is copied
    stagingRead_.reset(fds[0]);
    stagingWrite_.reset(fds[1]);
    for (int bytes : kStagingBytes) {
        if (fcntl(fds[1], F_SETPIPE_SZ, bytes) >= 0) break;
    }
    int size = fcntl(fds[1], F_GETPIPE_SZ);
    stagingSlots_ = size > 0 ? static_cast<size_t>(size) / static_cast<size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

void AgentCore::unstage()
{
    // The port cannot splice: what is staged goes back in front of sendQueue_, and output is copied from now on.
    std::string staged;
    char buffer[64 * 1024];
    for (ssize_t n; (n = read(stagingRead_.get(), buffer, sizeof buffer)) > 0;)
        staged.append(buffer, static_cast<size_t>(n));
    sendQueue_.insert(sendOffset_, staged);
    stagingRead_.reset();
    stagingWrite_.reset();
    stagedBytes_ = 0;
    stagedSlots_ = 0;
}

bool AgentCore::flushStaging()
{
    while (stagedBytes_ > 0) {
        ssize_t n =
            splice(stagingRead_.get(), nullptr, port_.get(), nullptr, stagedBytes_, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return false;
        if (n < 0 && errno == EINVAL) {
            std::fprintf(stderr, "hcs-guest: the port cannot splice; copying output instead\n");
            unstage();
            return true;
        }
        if (n <= 0) {
            // The host went away (as in flush()): drop what is staged; HUP follows.
            resetStaging();
            sendQueue_.clear();
            sendOffset_ = 0;
            return true;
        }
        stagedBytes_ -= static_cast<size_t>(n);
    }
    stagedSlots_ = 0;
    return true;
}

bool AgentCore::stageOutput(Process& p, int stream)
{
    OutStream& s = p.out[stream];
    if (!stagingWrite_.valid() || !s.forward || s.pipeSlots == 0 || s.credit == 0) return false;
    if (sendOffset_ < sendQueue_.size()) return false;                 // copied frames are ahead: keep the order
    if (stagedSlots_ + 1 + s.pipeSlots > stagingSlots_) return false;  // no guaranteed room for a whole frame
    int available = 0;
    if (ioctl(s.fd.get(), FIONREAD, &available) != 0 || available <= 0) return false;  // EOF is read() 's to see
    uint32_t length = std::min<uint32_t>({static_cast<uint32_t>(available), s.credit, wire::kMaxPayload});
    char header[wire::kHeaderSize];
    wire::storeHeader(header, stream == 0 ? FrameType::Stdout : FrameType::Stderr, p.id, length);
    if (write(stagingWrite_.get(), header, sizeof header) != static_cast<ssize_t>(sizeof header)) return false;
    size_t moved = 0;
    while (moved < length) {
        ssize_t n = splice(s.fd.get(), nullptr, stagingWrite_.get(), nullptr, length - moved,
                           SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        moved += static_cast<size_t>(n);
    }
    // The bytes were in the pipe and the staging pipe had room for them, so this does not happen; if it
    // did, the frame must still carry `length` bytes: copy the rest, or pad (and say so).
    char buffer[kReadChunk];
    while (moved < length) {
        ssize_t n = read(s.fd.get(), buffer, std::min<size_t>(sizeof buffer, length - moved));
        if (n <= 0) {
            std::fprintf(stderr, "hcs-guest: process %u lost %zu output bytes while staging\n", p.id, length - moved);
            n = static_cast<ssize_t>(std::min<size_t>(sizeof buffer, length - moved));
            std::memset(buffer, 0, static_cast<size_t>(n));
        }
        if (write(stagingWrite_.get(), buffer, static_cast<size_t>(n)) != n) {
            std::fprintf(stderr, "hcs-guest: the staging pipe is full mid-frame; resetting the connection\n");
            resetStaging();
            return true;
        }
        moved += static_cast<size_t>(n);
    }
    stagedBytes_ += sizeof header + length;
    stagedSlots_ += 1 + s.pipeSlots;
    splicedBytes_ += length;
    s.credit -= length;
    return true;
}

void AgentCore::flush()
{
    while (flushStaging() && sendOffset_ < sendQueue_.size()) {
        ssize_t n = write(port_.get(), sendQueue_.data() + sendOffset_, sendQueue_.size() - sendOffset_);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            // The host went away; the port reports HUP on the next round and hostGone() runs from
            // onPort (never from here, where a caller may hold a Process).
            sendQueue_.clear();
            sendOffset_ = 0;
            break;
        }
        sendOffset_ += static_cast<size_t>(n);
    }
    if (sendOffset_ == sendQueue_.size()) {
        sendQueue_.clear();
        sendOffset_ = 0;
    } else if (sendOffset_ > sendQueue_.size() / 2) {
        sendQueue_.erase(0, sendOffset_);
        sendOffset_ = 0;
    }
    if (portWatched_) watchPort();
    // Output reading pauses above the high water mark and resumes below half of it.
    bool pause = queuedBytes() >= options_.sendHighWater;
    bool resume = outputPaused_ && queuedBytes() < options_.sendHighWater / 2;
    if (pause && !outputPaused_) {
        outputPaused_ = true;
        for (auto& [id, p] : processes_)
            updateWatches(*p);
    } else if (resume) {
        outputPaused_ = false;
        for (auto& [id, p] : processes_)
            updateWatches(*p);
    }
}

void AgentCore::updateWatches(Process& p)
{
    uint32_t id = p.id;
    for (int stream = 0; stream < 2; ++stream) {
        OutStream& s = p.out[stream];
        if (!s.fd.valid()) continue;
        bool want = !outputPaused_ && (!s.forward || s.credit > 0);
        if (want && !s.watched) {
            loop_.watchFd(s.fd.get(), POLLIN, [this, id, stream](short) { onOutput(id, stream); });
        } else if (!want && s.watched) {
            loop_.unwatchFd(s.fd.get());
        }
        s.watched = want;
    }
    InStream& in = p.in;
    if (in.fd.valid()) {
        if (in.queue.empty() && in.eof) {
            closeInput(p);
            return;
        }
        bool want = !in.queue.empty();
        if (want && !in.watched) {
            loop_.watchFd(in.fd.get(), POLLOUT, [this, id](short) { onInput(id); });
        } else if (!want && in.watched) {
            loop_.unwatchFd(in.fd.get());
        }
        in.watched = want;
    }
}

void AgentCore::onOutput(uint32_t id, int stream)
{
    auto it = processes_.find(id);
    if (it == processes_.end()) return;
    Process& p = *it->second;
    OutStream& s = p.out[stream];
    if (connected_ && stageOutput(p, stream)) {
        flush();
        updateWatches(p);  // flush() never removes a process
        return;
    }
    size_t want = s.forward ? std::min<size_t>(s.credit, kReadChunk) : kReadChunk;
    if (want == 0) {
        updateWatches(p);
        return;
    }
    char buffer[kReadChunk];
    ssize_t n = read(s.fd.get(), buffer, want);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {  // EOF, or EIO from a pty master once every slave descriptor is closed
        closeOutput(p, stream);
        maybeFinish(id);
        return;
    }
    if (s.forward) {
        s.credit -= static_cast<uint32_t>(n);
        send(stream == 0 ? FrameType::Stdout : FrameType::Stderr, id, std::string_view(buffer, static_cast<size_t>(n)));
    }
    updateWatches(p);
}

void AgentCore::closeOutput(Process& p, int stream)
{
    OutStream& s = p.out[stream];
    if (!s.fd.valid()) return;
    if (s.watched) loop_.unwatchFd(s.fd.get());
    s.watched = false;
    s.fd.reset();
    if (s.forward) send(stream == 0 ? FrameType::Stdout : FrameType::Stderr, p.id, {});
}

void AgentCore::onInput(uint32_t id)
{
    auto it = processes_.find(id);
    if (it == processes_.end()) return;
    Process& p = *it->second;
    InStream& in = p.in;
    size_t written = 0;
    while (!in.queue.empty()) {
        ssize_t n = write(in.fd.get(), in.queue.data() + written, in.queue.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n < 0) {
            // EPIPE: the process closed its stdin. What the host sent is consumed (discarded).
            written = in.queue.size();
            in.eof = true;
            break;
        }
        written += static_cast<size_t>(n);
        if (written == in.queue.size()) break;
    }
    if (written > 0) {
        in.queue.erase(0, written);
        send(FrameType::StdinCredit, id, wire::encodeCredit(static_cast<uint32_t>(written)));
    }
    updateWatches(p);  // send() never removes a process
}

void AgentCore::closeInput(Process& p)
{
    InStream& in = p.in;
    if (!in.fd.valid()) return;
    if (in.watched) loop_.unwatchFd(in.fd.get());
    in.watched = false;
    // A console's stdin is the pty master, shared with its output: EOF is the terminal's EOF character.
    if (p.ptyMaster.valid() && !p.reaped) {
        char eof = 0x04;
        ssize_t ignored = write(in.fd.get(), &eof, 1);
        (void)ignored;
    }
    in.fd.reset();
    in.eof = true;
    size_t discarded = in.queue.size();
    in.queue.clear();
    // Discarded bytes are consumed too: the host's window must not stay short.
    if (discarded > 0) send(FrameType::StdinCredit, p.id, wire::encodeCredit(static_cast<uint32_t>(discarded)));
}

void AgentCore::onReaped(uint32_t id)
{
    auto it = processes_.find(id);
    if (it == processes_.end()) return;
    Process& p = *it->second;
    int status = 0;
    pid_t r = waitpid(p.pid, &status, WNOHANG);
    if (r == 0) return;
    loop_.unwatchFd(p.pidfd.get());
    p.pidfd.reset();
    p.reaped = true;
    if (r < 0) {
        p.exit.exitCode = -1;
    } else if (WIFSIGNALED(status)) {
        p.exit.exitCode = 128 + WTERMSIG(status);
        p.exit.signal = WTERMSIG(status);
    } else {
        p.exit.exitCode = WEXITSTATUS(status);
    }
    maybeFinish(id);
}

void AgentCore::maybeFinish(uint32_t id)
{
    auto it = processes_.find(id);
    if (it == processes_.end()) return;
    Process& p = *it->second;
    if (!p.reaped || p.out[0].fd.valid() || p.out[1].fd.valid()) return;
    // Both EOF frames are already queued ahead of this one: output before exit, on one ordered stream.
    closeInput(p);
    send(FrameType::Exited, id, wire::encode(p.exit));
    processes_.erase(it);
}

void AgentCore::killAll()
{
    for (auto& [id, p] : processes_) {
        for (auto& s : p->out) {
            if (s.watched) loop_.unwatchFd(s.fd.get());
        }
        if (p->in.watched) loop_.unwatchFd(p->in.fd.get());
        if (!p->reaped) {
            loop_.unwatchFd(p->pidfd.get());
            kill(p->pid, SIGKILL);
            waitpid(p->pid, nullptr, 0);
        }
    }
    processes_.clear();
}

}  // namespace hc::guest_agent
