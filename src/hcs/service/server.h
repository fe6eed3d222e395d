// The connection layer of hcsd: accepts clients on the listening socket, frames JSON lines, sends
// the greeting, negotiates the protocol version (Hello), decodes each line with protocol::
// decodeRequest and hands typed requests to the Service. Malformed input gets an error reply and
// never reaches the service; a client that floods without reading is disconnected. Hello is
// negotiated here and only here. When descriptors run out, the listener is left unpolled (and the
// condition logged once) until a connection closes or a retry timer fires, instead of spinning.
// A reply that carries descriptors (CreateProcess's stdio) has them attached to the sendmsg() that
// writes its line's first byte (ipc/descriptor_passing.h); until then the Connection owns them.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "base/event_loop.h"
#include "hcs/service/service.h"

namespace hc::hcs::service {

class Server {
public:
    // Takes ownership of `listenFd`.
    Server(EventLoop& loop, Service& service, int listenFd);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    size_t connectionCount() const { return connections_.size(); }

private:
    struct Connection {
        int fd = -1;
        uint64_t session = 0;
        std::string input;
        std::string output;
        // Descriptors waiting to go out, each with the absolute output position of its line's first byte.
        struct PendingFds {
            uint64_t position = 0;
            std::vector<UniqueFd> fds;
        };
        std::deque<PendingFds> pendingFds;
        uint64_t sentBytes = 0;  // bytes of output already written (absolute position of output[0])
        bool helloDone = false;
        bool closing = false;
    };

    void accept();
    void pauseAccepting();
    void resumeAccepting();
    void onReadable(uint64_t id);
    void onWritable(uint64_t id);
    void handleLine(uint64_t id, const std::string& line);
    void send(uint64_t id, const std::string& line, std::vector<UniqueFd> fds = {});
    void flush(Connection& c);
    // Closes after the current handler (never re-enters the Service from inside it).
    void scheduleClose(uint64_t id);
    void closeNow(uint64_t id);

    EventLoop& loop_;
    Service& service_;
    int listenFd_;
    std::map<uint64_t, Connection> connections_;
    uint64_t nextConnection_ = 1;
    uint64_t acceptRetryTimer_ = 0;  // set while accepting is paused for lack of descriptors
    bool exhaustionLogged_ = false;  // logged once until an accept succeeds again
};

}  // namespace hc::hcs::service
