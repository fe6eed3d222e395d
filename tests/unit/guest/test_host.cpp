#include "test_host.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

namespace guest_test {

bool runUntil(hc::EventLoop& loop, const std::function<bool()>& done, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        loop.runOnce(20ms);
    }
    return true;
}

void writeAll(int fd, const std::string& data)
{
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = write(fd, data.data() + off, data.size() - off);
        if (n > 0) {
            off += static_cast<size_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            pollfd p{fd, POLLOUT, 0};
            poll(&p, 1, 100);
        } else {
            throw std::runtime_error(std::string("write: ") + std::strerror(errno));
        }
    }
}

RawHost::RawHost(hc::EventLoop& loop, hc::UniqueFd fd) : loop_(loop), fd_(std::move(fd))
{
    fcntl(fd_.get(), F_SETFL, fcntl(fd_.get(), F_GETFL) | O_NONBLOCK);
    loop_.watchFd(fd_.get(), POLLIN, [this](short revents) { onEvents(revents); });
}

RawHost::~RawHost()
{
    loop_.unwatchFd(fd_.get());
}

void RawHost::setReading(bool on)
{
    reading = on;
    updateEvents();
}

void RawHost::updateEvents()
{
    short events = static_cast<short>((reading ? POLLIN : 0) | (pending_.empty() ? 0 : POLLOUT));
    if (closed) return;
    if (events == 0)
        loop_.unwatchFd(fd_.get());
    else
        loop_.watchFd(fd_.get(), events, [this](short revents) { onEvents(revents); });
}

// Queued and written as the socket takes it: the agent reads on this same loop.
void RawHost::send(wire::FrameType type, uint32_t id, const std::string& payload)
{
    wire::appendFrame(pending_, type, id, payload);
    flush();
}

void RawHost::flush()
{
    while (!pending_.empty()) {
        ssize_t n = ::send(fd_.get(), pending_.data(), pending_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0) break;
        pending_.erase(0, static_cast<size_t>(n));
    }
    updateEvents();
}

void RawHost::onEvents(short revents)
{
    if (revents & POLLOUT) flush();
    if (!(revents & (POLLIN | POLLHUP | POLLERR)) || !reading) return;
    char buffer[65536];
    ssize_t n = read(fd_.get(), buffer, sizeof buffer);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            closed = true;
            loop_.unwatchFd(fd_.get());
        }
        return;
    }
    decoder_.append(buffer, static_cast<size_t>(n));
    wire::Frame frame;
    while (decoder_.next(frame) == wire::FrameDecoder::Status::Frame)
        frames.push_back(frame);
}

std::optional<wire::Frame> RawHost::waitFor(wire::FrameType type, std::optional<uint32_t> id,
                                            std::chrono::milliseconds timeout)
{
    std::optional<wire::Frame> found;
    runUntil(
        loop_,
        [&] {
            for (size_t i = 0; i < frames.size(); ++i) {
                if (frames[i].header.type == type && (!id || frames[i].header.id == *id)) {
                    found = frames[i];
                    frames.erase(frames.begin(), frames.begin() + static_cast<long>(i) + 1);
                    return true;
                }
            }
            return false;
        },
        timeout);
    return found;
}

FakeQemuSocket::FakeQemuSocket(hc::EventLoop& loop, std::function<void(hc::UniqueFd)> onAccept)
    : loop_(loop), onAccept_(std::move(onAccept))
{
    char tmpl[] = "/tmp/hcs-guest-test.XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    path_ = dir_ + "/agent.sock";
    listener_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    if (bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listener_.get(), 4) != 0)
        throw std::runtime_error("bind/listen failed");
    loop_.watchFd(listener_.get(), POLLIN, [this](short) {
        int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) onAccept_(hc::UniqueFd(fd));
    });
}

FakeQemuSocket::~FakeQemuSocket()
{
    loop_.unwatchFd(listener_.get());
    unlink(path_.c_str());
    rmdir(dir_.c_str());
}

std::pair<hc::UniqueFd, hc::UniqueFd> makePipe()
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    return {hc::UniqueFd(fds[0]), hc::UniqueFd(fds[1])};
}

std::string readToEof(hc::EventLoop& loop, int fd, std::chrono::milliseconds timeout)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    std::string out;
    bool eof = false;
    runUntil(
        loop,
        [&] {
            char buffer[65536];
            for (;;) {
                ssize_t n = read(fd, buffer, sizeof buffer);
                if (n > 0) {
                    out.append(buffer, static_cast<size_t>(n));
                    continue;
                }
                if (n == 0) eof = true;
                break;
            }
            return eof;
        },
        timeout);
    if (!eof) throw std::runtime_error("no EOF within the timeout; read so far: " + out.substr(0, 200));
    return out;
}

}  // namespace guest_test

namespace {
// Writes to a closed pipe or socket must fail with EPIPE in these tests, not kill the test program.
const bool kSigpipeIgnored = [] {
    signal(SIGPIPE, SIG_IGN);
    return true;
}();
}  // namespace
