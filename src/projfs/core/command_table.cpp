#include "projfs/core/command_table.h"

namespace hc::projfs {

std::shared_ptr<PendingCommand> CommandTable::create(CommandKind kind, PendingCommand::Handler handler,
                                                     PRJ_DIR_ENTRY_BUFFER_HANDLE enumBuffer)
{
    std::lock_guard lock(mutex_);
    int32_t id;
    do {
        id = nextId_;
        nextId_ = nextId_ == INT32_MAX ? 1 : nextId_ + 1;
    } while (commands_.count(id) != 0);
    auto command = std::make_shared<PendingCommand>(id, kind, std::move(handler), enumBuffer);
    commands_.emplace(id, command);
    return command;
}

void CommandTable::dropIfFinal(const std::shared_ptr<PendingCommand>& command, bool providerDone)
{
    CommandState state = command->state();
    bool drop = state == CommandState::Completed || (state == CommandState::Cancelled && providerDone);
    if (!drop) return;
    std::lock_guard lock(mutex_);
    auto it = commands_.find(command->id());
    if (it != commands_.end() && it->second == command) commands_.erase(it);
}

void CommandTable::callbackReturned(const std::shared_ptr<PendingCommand>& command, HRESULT hr)
{
    command->callbackReturned(hr);
    // A cancelled command whose callback returned pending may still be completed by the provider (no-op).
    dropIfFinal(command, hr != HRESULT_FROM_WIN32(ERROR_IO_PENDING));
}

HRESULT CommandTable::complete(int32_t id, HRESULT hr, PRJ_DIR_ENTRY_BUFFER_HANDLE enumBuffer)
{
    std::shared_ptr<PendingCommand> command;
    {
        std::lock_guard lock(mutex_);
        auto it = commands_.find(id);
        if (it == commands_.end()) return E_INVALIDARG;
        command = it->second;
    }
    if (enumBuffer != nullptr && command->enumerationBuffer() != enumBuffer) return E_INVALIDARG;
    HRESULT result = command->complete(hr);
    if (result == S_OK) dropIfFinal(command, true);
    return result;
}

std::shared_ptr<PendingCommand> CommandTable::cancel(int32_t id, HRESULT reason)
{
    std::shared_ptr<PendingCommand> command;
    {
        std::lock_guard lock(mutex_);
        auto it = commands_.find(id);
        if (it == commands_.end()) return nullptr;
        command = it->second;
    }
    return command->cancel(reason) ? command : nullptr;
}

size_t CommandTable::cancelAll(HRESULT reason)
{
    std::vector<std::shared_ptr<PendingCommand>> all;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, command] : commands_)
            all.push_back(command);
    }
    size_t cancelled = 0;
    for (auto& command : all)
        cancelled += command->cancel(reason) ? 1 : 0;
    return cancelled;
}

size_t CommandTable::size() const
{
    std::lock_guard lock(mutex_);
    return commands_.size();
}

}  // namespace hc::projfs
