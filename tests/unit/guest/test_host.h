// Helpers for the guest unit tests: drive one EventLoop until something happened, a raw host that
// speaks frames to an AgentCore over a socketpair, and a Unix listener standing in for QEMU's end of
// the agent port (AgentChannel connects to it; the test decides what answers).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include "base/event_loop.h"
#include "base/unique_fd.h"
#include "hcs/guest/control_messages.h"
#include "hcs/guest/wire.h"

namespace guest_test {

using namespace std::chrono_literals;
namespace wire = hc::hcs::guest::wire;

// Runs the loop until `done()` or `timeout`; returns done().
bool runUntil(hc::EventLoop& loop, const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s);

// Writes all of `data` to a (possibly non-blocking) descriptor, polling when it would block.
void writeAll(int fd, const std::string& data);

class RawHost {
public:
    RawHost(hc::EventLoop& loop, hc::UniqueFd fd);
    ~RawHost();

    void send(wire::FrameType type, uint32_t id, const std::string& payload);
    // Waits for the next frame of `type` (for `id` unless nullopt), removing it and every frame before it
    // from `frames` only when found.
    std::optional<wire::Frame> waitFor(wire::FrameType type, std::optional<uint32_t> id = std::nullopt,
                                       std::chrono::milliseconds timeout = 10s);
    std::deque<wire::Frame> frames;
    bool closed = false;
    bool reading = true;  // false: leave bytes in the socket (a host that stopped reading)
    void setReading(bool on);

private:
    void onEvents(short revents);
    void flush();
    void updateEvents();
    hc::EventLoop& loop_;
    hc::UniqueFd fd_;
    wire::FrameDecoder decoder_;
    std::string pending_;
};

// A listening Unix socket at a fresh temporary path; each accepted connection goes to onAccept.
class FakeQemuSocket {
public:
    FakeQemuSocket(hc::EventLoop& loop, std::function<void(hc::UniqueFd)> onAccept);
    ~FakeQemuSocket();
    const std::string& path() const { return path_; }

private:
    hc::EventLoop& loop_;
    std::string dir_, path_;
    hc::UniqueFd listener_;
    std::function<void(hc::UniqueFd)> onAccept_;
};

// A pipe whose ends are returned as {read, write}.
std::pair<hc::UniqueFd, hc::UniqueFd> makePipe();

// Reads everything from `fd` (blocking mode is not assumed) while running the loop, until EOF.
std::string readToEof(hc::EventLoop& loop, int fd, std::chrono::milliseconds timeout = 20s);

}  // namespace guest_test
