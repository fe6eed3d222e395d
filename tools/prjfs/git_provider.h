// `prjfs git REPO ROOT`: a provider that projects the tree of one commit into a virtualization root.
// Every callback copies what it needs, is tracked for cancellation, pended to a worker pool
// (ERROR_IO_PENDING) and completed with PrjCompleteCommand; placeholders carry the object id as
// ContentID, so data is read by id (a renamed placeholder still hydrates). Notifications record
// every created, modified, deleted or renamed path in the root's GitState (for `prjfs git status`).
#pragma once

#include "base/result.h"
#include "cancellation_tracker.h"
#include "hydration_progress.h"
#include "git_checkout.h"
#include "git_revision.h"
#include "git_state.h"
#include "worker_pool.h"

#include <projectedfslib.h>

#include "enumeration_sessions.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace prjfs {

struct GitOptions {
    std::string repo;
    std::string root;
    std::string rev;       // "" = the root's recorded commit, or HEAD for a new root
    unsigned threads = 4;  // worker pool size, and ConcurrentThreadCount
};

// Lifecycle: construct, start() (opens the revision and the root's state, marks the root if needed,
// starts virtualizing), stop() (drains the pool so nothing completes against a stopped instance, then
// PrjStopVirtualizing). The destructor stops if needed.
class GitProvider {
public:
    explicit GitProvider(GitOptions options);
    ~GitProvider();
    GitProvider(const GitProvider&) = delete;
    GitProvider& operator=(const GitProvider&) = delete;

    hc::Status start();
    void stop();
    std::string commitHex() const;
    const GitState& state() const { return *state_; }

    // Switches the running projection to `rev` (see git_checkout.h); the state records the new commit
    // unless the switch stopped on conflicts. Called from one thread at a time (the main thread).
    hc::Result<CheckoutReport> checkout(const std::string& rev, bool force);

private:
    static GitProvider* self(const PRJ_CALLBACK_DATA* data);
    static HRESULT CALLBACK onStartEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId);
    static HRESULT CALLBACK onEndEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId);
    static HRESULT CALLBACK onGetEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId, PCWSTR expression,
                                      PRJ_DIR_ENTRY_BUFFER_HANDLE buffer);
    static HRESULT CALLBACK onGetPlaceholderInfo(const PRJ_CALLBACK_DATA* data);
    static HRESULT CALLBACK onGetFileData(const PRJ_CALLBACK_DATA* data, UINT64 byteOffset, UINT32 length);
    static HRESULT CALLBACK onNotification(const PRJ_CALLBACK_DATA* data, BOOLEAN isDirectory,
                                           PRJ_NOTIFICATION notification, PCWSTR destinationFileName,
                                           PRJ_NOTIFICATION_PARAMETERS* parameters);
    static void CALLBACK onCancel(const PRJ_CALLBACK_DATA* data);

    HRESULT startEnumeration(const GUID& id, const std::wstring& path);
    HRESULT fillEnumeration(const GUID& id, PRJ_CALLBACK_DATA_FLAGS flags, const std::wstring& expression,
                            PRJ_DIR_ENTRY_BUFFER_HANDLE buffer);
    HRESULT writePlaceholder(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context, const std::wstring& path);
    HRESULT writeFileData(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context, INT32 commandId, const GUID& dataStreamId,
                          const std::wstring& path, const std::string& contentId, UINT64 byteOffset, UINT32 length);
    UINT32 writeAlignment(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context);
    void recordTouched(PCWSTR path);
    std::shared_ptr<GitRevision> currentRevision() const;

    using Work = std::function<HRESULT(PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS* extended)>;
    // Pends `work` to the pool (ERROR_IO_PENDING), or runs it now when the pool is shutting down.
    HRESULT dispatch(const PRJ_CALLBACK_DATA* data, Work work);

    GitOptions options_;
    // Set by start(), replaced by checkout(); each callback works on the snapshot it took first.
    mutable std::mutex revisionMutex_;
    std::shared_ptr<GitRevision> revision_;
    std::unique_ptr<GitState> state_;  // set by start()
    // Owned by the thread calling start()/stop(); callbacks use the context in their PRJ_CALLBACK_DATA.
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context_ = nullptr;
    std::atomic<UINT32> writeAlignment_{0};
    hc::tools::HydrationProgress hydrations_;  // before pool_: outlives the workers that hydrate
    std::unique_ptr<WorkerPool> pool_;
    CancellationTracker cancellations_;
    EnumerationSessions<GitEntry> enumerations_;
};

// The placeholder fields for a tree entry: size, `time` (seconds) for all four times, directory flag,
// object id as ContentID.
PRJ_PLACEHOLDER_INFO placeholderInfoFor(const GitEntry& entry, int64_t time);
// A tree entry as this provider projects it — placeholderInfoFor's fields, its mode as git checks it out
// (hostcompute's POSIX entry) and, for a symbolic link, its target (PRJ_EXT_INFO_TYPE_SYMLINK) — into a
// listing, or as a placeholder at `path` (ProjFS path, '\\'-separated).
HRESULT fillEntry(PRJ_DIR_ENTRY_BUFFER_HANDLE buffer, const GitRevision& revision, const GitEntry& entry, int64_t time);
HRESULT writeEntryPlaceholder(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context, PCWSTR path, const GitRevision& revision,
                              const GitEntry& entry, int64_t time);
// The hex object id stored as ContentID ("" when none).
std::string contentIdOf(const PRJ_PLACEHOLDER_VERSION_INFO* version);

}  // namespace prjfs
