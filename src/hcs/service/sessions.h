// hcsd's sessions: one per client connection, each with its own handle numbers naming compute
// systems or guest processes (one number space per session), and the function that sends it lines
// (with the descriptors a reply carries). A handle being closed stays in the table (marked
// closing) until its queued Close runs: requests can no longer name it, but the system's exit
// event still reaches it (a Close pipelined after Terminate must not hide SystemExited).
// Runs on the event loop thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace hc::hcs::service {

class ComputeSystem;
using SystemPtr = std::shared_ptr<ComputeSystem>;
class GuestProcess;
using ProcessPtr = std::shared_ptr<GuestProcess>;

class Sessions {
public:
    // Sends one line; `fds` ride with its first byte (protocol/messages.h, "Descriptors").
    using Sender = std::function<void(const std::string& line, std::vector<UniqueFd> fds)>;

    struct ClosedHandles {
        std::vector<SystemPtr> systems;  // named by open (not closing) system handles
        std::vector<ProcessPtr> processes;
    };

    // `uid` is the connected peer's user (SO_PEERCRED), which decides what the session may see.
    uint64_t open(Sender sender, uid_t uid);
    // The session's user; hcsd's own when the session is unknown.
    uid_t uid(uint64_t session) const;
    // Forgets the session; returns what its handles named.
    ClosedHandles close(uint64_t session);
    bool exists(uint64_t session) const { return sessions_.count(session) != 0; }
    size_t count() const { return sessions_.size(); }
    void send(uint64_t session, const std::string& line, std::vector<UniqueFd> fds = {});

    // E_INVALIDARG when the number is 0 or in use on this session.
    Status addHandle(uint64_t session, uint64_t handle, SystemPtr system);
    Status addProcessHandle(uint64_t session, uint64_t handle, ProcessPtr process);
    // The system an open handle names; E_HANDLE (naming the handle) when it is not open or names a process.
    Result<SystemPtr> find(uint64_t session, uint64_t handle) const;
    // The process an open handle names; E_HANDLE when it is not open or names a system.
    Result<ProcessPtr> findProcess(uint64_t session, uint64_t handle) const;
    // Closes a process handle at once (nothing is queued behind it) and returns its process.
    Result<ProcessPtr> removeProcessHandle(uint64_t session, uint64_t handle);
    void forEachHandleOf(const GuestProcess* process, const std::function<void(uint64_t, uint64_t)>& fn) const;
    // Marks the handle closing (see above) and returns its system.
    Result<SystemPtr> beginClose(uint64_t session, uint64_t handle);
    void finishClose(uint64_t session, uint64_t handle);
    // Every (session, handle) naming `system`, closing ones included.
    void forEachHandleOf(const ComputeSystem* system, const std::function<void(uint64_t, uint64_t)>& fn) const;

private:
    struct Handle {
        SystemPtr system;    // a system handle, or
        ProcessPtr process;  // a process handle
        bool closing = false;
    };
    struct Session {
        Sender send;
        uid_t uid = 0;
        std::map<uint64_t, Handle> handles;
    };
    std::map<uint64_t, Session> sessions_;
    uint64_t next_ = 1;
};

}  // namespace hc::hcs::service
