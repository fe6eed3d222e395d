#include "hcs/service/sessions.h"

#include <unistd.h>

#include "base/hresult.h"

namespace hc::hcs::service {

namespace {

Error notOpen(uint64_t handle)
{
    return makeError(E_HANDLE, "handle " + std::to_string(handle) + " is not open on this connection");
}

}  // namespace

uint64_t Sessions::open(Sender sender, uid_t uid)
{
    uint64_t id = next_++;
    sessions_[id] = Session{std::move(sender), uid, {}};
    return id;
}

uid_t Sessions::uid(uint64_t session) const
{
    auto it = sessions_.find(session);
    return it == sessions_.end() ? geteuid() : it->second.uid;
}

Sessions::ClosedHandles Sessions::close(uint64_t session)
{
    ClosedHandles closed;
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return closed;
    for (auto& [number, handle] : it->second.handles) {
        if (handle.process) {
            closed.processes.push_back(handle.process);
        } else if (!handle.closing) {
            closed.systems.push_back(handle.system);
        }
    }
    sessions_.erase(it);
    return closed;
}

void Sessions::send(uint64_t session, const std::string& line, std::vector<UniqueFd> fds)
{
    auto it = sessions_.find(session);
    if (it != sessions_.end()) it->second.send(line, std::move(fds));
}

Status Sessions::addHandle(uint64_t session, uint64_t handle, SystemPtr system)
{
    auto& handles = sessions_.at(session).handles;
    if (handle == 0 || handles.count(handle)) {
        return makeError(E_INVALIDARG, "handle number " + std::to_string(handle) + " is already in use or 0");
    }
    handles[handle] = Handle{std::move(system), nullptr, false};
    return {};
}

Status Sessions::addProcessHandle(uint64_t session, uint64_t handle, ProcessPtr process)
{
    auto& handles = sessions_.at(session).handles;
    if (handle == 0 || handles.count(handle)) {
        return makeError(E_INVALIDARG, "handle number " + std::to_string(handle) + " is already in use or 0");
    }
    handles[handle] = Handle{nullptr, std::move(process), false};
    return {};
}

Result<SystemPtr> Sessions::find(uint64_t session, uint64_t handle) const
{
    const auto& handles = sessions_.at(session).handles;
    auto it = handles.find(handle);
    if (it == handles.end() || it->second.closing) return notOpen(handle);
    if (!it->second.system) {
        return makeError(E_HANDLE, "handle " + std::to_string(handle) + " names a process, not a compute system");
    }
    return it->second.system;
}

Result<ProcessPtr> Sessions::findProcess(uint64_t session, uint64_t handle) const
{
    const auto& handles = sessions_.at(session).handles;
    auto it = handles.find(handle);
    if (it == handles.end() || it->second.closing) return notOpen(handle);
    if (!it->second.process) {
        return makeError(E_HANDLE, "handle " + std::to_string(handle) + " names a compute system, not a process");
    }
    return it->second.process;
}

Result<ProcessPtr> Sessions::removeProcessHandle(uint64_t session, uint64_t handle)
{
    auto process = findProcess(session, handle);
    if (process) sessions_.at(session).handles.erase(handle);
    return process;
}

Result<SystemPtr> Sessions::beginClose(uint64_t session, uint64_t handle)
{
    auto& handles = sessions_.at(session).handles;
    auto it = handles.find(handle);
    if (it == handles.end() || it->second.closing || !it->second.system) return notOpen(handle);
    it->second.closing = true;
    return it->second.system;
}

void Sessions::finishClose(uint64_t session, uint64_t handle)
{
    auto it = sessions_.find(session);
    if (it != sessions_.end()) it->second.handles.erase(handle);
}

void Sessions::forEachHandleOf(const ComputeSystem* system, const std::function<void(uint64_t, uint64_t)>& fn) const
{
    for (const auto& [sessionId, session] : sessions_) {
        for (const auto& [number, handle] : session.handles) {
            if (handle.system && handle.system.get() == system) fn(sessionId, number);
        }
    }
}

void Sessions::forEachHandleOf(const GuestProcess* process, const std::function<void(uint64_t, uint64_t)>& fn) const
{
    for (const auto& [sessionId, session] : sessions_) {
        for (const auto& [number, handle] : session.handles) {
            if (handle.process && handle.process.get() == process) fn(sessionId, number);
        }
    }
}

}  // namespace hc::hcs::service
