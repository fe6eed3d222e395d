// The guest agent's control messages: the JSON payloads of HelloRequest, Hello, CreateProcess, Signal,
// Resize, CloseStdin, Reply and Exited frames (wire.h frames them; docs/guest-agent.md lists every
// field). Decoding is strict and bounded: an unknown shape is an error that names the field, and
// nesting deeper than kMaxJsonDepth is refused before parsing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "hcs/guest/wire.h"

namespace hc::hcs::guest::wire {

constexpr int kMaxJsonDepth = 4;

struct HelloRequest {
    uint32_t protocolVersion = kProtocolVersion;
    std::string hostVersion;
};

struct Hello {
    uint32_t protocolVersion = kProtocolVersion;
    std::string agentVersion;
    std::vector<std::string> capabilities;
    std::string session;  // random per agent start: a different session means the agent restarted
};

struct CreateProcessRequest {
    uint32_t req = 0;
    std::vector<std::string> argv;
    std::string workingDirectory;
    std::vector<std::pair<std::string, std::string>> environment;
    std::string user;
    bool console = false;
    uint16_t rows = 0, columns = 0;
    bool stdinPipe = false, stdoutPipe = false, stderrPipe = false;
};

struct SignalRequest {
    uint32_t req = 0;
    int signal = 0;
};

struct ResizeRequest {
    uint32_t req = 0;
    uint16_t rows = 0, columns = 0;
};

struct CloseStdinRequest {
    uint32_t req = 0;
};

// The agent's answer to a request: hr 0 (S_OK) or a failure HRESULT with a message; pid for CreateProcess.
struct Reply {
    uint32_t req = 0;
    int32_t hr = 0;
    std::string message;
    uint32_t pid = 0;
};

struct ExitedMessage {
    int exitCode = -1;
    std::optional<int> signal;
};

std::string encode(const HelloRequest& m);
std::string encode(const Hello& m);
std::string encode(const CreateProcessRequest& m);
std::string encode(const SignalRequest& m);
std::string encode(const ResizeRequest& m);
std::string encode(const CloseStdinRequest& m);
std::string encode(const Reply& m);
std::string encode(const ExitedMessage& m);

Result<HelloRequest> decodeHelloRequest(std::string_view payload);
Result<Hello> decodeHello(std::string_view payload);
Result<CreateProcessRequest> decodeCreateProcess(std::string_view payload);
Result<SignalRequest> decodeSignal(std::string_view payload);
Result<ResizeRequest> decodeResize(std::string_view payload);
Result<CloseStdinRequest> decodeCloseStdin(std::string_view payload);
Result<Reply> decodeReply(std::string_view payload);
Result<ExitedMessage> decodeExited(std::string_view payload);

}  // namespace hc::hcs::guest::wire
