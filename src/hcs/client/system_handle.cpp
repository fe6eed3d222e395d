#include "hcs/client/system_handle.h"

#include "hcs/client/operation.h"

namespace hc::hcs {

SystemHandle::SystemHandle(std::shared_ptr<ServiceChannel> channel, uint64_t number, std::string id)
    : channel_(std::move(channel)), number_(number), id_(std::move(id))
{
}

Result<std::vector<std::shared_ptr<Operation>>> SystemHandle::setEventCallback(Registration registration)
{
    std::vector<std::weak_ptr<Operation>> deferred;
    {
        std::lock_guard lock(mutex_);
        if (registration_)
            return makeError(HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET,
                             "an event callback is already registered on this compute system handle");
        registration_ = registration;
        if (registration.options & HcsEventOptionEnableOperationCallbacks) deferred.swap(undelivered_);
    }
    std::vector<std::shared_ptr<Operation>> ready;
    for (auto& weak : deferred) {
        auto operation = weak.lock();
        if (operation && operation->system() == handle_ && !operation->isClosed() &&
            operation->state() == OperationState::Completed && !operation->completionObserved())
            ready.push_back(std::move(operation));
    }
    return ready;
}

std::optional<SystemHandle::Registration> SystemHandle::registration() const
{
    std::lock_guard lock(mutex_);
    return registration_;
}

bool SystemHandle::operationCallbacksEnabled() const
{
    std::lock_guard lock(mutex_);
    return registration_ && (registration_->options & HcsEventOptionEnableOperationCallbacks);
}

bool SystemHandle::acceptOrDeferCompletion(const std::shared_ptr<Operation>& operation)
{
    std::lock_guard lock(mutex_);
    if (registration_ && (registration_->options & HcsEventOptionEnableOperationCallbacks)) return true;
    // One entry per live operation: drop freed ones and an earlier entry for this one (reused).
    std::erase_if(undelivered_, [&](const std::weak_ptr<Operation>& weak) {
        return weak.expired() || (!weak.owner_before(operation) && !operation.owner_before(weak));
    });
    undelivered_.push_back(operation);
    return false;
}

}  // namespace hc::hcs
