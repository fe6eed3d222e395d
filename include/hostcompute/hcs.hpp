// hostcompute/hcs.hpp — a small C++ layer over computecore.h: RAII handles, std::function callbacks,
// and results returned as values (no exceptions). It adds nothing the C API cannot do; every member
// is a few C calls.
//
//   auto created = hostcompute::hcs::System::create(L"vm", config);
//   if (!created.ok()) { log(created.outcome.document); return created.outcome.hr; }
//   hostcompute::hcs::System vm = std::move(created.value);
//   vm.onEvent([](const HCS_EVENT& e) { ... });
//   auto started = vm.start();
#pragma once

#include <computecore.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace hostcompute::hcs {

// The outcome of an HCS call: its HRESULT and the result (or ResultError) document, if any.
struct Outcome {
    HRESULT hr = E_FAIL;
    std::wstring document;
    bool ok() const { return SUCCEEDED(hr); }
};

template <typename T>
struct Result {
    Outcome outcome;
    T value{};
    bool ok() const { return outcome.ok(); }
};

// Takes ownership of a library-allocated string (frees it with LocalFree).
inline std::wstring takeLocalString(PWSTR text)
{
    std::wstring copy = text ? std::wstring(text) : std::wstring();
    LocalFree(text);
    return copy;
}

// Move-only owner of a handle closed with `Close`.
template <typename Handle, void (*Close)(Handle)>
class UniqueHandle {
public:
    UniqueHandle() = default;
    explicit UniqueHandle(Handle handle) : handle_(handle) {}
    UniqueHandle(UniqueHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    UniqueHandle& operator=(UniqueHandle&& other) noexcept
    {
        if (this != &other) reset(std::exchange(other.handle_, nullptr));
        return *this;
    }
    ~UniqueHandle() { reset(); }
    UniqueHandle(const UniqueHandle&) = delete;
    UniqueHandle& operator=(const UniqueHandle&) = delete;

    Handle get() const { return handle_; }
    explicit operator bool() const { return handle_ != nullptr; }
    Handle release() { return std::exchange(handle_, nullptr); }
    void reset(Handle handle = nullptr)
    {
        if (handle_) Close(handle_);
        handle_ = handle;
    }

private:
    Handle handle_ = nullptr;
};

using UniqueOperation = UniqueHandle<HCS_OPERATION, HcsCloseOperation>;
using UniqueSystem = UniqueHandle<HCS_SYSTEM, HcsCloseComputeSystem>;

// An operation; optionally its completion runs a std::function (on the library's event thread).
// Destroying the Operation closes the handle first — which waits for a completion already running —
// and then frees the function. Do not destroy an Operation from inside its own completion.
class Operation {
public:
    using Completion = std::function<void(Operation&, const Outcome&)>;

    Operation() : handle_(HcsCreateOperation(nullptr, nullptr)) {}
    explicit Operation(Completion completion)
        : completion_(std::make_unique<Completion>(std::move(completion))),
          handle_(HcsCreateOperation(this, &Operation::onComplete))
    {
    }
    Operation(const Operation&) = delete;
    Operation& operator=(const Operation&) = delete;
    Operation(Operation&&) = delete;  // the C callback's context is this object's address
    Operation& operator=(Operation&&) = delete;
    ~Operation() { handle_.reset(); }  // close (waits for a running completion) before freeing it

    HCS_OPERATION get() const { return handle_.get(); }
    explicit operator bool() const { return static_cast<bool>(handle_); }

    Outcome wait(DWORD timeoutMs = INFINITE) const
    {
        PWSTR document = nullptr;
        HRESULT hr = HcsWaitForOperationResult(handle_.get(), timeoutMs, &document);
        return Outcome{hr, takeLocalString(document)};
    }
    Outcome result() const
    {
        PWSTR document = nullptr;
        HRESULT hr = HcsGetOperationResult(handle_.get(), &document);
        return Outcome{hr, takeLocalString(document)};
    }
    HRESULT cancel() const { return HcsCancelOperation(handle_.get()); }
    HCS_OPERATION_TYPE type() const { return HcsGetOperationType(handle_.get()); }

private:
    static void CALLBACK onComplete(HCS_OPERATION, void* context)
    {
        auto* self = static_cast<Operation*>(context);
        Outcome outcome = self->result();
        (*self->completion_)(*self, outcome);
    }

    std::unique_ptr<Completion> completion_;
    UniqueOperation handle_;
};

// A compute system handle. Calls below start the C call with a fresh operation and wait for it;
// for asynchronous use, pass get() and an Operation's get() to the C functions.
class System {
public:
    using EventHandler = std::function<void(const HCS_EVENT&)>;

    System() = default;
    System(System&&) noexcept = default;
    System& operator=(System&& other) noexcept
    {
        handle_ = std::move(other.handle_);  // closes ours (waits for its callbacks) first
        events_ = std::move(other.events_);
        return *this;
    }
    ~System() { handle_.reset(); }  // unregisters the callback before the handler is freed

