#include "hcs/client/event_target.h"

#include <string>

#include "hcs/client/operation.h"

namespace hc::hcs {

Result<std::vector<std::shared_ptr<Operation>>> EventTarget::setEventCallback(Registration registration)
{
    std::vector<std::weak_ptr<Operation>> deferred;
    {
        std::lock_guard lock(mutex_);
        if (registration_)
            return makeError(HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET,
                             std::string("an event callback is already registered on this ") + kind_ + " handle");
        registration_ = registration;
        if (registration.options & HcsEventOptionEnableOperationCallbacks) deferred.swap(undelivered_);
    }
    std::vector<std::shared_ptr<Operation>> ready;
    for (auto& weak : deferred) {
        auto operation = weak.lock();
        if (operation && operation->target().get() == this && !operation->isClosed() &&
            operation->state() == OperationState::Completed && !operation->completionObserved())
            ready.push_back(std::move(operation));
    }
    return ready;
}

std::optional<EventTarget::Registration> EventTarget::registration() const
{
    std::lock_guard lock(mutex_);
    return registration_;
}

bool EventTarget::operationCallbacksEnabled() const
{
    std::lock_guard lock(mutex_);
    return registration_ && (registration_->options & HcsEventOptionEnableOperationCallbacks);
}

bool EventTarget::acceptOrDeferCompletion(const std::shared_ptr<Operation>& operation)
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
