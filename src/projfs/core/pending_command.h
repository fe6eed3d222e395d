// PendingCommand: one provider callback invocation, identified by its CommandId, from the moment the
// callback is called until its result is delivered to the waiting file system request.
//
// Lifecycle (one explicit state machine; every transition happens under the command's mutex and the
// completion handler runs exactly once, outside it):
//
//     Running ──callback returned IO_PENDING──► Pending
//     Running ──callback returned a result────► Completed   (handler(result))
//     Running | Pending ──PrjCompleteCommand──► Completed   (handler(result))
//     Running | Pending ──interrupt / Stop────► Cancelled   (handler(ERROR_OPERATION_ABORTED or the stop code))
//
// Completed and Cancelled are final. A PrjCompleteCommand that arrives after Cancelled is a successful
// no-op; one that arrives after Completed is E_INVALIDARG (the id is no longer pending). The provider may
// complete the command from another thread before its callback has even returned IO_PENDING: Running
// accepts completion directly. Owner: the CommandTable (shared_ptr), which drops the command once it is
// final and no later PrjCompleteCommand can refer to it.
#pragma once

#include <projectedfslib.h>

#include <cstdint>
#include <functional>
#include <mutex>

namespace hc::projfs {

enum class CommandState { Running, Pending, Completed, Cancelled };
enum class CommandKind {
    StartEnumeration,
    GetEnumeration,
    EndEnumeration,
    GetPlaceholderInfo,
    GetFileData,
    QueryFileName,
    Notification
};

const char* commandStateName(CommandState state);

class PendingCommand {
public:
    using Handler = std::function<void(HRESULT)>;

    PendingCommand(int32_t id, CommandKind kind, Handler handler, PRJ_DIR_ENTRY_BUFFER_HANDLE enumBuffer = nullptr);

    int32_t id() const { return id_; }
    CommandKind kind() const { return kind_; }
    PRJ_DIR_ENTRY_BUFFER_HANDLE enumerationBuffer() const { return enumBuffer_; }
    CommandState state() const;

    // The provider's callback returned `hr`. Returns the state after the transition.
    CommandState callbackReturned(HRESULT hr);
    // PrjCompleteCommand: S_OK (completed now, or no-op after cancellation) or E_INVALIDARG.
    HRESULT complete(HRESULT hr);
    // Interrupt or Stop: true when this call cancelled the command (the handler got `reason`).
    bool cancel(HRESULT reason);

private:
    // Moves to a final state and returns the handler to run (outside the lock).
    Handler finishLocked(CommandState final);

    const int32_t id_;
    const CommandKind kind_;
    const PRJ_DIR_ENTRY_BUFFER_HANDLE enumBuffer_;
    mutable std::mutex mutex_;
    CommandState state_ = CommandState::Running;
    Handler handler_;
};

}  // namespace hc::projfs