    static Result<System> create(const std::wstring& id, const std::wstring& configuration, DWORD timeoutMs = INFINITE)
    {
        Result<System> result;
        Operation operation;
        HCS_SYSTEM handle = nullptr;
        result.outcome.hr =
            HcsCreateComputeSystem(id.c_str(), configuration.c_str(), operation.get(), nullptr, &handle);
        result.value.handle_.reset(handle);
        if (SUCCEEDED(result.outcome.hr)) result.outcome = operation.wait(timeoutMs);
        return result;
    }

    static Result<System> open(const std::wstring& id)
    {
        Result<System> result;
        HCS_SYSTEM handle = nullptr;
        result.outcome.hr = HcsOpenComputeSystem(id.c_str(), GENERIC_ALL, &handle);
        result.value.handle_.reset(handle);
        return result;
    }

    HCS_SYSTEM get() const { return handle_.get(); }
    explicit operator bool() const { return static_cast<bool>(handle_); }

    Outcome start(const wchar_t* options = nullptr, DWORD timeoutMs = INFINITE)
    {
        return run(HcsStartComputeSystem, options, timeoutMs);
    }
    Outcome shutDown(const wchar_t* options = nullptr, DWORD timeoutMs = INFINITE)
    {
        return run(HcsShutDownComputeSystem, options, timeoutMs);
    }
    Outcome terminate(const wchar_t* options = nullptr, DWORD timeoutMs = INFINITE)
    {
        return run(HcsTerminateComputeSystem, options, timeoutMs);
    }
    Outcome crash(const wchar_t* options = nullptr, DWORD timeoutMs = INFINITE)
    {
        return run(HcsCrashComputeSystem, options, timeoutMs);
    }
    Outcome pause(const wchar_t* options = nullptr, DWORD timeoutMs = INFINITE)
    {
        return run(HcsPauseComputeSystem, options, timeoutMs);
    }
    Outcome resume(const wchar_t* options = nullptr, DWORD timeoutMs = INFINITE)
    {
        return run(HcsResumeComputeSystem, options, timeoutMs);
    }
    Outcome save(const wchar_t* options = nullptr, DWORD timeoutMs = INFINITE)
    {
        return run(HcsSaveComputeSystem, options, timeoutMs);
    }
    Outcome properties(const wchar_t* query = nullptr, DWORD timeoutMs = INFINITE)
    {
        return run(HcsGetComputeSystemProperties, query, timeoutMs);
    }
    Outcome modify(const std::wstring& configuration, DWORD timeoutMs = INFINITE)
    {
        Operation operation;
        HRESULT hr = HcsModifyComputeSystem(handle_.get(), operation.get(), configuration.c_str(), nullptr);
        return FAILED(hr) ? Outcome{hr, {}} : operation.wait(timeoutMs);
    }
    Outcome waitForExit(DWORD timeoutMs = INFINITE)
    {
        PWSTR document = nullptr;
        HRESULT hr = HcsWaitForComputeSystemExit(handle_.get(), timeoutMs, &document);
        return Outcome{hr, takeLocalString(document)};
    }

    // Registers `handler` for this handle's events (once per handle, as in the C API).
    HRESULT onEvent(EventHandler handler, HCS_EVENT_OPTIONS options = HcsEventOptionNone)
    {
        auto owned = std::make_unique<EventHandler>(std::move(handler));
        HRESULT hr = HcsSetComputeSystemCallback(handle_.get(), options, owned.get(), &System::onEventThunk);
        if (SUCCEEDED(hr)) events_ = std::move(owned);
        return hr;
    }

private:
    Outcome run(HRESULT (*call)(HCS_SYSTEM, HCS_OPERATION, PCWSTR), const wchar_t* text, DWORD timeoutMs)
    {
        Operation operation;
        HRESULT hr = call(handle_.get(), operation.get(), text);
        return FAILED(hr) ? Outcome{hr, {}} : operation.wait(timeoutMs);
    }

    static void CALLBACK onEventThunk(HCS_EVENT* event, void* context)
    {
        (*static_cast<EventHandler*>(context))(*event);
    }

    UniqueSystem handle_;
    std::unique_ptr<EventHandler> events_;
};

// HcsEnumerateComputeSystems, waited for.
inline Outcome enumerateSystems(const wchar_t* query = nullptr, DWORD timeoutMs = INFINITE)
{
    Operation operation;
    HRESULT hr = HcsEnumerateComputeSystems(query, operation.get());
    return FAILED(hr) ? Outcome{hr, {}} : operation.wait(timeoutMs);
}

// HcsGetServiceProperties.
inline Outcome serviceProperties(const wchar_t* query = nullptr)
{
    PWSTR document = nullptr;
    HRESULT hr = HcsGetServiceProperties(query, &document);
    return Outcome{hr, takeLocalString(document)};
}

}  // namespace hostcompute::hcs
