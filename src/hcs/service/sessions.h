// hcsd's sessions: one per client connection, each with its own handle numbers naming compute
// systems, and the function that sends it lines. A handle being closed stays in the table (marked
// closing) until its queued Close runs: requests can no longer name it, but the system's exit
// event still reaches it (a Close pipelined after Terminate must not hide SystemExited).
// Runs on the event loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace hc::hcs::service {

class ComputeSystem;
using SystemPtr = std::shared_ptr<ComputeSystem>;

class Sessions {
public:
    using Sender = std::function<void(const std::string& line)>;

    uint64_t open(Sender sender);
    // Forgets the session; returns the systems its open (not closing) handles named.
    std::vector<SystemPtr> close(uint64_t session);
    bool exists(uint64_t session) const { return sessions_.count(session) != 0; }
    size_t count() const { return sessions_.size(); }
    void send(uint64_t session, const std::string& line);

    // E_INVALIDARG when the number is 0 or in use on this session.
    Status addHandle(uint64_t session, uint64_t handle, SystemPtr system);
    // The system an open handle names; E_HANDLE (naming the handle) when it is not open.
    Result<SystemPtr> find(uint64_t session, uint64_t handle) const;
    // Marks the handle closing (see above) and returns its system.
    Result<SystemPtr> beginClose(uint64_t session, uint64_t handle);
    void finishClose(uint64_t session, uint64_t handle);
    // Every (session, handle) naming `system`, closing ones included.
    void forEachHandleOf(const ComputeSystem* system, const std::function<void(uint64_t, uint64_t)>& fn) const;

private:
    struct Handle {
        SystemPtr system;
        bool closing = false;
    };
    struct Session {
        Sender send;
        std::map<uint64_t, Handle> handles;
    };
    std::map<uint64_t, Session> sessions_;
    uint64_t next_ = 1;
};

}  // namespace hc::hcs::service
