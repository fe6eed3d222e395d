// The guest agent's framing, shared by the host (agent_channel) and the agent (guest/agent): every
// message is a 16-byte little-endian header (magic, type, flags, process id, payload length) and a
// payload. docs/guest-agent.md documents the bytes; this is the only code that reads or writes them.
// The decoder is written for an untrusted peer: it never allocates more than its payload bound and
// reports the first malformed header as an error instead of guessing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hc::hcs::guest::wire {

constexpr uint32_t kMagic = 0x41474348;  // the bytes "HCGA"
constexpr size_t kHeaderSize = 16;
constexpr uint32_t kProtocolVersion = 1;
// The largest payload either side sends; a peer announcing more is broken or hostile.
constexpr uint32_t kMaxPayload = 64 * 1024;
// Per-stream flow-control window: bytes a sender may have in flight before the receiver grants more.
constexpr uint32_t kStreamWindow = 256 * 1024;

enum class FrameType : uint16_t {
    HelloRequest = 1,   // host -> agent, JSON: who the host is; the agent answers with Hello
    Hello = 2,          // agent -> host, JSON: protocol version, agent version, capabilities, session
    CreateProcess = 3,  // host -> agent, JSON, id = the host's process id
    Signal = 4,         // host -> agent, JSON
    Resize = 5,         // host -> agent, JSON
    CloseStdin = 6,     // host -> agent, JSON
    Reply = 7,          // agent -> host, JSON: the answer to one request ("req")
    Exited = 8,         // agent -> host, JSON: sent after the process's stdout/stderr EOF frames
    Stdin = 16,         // host -> agent, raw bytes; an empty payload is EOF
    Stdout = 17,        // agent -> host, raw bytes; an empty payload is EOF
    Stderr = 18,        // agent -> host, raw bytes; an empty payload is EOF
    StdinCredit = 32,   // agent -> host, 4 bytes LE: stdin bytes the agent has written to the process
    StdoutCredit = 33,  // host -> agent, 4 bytes LE: stdout bytes the host has written to its sink
    StderrCredit = 34,  // host -> agent, 4 bytes LE: the same for stderr
};

bool isKnownFrameType(uint16_t type);
const char* frameTypeName(FrameType type);

struct FrameHeader {
    FrameType type = FrameType::Hello;
    uint16_t flags = 0;  // reserved, 0
    uint32_t id = 0;     // the host's process id; 0 for HelloRequest/Hello
    uint32_t length = 0;
};

// Writes a frame header announcing `length` payload bytes (for a sender that moves the payload itself).
void storeHeader(char* out, FrameType type, uint32_t id, uint32_t length);
// Appends one frame (header + payload) to `out`. The payload must not exceed kMaxPayload.
void appendFrame(std::string& out, FrameType type, uint32_t id, std::string_view payload);
// A credit frame's payload.
std::string encodeCredit(uint32_t bytes);
std::optional<uint32_t> decodeCredit(std::string_view payload);

void storeLe32(char* p, uint32_t v);
uint32_t loadLe32(const char* p);

struct Frame {
    FrameHeader header;
    std::string payload;
};

// Incremental decoder over a byte stream. Feed what was read, then take frames until NeedMore.
class FrameDecoder {
public:
    enum class Status { NeedMore, Frame, Error };

    explicit FrameDecoder(uint32_t maxPayload = kMaxPayload) : maxPayload_(maxPayload) {}

    void append(const char* data, size_t size);
    // Frame: `frame` holds the next frame. Error: `error()` says what was wrong; the decoder stays in
    // error until reset().
    Status next(Frame& frame);
    // After an error: drops the bad frame's first byte and everything up to the next occurrence of the
    // magic (for a peer whose stream may start mid-frame, e.g. the agent after the host reconnected),
    // and clears the error. Returns how many bytes were skipped (at least one when any are buffered).
    size_t skipToMagic();
    void reset();

    const std::string& error() const { return error_; }
    size_t buffered() const { return buffer_.size() - offset_; }

private:
    std::string buffer_;
    size_t offset_ = 0;
    uint32_t maxPayload_;
    std::string error_;
};

}  // namespace hc::hcs::guest::wire
