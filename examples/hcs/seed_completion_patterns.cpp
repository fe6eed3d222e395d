// The three ways an HCS client learns that an operation finished, as in Microsoft's "Operation
// Completion Samples" (the seed): (1) waiting on the operation, (2) the operation's own completion
// callback, (3) the compute system's event callback with HcsEventOptionEnableOperationCallbacks, and the
// rule that (3) excludes operation callbacks on that handle. The code follows the sample line by line;
// wil:: becomes the small RAII types below and Windows events become std::promise.
//
// Usage: seed_completion_patterns [ID_PREFIX]   (talks to the hcsd at $HCS_SOCKET)
// Prints what each pattern observed and ends with "all patterns passed" (exit 0) or the failure (exit 1).
#include <computecore.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cwchar>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

// JSON document that represents an "Empty" virtual machine: the bare minimum necessary to create a
// virtual machine that doesn't have any guest nor storage attached to it. (Verbatim from the sample.)
constexpr auto c_EmptyVM =
    LR"(
{
    "SchemaVersion": {
        "Major": 2,
        "Minor": 1
    },
    "Owner": "Sample",
    "VirtualMachine": {
        "Chipset": {
            "Uefi": {}
        },
        "ComputeTopology": {
            "Memory": {
                "Backing": "Physical",
                "SizeInMB": 1024
            },
            "Processor": {
                "Count": 2
            }
        }
    },
    "ShouldTerminateOnLastHandleClosed": true
})";

// Callbacks that never fire would hang the sample forever; a test must fail instead.
constexpr auto c_CallbackTimeout = std::chrono::seconds(60);

// ---- the few wil:: pieces the sample uses ----

template <typename Handle, void (*Close)(Handle)>
class UniqueHandle {
public:
    UniqueHandle() = default;
    explicit UniqueHandle(Handle handle) : handle_(handle) {}
    UniqueHandle(const UniqueHandle&) = delete;
    UniqueHandle& operator=(const UniqueHandle&) = delete;
    ~UniqueHandle() { reset(); }
    Handle get() const { return handle_; }
    Handle* put()
    {
        reset();
        return &handle_;
    }
    void reset(Handle handle = nullptr)
    {
        if (handle_ != nullptr) {
            Close(handle_);
        }
        handle_ = handle;
    }

private:
    Handle handle_ = nullptr;
};

void closeOperation(HCS_OPERATION operation)
{
    HcsCloseOperation(operation);
}
void closeSystem(HCS_SYSTEM system)
{
    HcsCloseComputeSystem(system);
}
void freeLocalString(PWSTR text)
{
    LocalFree(text);
}

using unique_hcs_operation = UniqueHandle<HCS_OPERATION, closeOperation>;
using unique_hcs_system = UniqueHandle<HCS_SYSTEM, closeSystem>;
using unique_hlocal_string = UniqueHandle<PWSTR, freeLocalString>;

std::string narrow(PCWSTR wide)
{
    if (wide == nullptr) {
        return "(none)";
    }
    std::mbstate_t state{};
    const wchar_t* source = wide;
    size_t length = std::wcsrtombs(nullptr, &source, 0, &state);
    if (length == static_cast<size_t>(-1)) {
        return "(not convertible)";
    }
    std::string text(length, '\0');
    source = wide;
    std::wcsrtombs(text.data(), &source, length + 1, &state);
    return text;
}

std::string hex(HRESULT hr)
{
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "0x%08X", static_cast<unsigned>(hr));
    return buffer;
}

// THROW_IF_FAILED_MSG(hr, "%ws", doc)
void throwIfFailed(HRESULT hr, const char* what, PCWSTR resultDoc = nullptr)
{
    std::printf("  %s -> %s%s%s\n", what, hex(hr).c_str(), resultDoc ? " result: " : "",
                resultDoc ? narrow(resultDoc).c_str() : "");
    if (FAILED(hr)) {
        throw std::runtime_error(std::string(what) + " failed with " + hex(hr) + ": " + narrow(resultDoc));
    }
}

void check(bool condition, const std::string& what)
{
    if (!condition) {
        throw std::runtime_error(what);
    }
}

std::wstring systemId(const std::wstring& prefix, int pattern)
{
    return prefix + L"-" + std::to_wstring(pattern) + L"-" + std::to_wstring(::getpid());
}

// ---- pattern 1: wait for the operation synchronously ----

void waitForOperationSynchronously(const std::wstring& prefix)
{
    std::printf("pattern 1: HcsWaitForOperationResult(INFINITE)\n");
    unique_hcs_operation operation{HcsCreateOperation(nullptr, nullptr)};
    check(operation.get() != nullptr, "HcsCreateOperation returned NULL");
    unique_hcs_system system;
    throwIfFailed(
        HcsCreateComputeSystem(systemId(prefix, 1).c_str(), c_EmptyVM, operation.get(), nullptr, system.put()),
        "HcsCreateComputeSystem");
    unique_hlocal_string resultDoc;
    throwIfFailed(HcsWaitForOperationResult(operation.get(), INFINITE, resultDoc.put()), "HcsWaitForOperationResult",
                  resultDoc.get());
    std::printf("pattern 1 passed\n");
}

// ---- pattern 2: an HCS operation callback ----

struct CompletionObservation {
    HCS_OPERATION_TYPE type = HcsOperationTypeNone;
    HRESULT result = E_FAIL;
    std::string resultDoc;
    std::promise<void> done;  // the sample's event object
};

