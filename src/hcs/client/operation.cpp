#include "hcs/client/operation.h"

#include <chrono>

#include "hcs/client/service_channel.h"

namespace hc::hcs {

const char* operationTypeName(HCS_OPERATION_TYPE type)
{
    switch (type) {
        case HcsOperationTypeNone:
            return "None";
        case HcsOperationTypeEnumerate:
            return "Enumerate";
        case HcsOperationTypeCreate:
            return "Create";
        case HcsOperationTypeStart:
            return "Start";
        case HcsOperationTypeShutdown:
            return "Shutdown";
        case HcsOperationTypePause:
            return "Pause";
        case HcsOperationTypeResume:
            return "Resume";
        case HcsOperationTypeSave:
            return "Save";
        case HcsOperationTypeTerminate:
            return "Terminate";
        case HcsOperationTypeModify:
            return "Modify";
        case HcsOperationTypeGetProperties:
            return "GetProperties";
        case HcsOperationTypeCreateProcess:
            return "CreateProcess";
        case HcsOperationTypeSignalProcess:
            return "SignalProcess";
        case HcsOperationTypeGetProcessInfo:
            return "GetProcessInfo";
        case HcsOperationTypeGetProcessProperties:
            return "GetProcessProperties";
        case HcsOperationTypeModifyProcess:
            return "ModifyProcess";
        case HcsOperationTypeCrash:
            return "Crash";
        case HcsOperationTypeLiveMigration:
            return "LiveMigration";
        default:
            return "Reserved";
    }
}

Operation::Operation(uint64_t id, Callbacks callbacks) : id_(id), callbacks_(callbacks) {}

void* Operation::context() const
{
    std::lock_guard lock(mutex_);
    return callbacks_.context;
}

void Operation::setContext(void* context)
{
    std::lock_guard lock(mutex_);
    callbacks_.context = context;
}

Operation::Callbacks Operation::callbacks() const
{
    std::lock_guard lock(mutex_);
    return callbacks_;
}

bool Operation::hasOwnCallback() const
{
    std::lock_guard lock(mutex_);
    return callbacks_.completion != nullptr || callbacks_.events != nullptr;
}

Status Operation::setCompletionCallback(void* context, HCS_OPERATION_COMPLETION completion)
{
    std::lock_guard lock(mutex_);
    if (state_ == OperationState::Pending)
        return makeError(HCS_E_OPERATION_ALREADY_STARTED, "the operation is in flight; set its callback before use");
    callbacks_.context = context;
    callbacks_.completion = completion;
    callbacks_.events = nullptr;
    callbacks_.eventOptions = HcsOperationOptionNone;
    return {};
}

HCS_OPERATION_TYPE Operation::type() const
{
    std::lock_guard lock(mutex_);
    return type_;
}

HCS_SYSTEM Operation::system() const
{
    std::lock_guard lock(mutex_);
    return target_.system;
}

HCS_PROCESS Operation::process() const
{
    std::lock_guard lock(mutex_);
    return target_.process;
}

std::shared_ptr<EventTarget> Operation::target() const
{
    std::lock_guard lock(mutex_);
    return target_.events;
}

OperationState Operation::state() const
{
    std::lock_guard lock(mutex_);
    return state_;
}

Result<uint64_t> Operation::begin(HCS_OPERATION_TYPE type, Target target, std::shared_ptr<ServiceChannel> channel)
{
    std::optional<ProcessInfo> previous;  // closed after the lock is released
    std::lock_guard lock(mutex_);
    if (closed_) return makeError(E_HANDLE, "the operation handle is closed");
    if (state_ == OperationState::Pending)
        return makeError(HCS_E_OPERATION_ALREADY_STARTED,
                         std::string("the operation is still tracking a ") + operationTypeName(type_) + " call");
    state_ = OperationState::Pending;
    ++generation_;
    type_ = type;
    target_ = std::move(target);
    channel_ = channel;
    previous.swap(processInfo_);
    requestAttached_ = false;
    requestId_ = 0;
    observed_ = false;
    outcome_ = {};
    return generation_;
}

void Operation::attachRequest(uint64_t generation, uint64_t requestId)
{
    std::lock_guard lock(mutex_);
    if (generation != generation_ || state_ != OperationState::Pending) return;
    requestId_ = requestId;
    requestAttached_ = true;
}

std::optional<Operation::Use> Operation::finish(uint64_t generation, Outcome outcome, std::optional<ProcessInfo> info)
{
    Use use;
    {
        std::lock_guard lock(mutex_);
        if (generation != generation_ || state_ != OperationState::Pending) return std::nullopt;
        state_ = OperationState::Completed;
        outcome_ = std::move(outcome);
        // Closed: nobody can take the descriptors any more; `info` closes them on return.
        if (!closed_) processInfo_ = std::move(info);
        channel_.reset();
        use = Use{generation_, type_, target_};
    }
    changed_.notify_all();
    return use;
}

Result<Operation::Outcome> Operation::completedResult(HCS_PROCESS_INFORMATION* info)
{
    if (info) {
        *info = HCS_PROCESS_INFORMATION{};
        if (processInfo_) processInfo_->handOver(info);  // descriptors handed over once; the id stays
    }
    return outcome_;
}

Result<Operation::Outcome> Operation::result(HCS_PROCESS_INFORMATION* info)
{
    std::lock_guard lock(mutex_);
    switch (state_) {
        case OperationState::NotStarted:
            return makeError(HCS_E_OPERATION_NOT_STARTED, "the operation was never passed to an HCS function");
        case OperationState::Pending:
            return makeError(HCS_E_OPERATION_PENDING, "the operation is still in progress");
        case OperationState::Completed:
            break;
    }
    return completedResult(info);
}

Result<Operation::Outcome> Operation::waitForResult(DWORD timeoutMs, HCS_PROCESS_INFORMATION* info)
{
    std::unique_lock lock(mutex_);
    if (state_ == OperationState::NotStarted)
        return makeError(HCS_E_OPERATION_NOT_STARTED, "the operation was never passed to an HCS function");
    auto done = [&] { return state_ != OperationState::Pending || closed_; };
    if (timeoutMs == INFINITE) {
        changed_.wait(lock, done);
    } else if (!changed_.wait_for(lock, std::chrono::milliseconds(timeoutMs), done)) {
        return makeError(HCS_E_OPERATION_TIMEOUT, "the operation did not complete within " + std::to_string(timeoutMs) +
                                                      " ms; it is still in progress");
    }
    if (state_ != OperationState::Completed) return makeError(E_HANDLE, "the operation was closed while waiting");
    return completedResult(info);
}

Result<uint64_t> Operation::cancel()
{
    std::shared_ptr<ServiceChannel> channel;
    uint64_t requestId = 0;
    bool attached = false;
    uint64_t generation = 0;
    {
        std::lock_guard lock(mutex_);
        if (state_ == OperationState::NotStarted)
            return makeError(HCS_E_OPERATION_NOT_STARTED, "the operation was never passed to an HCS function");
        if (state_ == OperationState::Completed) {
            if (outcome_.hr == HCS_E_OPERATION_ALREADY_CANCELLED)
                return makeError(HCS_E_OPERATION_ALREADY_CANCELLED, "the operation was already cancelled");
            return uint64_t{0};  // too late: the real result is kept
        }
        channel = channel_.lock();
        requestId = requestId_;
        attached = requestAttached_;
        generation = generation_;
    }
    // Ask the service first, then end the use locally: the reply that follows is dropped (its
    // generation is finished), so a hung service cannot keep the caller waiting.
    if (channel && attached) channel->cancel(requestId);
    return generation;
}

void Operation::close(bool waitForRunningCallback)
{
    std::optional<ProcessInfo> untaken;  // descriptors nobody took: closed here, outside the lock
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        target_.events.reset();
        untaken.swap(processInfo_);
    }
    changed_.notify_all();
    gate_.close(waitForRunningCallback);
}

bool Operation::isClosed() const
{
    std::lock_guard lock(mutex_);
    return closed_;
}

bool Operation::completionObserved() const
{
    std::lock_guard lock(mutex_);
    return observed_;
}

void Operation::markCompletionObserved()
{
    std::lock_guard lock(mutex_);
    if (state_ == OperationState::Completed) observed_ = true;
}

bool Operation::isPendingOn(const ServiceChannel* channel, uint64_t* generation) const
{
    std::lock_guard lock(mutex_);
    if (state_ != OperationState::Pending) return false;
    auto current = channel_.lock();
    if (current.get() != channel) return false;
    *generation = generation_;
    return true;
}

}  // namespace hc::hcs
