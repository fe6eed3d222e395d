// The contract between the computecore client library (operations, handles, callbacks) and the
// connection to hcsd. The client side above this line never sees sockets or wire framing; the
// connection below it never sees HCS_OPERATION or user callbacks.
//
// Calls are the catalogue's (hcs/protocol/calls.h): a Method with its typed params struct. "handle" is a
// client-chosen, per-connection system handle number, so requests naming a handle can be sent before
// the Create/Open reply arrives; hcsd processes the requests of one connection that name the same
// system in order. docs/protocol.md shows each call on the wire.
// Events: hcsd sends SystemExited (and later other system events) for every open handle of the system,
// whether or not the client registered a callback; the client filters.
#pragma once

#include <computedefs.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "hcs/protocol/calls.h"

namespace hc::hcs {

// Outcome of one request.
struct ServiceReply {
    HRESULT hr = S_OK;
    // On success: the result document as JSON text (may be empty when the method has none).
    // On failure: a ResultError document {"Error": hr, "ErrorMessage": "..."} whose message says what happened.
    std::string document;
    // Descriptors that came with a successful reply ("fds": N on the wire, in the order the reply's
    // document indexes them); owned by whoever holds the reply, closed when it is dropped.
    std::vector<UniqueFd> fds;
};

// Something hcsd (or the connection itself) tells the client without being asked.
struct ServiceEvent {
    uint64_t handle = 0;  // the client's system or process handle number; 0 = every handle (ServiceDisconnect)
    HCS_EVENT_TYPE type = HcsEventInvalid;
    std::string data;  // the event document as JSON text (SystemExitStatus, ProcessStatus for ProcessExited)
};

class ServiceChannel {
public:
    using ReplyHandler = std::function<void(ServiceReply)>;
    using EventHandler = std::function<void(const ServiceEvent&)>;

    virtual ~ServiceChannel() = default;

    // Sends one request. `onReply` runs exactly once: on the channel's reader thread when the reply
    // arrives, or before send() returns if the request could not be sent (then hr says why, e.g.
    // HCS_E_SERVICE_DISCONNECT). Never blocks waiting for the service. Returns the request id.
    // Handlers must not block for long: they run on the thread that reads every reply.
    // `params` must be the struct the catalogue names for `method` (else the reply is E_INVALIDARG).
    virtual uint64_t send(protocol::Method method, protocol::Params params, ReplyHandler onReply) = 0;

    // Best effort: asks hcsd to abandon a request still in progress. Its reply (with hr =
    // HCS_E_OPERATION_ALREADY_CANCELLED if it was abandoned, or its real result if it finished first)
    // still arrives through its ReplyHandler exactly once.
    virtual void cancel(uint64_t requestId) = 0;

    // Receives events, and one ServiceDisconnect event (handle 0) when the connection to hcsd drops;
    // after that every send() fails with HCS_E_SERVICE_DISCONNECT. Set once, before the first send().
    virtual void setEventHandler(EventHandler handler) = 0;

    // A fresh handle number for Create/Open, unique on this connection.
    virtual uint64_t newHandleNumber() = 0;
};

// The process-wide connection to hcsd: HCS_SOCKET if set, else the per-user default path (both checked
// to be paths no other user controls). Refuses (E_ACCESSDENIED) an hcsd running as another user, before
// sending it anything. When nothing is listening, starts a private hcsd (which outlives this process)
// and connects to it; HCS_E_SERVICE_NOT_AVAILABLE says why that failed. Returns the same channel until
// it disconnects; after a disconnect the next call connects anew.
Result<std::shared_ptr<ServiceChannel>> connectService();

}  // namespace hc::hcs
