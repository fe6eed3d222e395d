#include "projfs/core/pending_command.h"

#include <utility>

namespace hc::projfs {

const char* commandStateName(CommandState state)
{
    switch (state) {
        case CommandState::Running:
            return "Running";
        case CommandState::Pending:
            return "Pending";
        case CommandState::Completed:
            return "Completed";
        case CommandState::Cancelled:
            return "Cancelled";
    }
    return "?";
}

PendingCommand::PendingCommand(int32_t id, CommandKind kind, Handler handler, PRJ_DIR_ENTRY_BUFFER_HANDLE enumBuffer)
    : id_(id), kind_(kind), enumBuffer_(enumBuffer), handler_(std::move(handler))
{
}

CommandState PendingCommand::state() const
{
    std::lock_guard lock(mutex_);
    return state_;
}

PendingCommand::Handler PendingCommand::finishLocked(CommandState final)
{
    state_ = final;
    return std::exchange(handler_, nullptr);
}

CommandState PendingCommand::callbackReturned(HRESULT hr)
{
    Handler handler;
    CommandState now;
    {
        std::lock_guard lock(mutex_);
        if (state_ != CommandState::Running) return state_;  // completed early or cancelled meanwhile
        if (hr == HRESULT_FROM_WIN32(ERROR_IO_PENDING)) {
            state_ = CommandState::Pending;
            return state_;
        }
        handler = finishLocked(CommandState::Completed);
        now = state_;
    }
    if (handler) handler(hr);
    return now;
}

HRESULT PendingCommand::complete(HRESULT hr)
{
    Handler handler;
    {
        std::lock_guard lock(mutex_);
        if (state_ == CommandState::Cancelled) return S_OK;
        if (state_ == CommandState::Completed) return E_INVALIDARG;
        // A provider that "completes" with IO_PENDING has not completed anything.
        if (hr == HRESULT_FROM_WIN32(ERROR_IO_PENDING)) return E_INVALIDARG;
        handler = finishLocked(CommandState::Completed);
    }
    if (handler) handler(hr);
    return S_OK;
}

bool PendingCommand::cancel(HRESULT reason)
{
    Handler handler;
    {
        std::lock_guard lock(mutex_);
        if (state_ != CommandState::Running && state_ != CommandState::Pending) return false;
        handler = finishLocked(CommandState::Cancelled);
    }
    if (handler) handler(reason);
    return true;
}

}  // namespace hc::projfs