void useOperationCallback(const std::wstring& prefix)
{
    std::printf("pattern 2: completion callback on an inline operation\n");
    CompletionObservation observed;
    auto signaled = observed.done.get_future();
    unique_hcs_system system;
    // The operation handle is not stored: the callback closes it.
    throwIfFailed(
        HcsCreateComputeSystem(systemId(prefix, 2).c_str(), c_EmptyVM,
                               HcsCreateOperation(&observed,
                                                  [](HCS_OPERATION operation, void* context) {
                                                      auto* seen = static_cast<CompletionObservation*>(context);
                                                      seen->type = HcsGetOperationType(operation);
                                                      unique_hlocal_string resultDoc;
                                                      seen->result = HcsGetOperationResult(operation, resultDoc.put());
                                                      seen->resultDoc = narrow(resultDoc.get());
                                                      HcsCloseOperation(operation);
                                                      seen->done.set_value();  // SetEvent(context)
                                                  }),
                               nullptr, system.put()),
        "HcsCreateComputeSystem");
    check(signaled.wait_for(c_CallbackTimeout) == std::future_status::ready,
          "the operation's completion callback did not run within 60 s");
    std::printf("  callback saw type %d, HcsGetOperationResult -> %s result: %s\n", static_cast<int>(observed.type),
                hex(observed.result).c_str(), observed.resultDoc.c_str());
    check(observed.type == HcsOperationTypeCreate, "the completed operation's type is not HcsOperationTypeCreate");
    throwIfFailed(observed.result, "HcsGetOperationResult (in the callback)");
    std::printf("pattern 2 passed\n");
}

// ---- pattern 3: the event callback's operation completion ----

struct EventObservation {
    HCS_EVENT_TYPE type = HcsEventInvalid;
    HCS_OPERATION_TYPE operationType = HcsOperationTypeNone;
    HRESULT result = E_FAIL;
    std::string resultDoc;
    std::atomic_flag signaled;  // only the first event answers the wait
    std::promise<void> done;
};

void useEventCallbackOperationCompletion(const std::wstring& prefix)
{
    std::printf("pattern 3: system event callback with HcsEventOptionEnableOperationCallbacks\n");
    EventObservation observed;
    auto signaled = observed.done.get_future();
    unique_hcs_system system;
    throwIfFailed(HcsCreateComputeSystem(systemId(prefix, 3).c_str(), c_EmptyVM, HcsCreateOperation(nullptr, nullptr),
                                         nullptr, system.put()),
                  "HcsCreateComputeSystem");
    throwIfFailed(HcsSetComputeSystemCallback(system.get(), HcsEventOptionEnableOperationCallbacks, &observed,
                                              [](HCS_EVENT* event, void* context) {
                                                  auto* seen = static_cast<EventObservation*>(context);
                                                  if (seen->signaled.test_and_set()) {
                                                      return;
                                                  }
                                                  seen->type = event->Type;
                                                  if (event->Type != HcsEventOperationCallback) {
                                                      seen->done.set_value();  // the check below reports it
                                                      return;
                                                  }
                                                  seen->operationType = HcsGetOperationType(event->Operation);
                                                  unique_hlocal_string resultDoc;
                                                  seen->result =
                                                      HcsGetOperationResult(event->Operation, resultDoc.put());
                                                  seen->resultDoc = narrow(resultDoc.get());
                                                  HcsCloseOperation(event->Operation);
                                                  seen->done.set_value();
                                              }),
                  "HcsSetComputeSystemCallback");
    check(signaled.wait_for(c_CallbackTimeout) == std::future_status::ready,
          "the system event callback did not deliver the create's completion within 60 s");
    std::printf("  event type 0x%08X for operation type %d, HcsGetOperationResult -> %s result: %s\n",
                static_cast<unsigned>(observed.type), static_cast<int>(observed.operationType),
                hex(observed.result).c_str(), observed.resultDoc.c_str());
    check(observed.type == HcsEventOperationCallback, "the event is not HcsEventOperationCallback");
    check(observed.operationType == HcsOperationTypeCreate, "the completed operation is not the create");
    throwIfFailed(observed.result, "HcsGetOperationResult (in the event callback)");

    // However, once the system callback has been set, using an operation with callback fails!
    unique_hcs_operation withCallback{HcsCreateOperation(nullptr, [](HCS_OPERATION, void*) {})};
    HRESULT result = HcsStartComputeSystem(system.get(), withCallback.get(), nullptr);
    std::printf("  HcsStartComputeSystem with an operation callback -> %s\n", hex(result).c_str());
    check(result == HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET,
          "expected HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET (0x80370119) from HcsStartComputeSystem, got " +
              hex(result));
    std::printf("pattern 3 passed\n");
}

}  // namespace

int main(int argc, char** argv)
{
    std::setlocale(LC_ALL, "C.UTF-8");
    std::wstring prefix = L"SeedSample";
    if (argc > 1) {
        std::string arg = argv[1];
        prefix.assign(arg.begin(), arg.end());
    }
    try {
        waitForOperationSynchronously(prefix);
        useOperationCallback(prefix);
        useEventCallbackOperationCompletion(prefix);
    } catch (const std::exception& error) {
        std::printf("FAILED: %s\n", error.what());
        return 1;
    }
    std::printf("all patterns passed\n");
    return 0;
}
