#include "hcs/service/sessions.h"

#include "base/hresult.h"

namespace hc::hcs::service {

namespace {

Error notOpen(uint64_t handle)
{
    return makeError(E_HANDLE, "handle " + std::to_string(handle) + " is not open on this connection");
}

}  // namespace

uint64_t Sessions::open(Sender sender)
{
    uint64_t id = next_++;
    sessions_[id] = Session{std::move(sender), {}};
    return id;
}

std::vector<SystemPtr> Sessions::close(uint64_t session)
{
    std::vector<SystemPtr> systems;
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return systems;
    for (auto& [number, handle] : it->second.handles) {
        if (!handle.closing) systems.push_back(handle.system);
    }
    sessions_.erase(it);
    return systems;
}

void Sessions::send(uint64_t session, const std::string& line)
{
    auto it = sessions_.find(session);
    if (it != sessions_.end()) it->second.send(line);
}

Status Sessions::addHandle(uint64_t session, uint64_t handle, SystemPtr system)
{
    auto& handles = sessions_.at(session).handles;
    if (handle == 0 || handles.count(handle)) {
        return makeError(E_INVALIDARG, "handle number " + std::to_string(handle) + " is already in use or 0");
    }
    handles[handle] = Handle{std::move(system), false};
    return {};
}

Result<SystemPtr> Sessions::find(uint64_t session, uint64_t handle) const
{
    const auto& handles = sessions_.at(session).handles;
    auto it = handles.find(handle);
    if (it == handles.end() || it->second.closing) return notOpen(handle);
    return it->second.system;
}

Result<SystemPtr> Sessions::beginClose(uint64_t session, uint64_t handle)
{
    auto& handles = sessions_.at(session).handles;
    auto it = handles.find(handle);
    if (it == handles.end() || it->second.closing) return notOpen(handle);
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
            if (handle.system.get() == system) fn(sessionId, number);
        }
    }
}

}  // namespace hc::hcs::service
