// The hcsd wire protocol, version 1: one JSON object per line over a Unix stream socket (docs/protocol.md).
// This is the ONE place that knows the wire format: the client channel encodes typed Requests (the
// catalogue's params structs, calls.h) and hcsd decodes them with the same field lists; server lines
// go the other way. Every line is checked against kWireLineLimits before it is parsed.
//
//   server -> client  {"greeting": {"service": "hcsd", "version": "0.1.0", "protocols": [1]}}
//   client -> server  {"id": 1, "method": "Hello", "params": {"protocol": 1, "client": "name"}}
//   client -> server  {"id": 2, "method": "StartComputeSystem", "params": {"handle": 1, "options": null}}
//   server -> client  {"id": 2, "result": {}}
//   server -> client  {"id": 3, "error": {"hr": -2143878907, "name": "HCS_E_INVALID_STATE", "message": "...",
//                                         "document": {"Error": -2143878907, "ErrorMessage": "..."}}}
//   server -> client  {"event": "SystemExited", "handle": 1, "data": {"Status": 0, "ExitType": "GracefulExit", ...}}
//   server -> client  {"id": 4, "fds": 2, "result": {"ProcessId": 7, "StdInput": 0, "StdOutput": 1, "StdError": null}}
//   server -> client  {"event": "ProcessExited", "handle": 5, "data": {"ProcessId": 7, "Exited": true, "ExitCode": 0}}
//
// Descriptors: a reply with "fds": N carries N file descriptors as SCM_RIGHTS ancillary data on the
// sendmsg() that writes the FIRST byte of its line (so they have arrived by the time the line is
// complete). The reader keeps received descriptors in arrival order and the reply takes the first N;
// a reader that finds fewer than N queued has lost sync (protocol error: the connection is closed).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "hcs/protocol/calls.h"

namespace hc::hcs::protocol {

constexpr uint32_t kProtocolVersion = 1;
constexpr uint32_t kMinProtocolVersion = 1;
// Longest line either side accepts; a longer line is a protocol error (the connection is closed).
constexpr size_t kMaxLineBytes = 16 * 1024 * 1024;  // = schema::kWireLineLimits.maxBytes
// Most descriptors one reply carries (stdin, stdout, stderr).
constexpr uint32_t kMaxReplyFds = 3;

struct Request {
    uint64_t id = 0;
    Method method = Method::Hello;
    Params params;
};

// Decodes one request line. On failure, `idOut` holds the request id when the line had a readable
// one (so the error reply can name it); the error is HCS_E_PROTOCOL_ERROR (malformed) or
// HCS_E_UNKNOWN_MESSAGE (unknown method), with a message saying what was wrong.
Result<Request> decodeRequest(std::string_view line, std::optional<uint64_t>* idOut);

// Server -> client lines (each ends with '\n').
std::string encodeGreeting(std::string_view serviceVersion);
// `fdCount`: how many descriptors the sender attaches to this line (see "Descriptors" above).
std::string encodeResult(uint64_t id, const nlohmann::json& result, uint32_t fdCount = 0);
std::string encodeError(std::optional<uint64_t> id, HRESULT hr, std::string_view message);
std::string encodeEvent(std::string_view event, uint64_t handle, const nlohmann::json& data);

// Client -> server. E_INVALIDARG when the params struct is not the one the catalogue names for the method.
Result<std::string> encodeRequest(const Request& request);

// What a client reads.
struct Greeting {
    std::string serviceVersion;
    std::vector<uint32_t> protocols;
};
struct Reply {
    uint64_t id = 0;
    HRESULT hr = S_OK;
    std::string document;  // success: the result as JSON text ("" when null); failure: the ResultError document
    uint32_t fdCount = 0;  // descriptors that came with this reply (success only)
};
struct Event {
    std::string name;
    uint64_t handle = 0;
    std::string data;
};
using ServerMessage = std::variant<Greeting, Reply, Event>;
Result<ServerMessage> decodeServerMessage(std::string_view line);

}  // namespace hc::hcs::protocol
