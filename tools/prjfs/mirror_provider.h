// `prjfs mirror`: a provider that projects a source directory into a virtualization root. Synchronous
// by default; with `async` every callback is pended to a worker pool and completed with
// PrjCompleteCommand, and CancelCommandCallback stops work on cancelled commands.
#pragma once

#include "base/result.h"
#include "cancellation_tracker.h"
#include "hydration_progress.h"
#include "source_tree.h"
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

struct MirrorOptions {
    std::string source;
    std::string root;
    bool async = false;
    unsigned threads = 0;  // worker pool size for --async, and ConcurrentThreadCount; 0 = ProjFS default
};

// Lifecycle: construct, start() (marks the root if needed, starts virtualizing), stop() (drains the
// worker pool so nothing completes against a stopped instance, then PrjStopVirtualizing). The object
// must outlive stop(); the destructor stops if needed.
class MirrorProvider {
public:
    explicit MirrorProvider(MirrorOptions options);
    ~MirrorProvider();
    MirrorProvider(const MirrorProvider&) = delete;
    MirrorProvider& operator=(const MirrorProvider&) = delete;

    hc::Status start();
    void stop();

private:
    static MirrorProvider* self(const PRJ_CALLBACK_DATA* data);
    static HRESULT CALLBACK onStartEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId);
    static HRESULT CALLBACK onEndEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId);
    static HRESULT CALLBACK onGetEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId, PCWSTR expression,
                                      PRJ_DIR_ENTRY_BUFFER_HANDLE buffer);
    static HRESULT CALLBACK onGetPlaceholderInfo(const PRJ_CALLBACK_DATA* data);
    static HRESULT CALLBACK onGetFileData(const PRJ_CALLBACK_DATA* data, UINT64 byteOffset, UINT32 length);
    static void CALLBACK onCancel(const PRJ_CALLBACK_DATA* data);

    // The work itself, independent of whether it runs in the callback or on a worker.
    HRESULT startEnumeration(const GUID& id, const std::wstring& path);
    HRESULT fillEnumeration(const GUID& id, PRJ_CALLBACK_DATA_FLAGS flags, const std::wstring& expression,
                            PRJ_DIR_ENTRY_BUFFER_HANDLE buffer);
    HRESULT writePlaceholder(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context, const std::wstring& path);
    HRESULT writeFileData(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context, INT32 commandId, const GUID& dataStreamId,
                          const std::wstring& path, UINT64 byteOffset, UINT32 length);
    size_t dataChunkSize(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context);

    // Runs `work` now (synchronous mode or shutting down) or pends it; `work` returns the result and
    // fills `extended` when the completion needs extended parameters (enumeration).
    using Work = std::function<HRESULT(PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS* extended)>;
    HRESULT dispatch(const PRJ_CALLBACK_DATA* data, Work work);

    MirrorOptions options_;
    SourceTree source_;
    // Owned by the thread calling start()/stop(). Callbacks use the context in their PRJ_CALLBACK_DATA
    // instead: they may run before PrjStartVirtualizing has returned.
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context_ = nullptr;
    std::atomic<UINT32> writeAlignment_{0};  // from PrjGetVirtualizationInstanceInfo, on first use
    hc::tools::HydrationProgress hydrations_;  // before pool_: outlives the workers that hydrate
    std::unique_ptr<WorkerPool> pool_;
    CancellationTracker cancellations_;
    EnumerationSessions<SourceEntry> enumerations_;
};

}  // namespace prjfs
