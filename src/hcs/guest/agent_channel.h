// The real GuestChannel: the host end of the guest agent's virtio-serial port, a Unix socket QEMU
// listens on (qemuAgentArguments). Speaks the protocol of wire.h / control_messages.h, multiplexes the
// stdio of every process with per-stream credit, and treats the agent as untrusted: every frame is
// bounded (payload size, credit, replies only to requests, a rate for unsolicited frames, junk before
// the hello), and any violation disconnects this channel only, with an Error that says what the agent
// did. docs/guest-agent.md describes the protocol and the bounds.
//
// Threading and lifecycle: one owner (hcsd's core, or a test) on one EventLoop thread; see
// guest_channel.h. States of the connection: Connecting (socket absent or refused: retry every
// reconnectDelay) -> Handshake (connected: HelloRequest every helloInterval until a Hello) -> Ready ->
// back to Connecting after a violation, a reply timeout or the socket closing (processes end with the
// error, onDisconnected) — a Hello with a new session while Ready is an agent restart (processes end
// with HCS_E_CONNECTION_CLOSED, then onConnected). User callbacks are always posted to the loop and
// dropped if the channel was destroyed before they ran.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "hcs/guest/guest_channel.h"
#include "hcs/guest/wire.h"

namespace hc::hcs::guest {

struct ChannelLimits {
    uint32_t maxPayload = wire::kMaxPayload;
    uint32_t streamWindow = wire::kStreamWindow;
    // Bytes read from one channel per loop wake-up, so a flooding agent cannot starve other channels.
    size_t readBudget = 256 * 1024;
    // Bytes that may precede the agent's Hello (leftovers of an earlier connection) before it is a violation.
    size_t maxJunkBeforeHello = 64 * 1024;
    // Frames the host did not ask for (repeated Hellos) per second of connection.
    uint32_t maxUnsolicitedPerSecond = 32;
    // Bytes queued for the agent before it counts as not reading.
    size_t maxSendQueue = 8 * 1024 * 1024;
    std::chrono::milliseconds helloInterval{500};
    std::chrono::milliseconds reconnectDelay{200};
};

// Counters for tests and properties.
struct AgentChannelStats {
    uint64_t connects = 0;  // sockets connected
    uint64_t hellos = 0;    // distinct agent sessions seen
    uint64_t framesIn = 0, framesOut = 0;
    uint64_t bytesIn = 0, bytesOut = 0;
    uint64_t violations = 0;       // disconnects caused by the agent breaking a bound or the protocol
    uint64_t disconnects = 0;      // every return to Connecting
    size_t maxBufferedOutput = 0;  // the most stdout/stderr bytes ever buffered for one stream
};

class AgentChannel final : public GuestChannel {
public:
    AgentChannel(EventLoop& loop, ChannelOptions options, ChannelCallbacks callbacks, ChannelLimits limits = {});
    ~AgentChannel() override;
    AgentChannel(const AgentChannel&) = delete;
    AgentChannel& operator=(const AgentChannel&) = delete;

    std::optional<AgentInfo> agent() const override;
    void createProcess(ProcessSpec spec, StdioEnds ends, ProcessCallbacks callbacks) override;
    void signalProcess(uint32_t pid, int signal, CompletionHandler done) override;
    void closeStdin(uint32_t pid, CompletionHandler done) override;
    void resizeConsole(uint32_t pid, uint16_t rows, uint16_t columns, CompletionHandler done) override;

    const AgentChannelStats& stats() const { return stats_; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    AgentChannelStats stats_;
};

class AgentChannelFactory final : public GuestChannelFactory {
public:
    explicit AgentChannelFactory(ChannelLimits limits = {}) : limits_(limits) {}
    std::unique_ptr<GuestChannel> open(EventLoop& loop, const ChannelOptions& options,
                                       ChannelCallbacks callbacks) override;

private:
    ChannelLimits limits_;
};

}  // namespace hc::hcs::guest
