#include "hcs/service/process_table.h"

#include <algorithm>

#include "base/hresult.h"

namespace hc::hcs::service {

schema::ProcessStatus GuestProcess::status() const
{
    schema::ProcessStatus s;
    s.processId = pid;
    s.exited = state == ProcessState::Exited;
    if (startError) {
        s.exitCode = -1;
        s.lastWaitResult = startError->hr;
        s.errorMessage = startError->message;
    } else if (exit) {
        s.exitCode = exit->exitCode;
        s.signal = exit->signal;
        if (exit->error) {
            s.lastWaitResult = exit->error->hr;
            s.errorMessage = exit->error->message;
        }
    }
    return s;
}

ProcessTable::~ProcessTable()
{
    for (auto& [serial, process] : processes_) {
        for (auto& waiter : process->waiters)
            cancelTimer(waiter);
    }
}

Result<ProcessPtr> ProcessTable::add(std::weak_ptr<ComputeSystem> system)
{
    if (liveCount() >= limit_) {
        return makeError(
            HRESULT_FROM_WIN32(ERROR_TOO_MANY_OPEN_FILES),
            "the compute system already runs " + std::to_string(limit_) + " processes, the most hcsd keeps per system");
    }
    auto process = std::make_shared<GuestProcess>(nextSerial_++, std::move(system));
    processes_[process->serial] = process;
    return process;
}

ProcessPtr ProcessTable::findByPid(uint32_t pid) const
{
    ProcessPtr exited;
    for (const auto& [serial, process] : processes_) {
        if (process->pid != pid || process->state == ProcessState::Starting) continue;
        if (process->state == ProcessState::Running) return process;
        exited = process;
    }
    return exited;
}

void ProcessTable::removeIfUnused(const ProcessPtr& process)
{
    if (process->state != ProcessState::Exited || process->handles > 0) return;
    for (auto& waiter : process->waiters)
        cancelTimer(waiter);
    process->waiters.clear();
    processes_.erase(process->serial);
}

size_t ProcessTable::liveCount() const
{
    return static_cast<size_t>(std::count_if(processes_.begin(), processes_.end(), [](const auto& entry) {
        return entry.second->state != ProcessState::Exited;
    }));
}

std::vector<ProcessPtr> ProcessTable::all() const
{
    std::vector<ProcessPtr> out;
    for (const auto& [serial, process] : processes_)
        out.push_back(process);
    return out;
}

void ProcessTable::addWaiter(const ProcessPtr& process, ProcessWaiter waiter, std::chrono::milliseconds timeout)
{
    if (timeout.count() > 0) {
        const uint64_t session = waiter.session, requestId = waiter.requestId;
        waiter.timer = loop_.addTimer(timeout, [this, session, requestId] {
            auto timedOut = takeWaiter(session, requestId);
            if (timedOut && timedOut->onTimeout) timedOut->onTimeout();
        });
    }
    process->waiters.push_back(std::move(waiter));
}

std::vector<ProcessWaiter> ProcessTable::takeWaiters(const ProcessPtr& process)
{
    auto waiters = std::move(process->waiters);
    process->waiters.clear();
    for (auto& waiter : waiters)
        cancelTimer(waiter);
    return waiters;
}

std::optional<ProcessWaiter> ProcessTable::takeWaiter(uint64_t session, uint64_t requestId)
{
    for (auto& [serial, process] : processes_) {
        auto& waiters = process->waiters;
        for (auto it = waiters.begin(); it != waiters.end(); ++it) {
            if (it->session != session || it->requestId != requestId) continue;
            ProcessWaiter waiter = std::move(*it);
            waiters.erase(it);
            cancelTimer(waiter);
            return waiter;
        }
    }
    return std::nullopt;
}

std::vector<ProcessWaiter> ProcessTable::takeWaitersOfHandle(uint64_t session, uint64_t handle)
{
    std::vector<ProcessWaiter> taken;
    for (auto& [serial, process] : processes_) {
        auto& waiters = process->waiters;
        for (auto it = waiters.begin(); it != waiters.end();) {
            if (it->session == session && it->handle == handle) {
                cancelTimer(*it);
                taken.push_back(std::move(*it));
                it = waiters.erase(it);
            } else {
                ++it;
            }
        }
    }
    return taken;
}

void ProcessTable::dropSession(uint64_t session)
{
    for (auto& [serial, process] : processes_) {
        auto& waiters = process->waiters;
        for (auto& waiter : waiters) {
            if (waiter.session == session) cancelTimer(waiter);
        }
        std::erase_if(waiters, [session](const ProcessWaiter& w) { return w.session == session; });
    }
}

void ProcessTable::cancelTimer(ProcessWaiter& waiter)
{
    if (waiter.timer) loop_.cancelTimer(waiter.timer);
    waiter.timer = 0;
}

}  // namespace hc::hcs::service
