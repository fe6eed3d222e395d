// TestProvider: a ProjFS provider for integration tests, written against the public C API only.
// It projects an in-memory tree, counts every callback, measures how many run at once, and lets the
// test decide per callback kind whether to answer synchronously, from a worker thread, or to hold the
// command until the test completes (or never completes) it.
#pragma once

#include <projectedfslib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace projfs_test {

enum class Callback { StartEnum, GetEnum, EndEnum, PlaceholderInfo, FileData, Count };

enum class Completion {
    Sync,    // answer inside the callback
    Worker,  // pend, then complete from a new thread at once
    Held,    // pend and queue for the test (waitHeld / completeHeld); never completed otherwise
    Queue,   // pend, then complete from the provider's one long-lived completion thread
};

// A pended command the test holds. Everything needed to complete it later is copied here.
struct HeldCommand {
    Callback kind = Callback::Count;
    INT32 commandId = 0;
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context = nullptr;
    std::wstring path;
    GUID dataStreamId{};
    UINT64 byteOffset = 0;
    UINT32 length = 0;
    GUID enumerationId{};
    PRJ_DIR_ENTRY_BUFFER_HANDLE buffer = nullptr;
    PRJ_CALLBACK_DATA_FLAGS flags{};
    std::wstring expression;
};

// Deterministic content for large generated files: byte at `offset` depends on offset and seed only.
std::string generatedContent(uint64_t offset, size_t length, uint32_t seed);

// Lifecycle: create, populate the tree, start a VirtualizationRoot with callbacks(); the object must
// outlive PrjStopVirtualizing. Worker-mode threads are counted; drainWorkers() (called by
// VirtualizationRoot::stop before PrjStopVirtualizing) waits for them.
class TestProvider {
public:
    TestProvider();
    ~TestProvider();
    TestProvider(const TestProvider&) = delete;
    TestProvider& operator=(const TestProvider&) = delete;

    // ---- the tree (paths use '/', relative to the root) ----
    void addDirectory(const std::string& path);
    void addFile(const std::string& path, std::string content);
    void addGeneratedFile(const std::string& path, uint64_t size, uint32_t seed);
    std::string contentOf(const std::string& path) const;  // whole content (small files)

    // ---- behaviour ----
    void setCompletion(Callback kind, Completion completion);
    // Makes every callback of `kind` for `path` ('/'-separated) fail with `hr`.
    void failPath(Callback kind, const std::string& path, HRESULT hr);
    // GetFileData for `path` writes data up to `offset` and then fails, `times` times.
    void failFileDataAt(const std::string& path, uint64_t offset, int times);
    // Each callback sleeps this long (to measure concurrency under load).
    void setCallbackDelay(std::chrono::milliseconds delay);
    // Registers CancelCommandCallback (default true).
    void setCancelCallback(bool enabled) { withCancel_ = enabled; }

    PRJ_CALLBACKS callbacks() const;

    // ---- observation ----
    int count(Callback kind) const { return counts_[static_cast<int>(kind)].load(); }
    int placeholderRequests(const std::string& path) const;  // by '/'-path as asked
    std::vector<std::string> placeholderLog() const;
    int restartScans() const { return restartScans_.load(); }  // Gets flagged RESTART_SCAN
    int maxConcurrency() const { return maxInFlight_.load(); }
    int inFlight() const { return inFlight_.load(); }
    int totalCallbacks() const { return totalCallbacks_.load(); }
    std::set<std::thread::id> callbackThreads() const;
    std::vector<INT32> cancelledCommands() const;
    bool waitForCancel(INT32 commandId, std::chrono::milliseconds timeout);
    // Distinct enumeration ids seen by Start / End.
    std::set<std::string> startedEnumerations() const;
    std::set<std::string> endedEnumerations() const;

    // ---- held commands ----
    std::optional<HeldCommand> waitHeld(std::chrono::milliseconds timeout);
    // Does the work of the command (placeholder, data, enumeration fill) unless `hr` is a failure,
    // then calls PrjCompleteCommand and returns its result.
    HRESULT completeHeld(const HeldCommand& command, HRESULT hr = S_OK);

    void drainWorkers();

    // Does the work of a command; public so tests can finish a held command in steps.
    HRESULT doWork(const HeldCommand& command);

private:
    struct Node;
    struct EnumSession;

    static TestProvider* self(const PRJ_CALLBACK_DATA* data);
    static HRESULT CALLBACK onStartEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId);
    static HRESULT CALLBACK onEndEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId);
    static HRESULT CALLBACK onGetEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId, PCWSTR expression,
                                      PRJ_DIR_ENTRY_BUFFER_HANDLE buffer);
    static HRESULT CALLBACK onGetPlaceholderInfo(const PRJ_CALLBACK_DATA* data);
    static HRESULT CALLBACK onGetFileData(const PRJ_CALLBACK_DATA* data, UINT64 byteOffset, UINT32 length);
    static void CALLBACK onCancel(const PRJ_CALLBACK_DATA* data);

    HRESULT handle(HeldCommand command);
    Node* addNode(const std::string& path, bool isDirectory);
    const Node* find(const std::wstring& path, std::wstring* spelling) const;
    std::optional<HRESULT> injectedFailure(Callback kind, const std::wstring& path) const;
    HRESULT fillEnumeration(const HeldCommand& command);
    HRESULT writeData(const HeldCommand& command);

    std::unique_ptr<Node> root_;
    mutable std::mutex mutex_;  // guards everything below that is not atomic
    Completion completion_[static_cast<int>(Callback::Count)] = {};
    std::map<std::pair<int, std::wstring>, HRESULT> failures_;
    std::map<std::wstring, std::pair<uint64_t, int>> dataFailures_;
    std::chrono::milliseconds delay_{0};
    bool withCancel_ = true;
    std::map<std::string, std::shared_ptr<EnumSession>> sessions_;
    std::set<std::string> started_, ended_;
    std::vector<std::string> placeholderLog_;
    std::set<std::thread::id> threads_;
    std::vector<INT32> cancelled_;
    std::condition_variable changed_;
    std::vector<HeldCommand> held_;
    int workers_ = 0;  // Worker threads alive plus Queue commands not yet completed
    std::deque<HeldCommand> queue_;
    bool queueStopping_ = false;
    std::condition_variable queueWake_;
    std::thread completionThread_;  // started on first Queue command, joined by the destructor
    void runCompletionQueue();

    std::atomic<int> counts_[static_cast<int>(Callback::Count)] = {};
    std::atomic<int> inFlight_{0}, maxInFlight_{0}, totalCallbacks_{0}, restartScans_{0};
};

// UTF-8 <-> wide for tests (C.UTF-8 conversions; invalid input aborts the test helper).
std::wstring wide(const std::string& utf8);
std::string narrow(const std::wstring& wide);
std::string guidText(const GUID& guid);

}  // namespace projfs_test
