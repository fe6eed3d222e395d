// A QMP client driven by its owner's event loop: the owner polls fd() for input and calls
// onReadable(); commands carry ids and complete through their handlers; asynchronous QEMU events go
// to the event handler. Lifecycle: created on a connected socket -> greeting -> qmp_capabilities ->
// ready handler(OK) -> commands/events -> EOF or error: every pending handler fails once, the
// disconnect is reported by onReadable() returning false. Single-threaded; not thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>

#include "base/result.h"

namespace hc::hcs::vm {

class QmpClient {
public:
    using ReplyHandler = std::function<void(Result<nlohmann::json>)>;
    using EventHandler = std::function<void(const std::string& event, const nlohmann::json& data)>;
    using ReadyHandler = std::function<void(Status)>;

    // Takes ownership of `fd` (a connected socket to QEMU's monitor).
    QmpClient(int fd, ReadyHandler onReady, EventHandler onEvent);
    ~QmpClient();
    QmpClient(const QmpClient&) = delete;
    QmpClient& operator=(const QmpClient&) = delete;

    int fd() const { return fd_; }
    bool ready() const { return ready_; }

    // Reads what is available; dispatches replies and events. false = the connection is gone (every
    // pending handler has been failed with HCS_E_CONNECTION_CLOSED).
    bool onReadable();

    // Sends {"execute": command, "arguments": args, "id": n} and returns n. The handler runs once,
    // later, from onReadable() (or from failAll()); on a send failure it runs before execute() returns.
    // `descriptor` (>= 0) is sent with the command's bytes (SCM_RIGHTS), for getfd / add-fd.
    uint64_t execute(const std::string& command, const nlohmann::json& arguments, ReplyHandler handler,
                     int descriptor = -1);
    // Drops the handler of command `id`: its reply, if it ever comes, is ignored.
    void abandon(uint64_t id) { pending_.erase(id); }

    void failAll(const Error& error);

private:
    void handleLine(const std::string& line);

    int fd_;
    ReadyHandler onReady_;
    EventHandler onEvent_;
    std::string input_;
    std::map<uint64_t, ReplyHandler> pending_;
    uint64_t nextId_ = 1;
    bool ready_ = false;
    bool closed_ = false;
};

}  // namespace hc::hcs::vm
