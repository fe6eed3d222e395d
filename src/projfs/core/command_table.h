// CommandTable: the CommandIds of one virtualization instance and their PendingCommands. Ids are
// positive, increasing, never reused while a command is alive. A command leaves the table when it is
// final and no PrjCompleteCommand can still refer to it: Completed at once; Cancelled once the provider
// has completed it (a no-op) or its callback returned without pending.
#pragma once

#include "projfs/core/pending_command.h"

#include <memory>
#include <unordered_map>
#include <vector>

namespace hc::projfs {

class CommandTable {
public:
    std::shared_ptr<PendingCommand> create(CommandKind kind, PendingCommand::Handler handler,
                                           PRJ_DIR_ENTRY_BUFFER_HANDLE enumBuffer = nullptr);
    // Routes the callback's return value; drops the command when it is final.
    void callbackReturned(const std::shared_ptr<PendingCommand>& command, HRESULT hr);
    // PrjCompleteCommand. `enumBuffer` (may be null) must match an enumeration command's buffer.
    HRESULT complete(int32_t id, HRESULT hr, PRJ_DIR_ENTRY_BUFFER_HANDLE enumBuffer);
    // Cancels one command; returns it when this call cancelled it (the caller tells the provider).
    std::shared_ptr<PendingCommand> cancel(int32_t id, HRESULT reason);
    // Cancels everything (Stop). Returns how many commands were cancelled.
    size_t cancelAll(HRESULT reason);

    size_t size() const;

private:
    void dropIfFinal(const std::shared_ptr<PendingCommand>& command, bool providerDone);

    mutable std::mutex mutex_;
    int32_t nextId_ = 1;
    std::unordered_map<int32_t, std::shared_ptr<PendingCommand>> commands_;
};

}  // namespace hc::projfs
