// hostcompute/hcs.hpp — a small C++ layer over computecore.h: RAII handles, std::function callbacks,
// and results returned as values (no exceptions). It adds nothing the C API cannot do; every member
// is a few C calls.
//
//   auto created = hostcompute::hcs::System::create(L"vm", config);
//   if (!created.ok()) { log(created.outcome.document); return created.outcome.hr; }
//   hostcompute::hcs::System vm = std::move(created.value);
//   vm.onEvent([](const HCS_EVENT& e) { ... });
//   auto started = vm.start();
//
//   auto created = hostcompute::hcs::Process::create(vm, LR"({"CommandArgs":["cat"],"CreateStdInPipe":true,
//                                                              "CreateStdOutPipe":true})");
//   hostcompute::hcs::Process cat = std::move(created.value);
//   write(cat.stdIn().get(), "hi", 2); cat.stdIn().reset();    // EOF for the guest's cat
//   read(cat.stdOut().get(), buffer, sizeof buffer);
//   auto status = cat.waitForExit();                           // ProcessStatus document
#pragma once

#include <computecore.h>
#include <unistd.h>

#include <cstdint>
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
using UniqueProcess = UniqueHandle<HCS_PROCESS, HcsCloseProcess>;

// A file descriptor this object owns (a process's stdio end), closed when it goes away.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    // The descriptor of an HCS_PROCESS_INFORMATION stdio HANDLE (NULL = none).
    static Fd fromHandle(HANDLE handle)
    {
        return Fd(handle ? static_cast<int>(reinterpret_cast<intptr_t>(handle)) : -1);
    }
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept
    {
        if (this != &other) reset(std::exchange(other.fd_, -1));
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1)
    {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// The one way this layer registers an HCS_EVENT_CALLBACK (for System and Process): owns the
// std::function the C callback's context points to. The owner must close its handle (which waits for
// a running callback) before this is destroyed.
class EventSubscription {
public:
    using Handler = std::function<void(const HCS_EVENT&)>;

    // `registerCallback(context, callback)` makes the C call (HcsSet*Callback) and returns its HRESULT.
    template <typename Register>
    HRESULT subscribe(Handler handler, Register&& registerCallback)
    {
        auto owned = std::make_unique<Handler>(std::move(handler));
        HRESULT hr = registerCallback(static_cast<void*>(owned.get()), &EventSubscription::thunk);
        if (SUCCEEDED(hr)) handler_ = std::move(owned);
        return hr;
    }

private:
    static void CALLBACK thunk(HCS_EVENT* event, void* context) { (*static_cast<Handler*>(context))(*event); }

    std::unique_ptr<Handler> handler_;
};

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
    System(const System&) = delete;
    System& operator=(const System&) = delete;

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
        return events_.subscribe(std::move(handler), [&](void* context, HCS_EVENT_CALLBACK callback) {
            return HcsSetComputeSystemCallback(handle_.get(), options, context, callback);
        });
    }

private:
    Outcome run(HRESULT (*call)(HCS_SYSTEM, HCS_OPERATION, PCWSTR), const wchar_t* text, DWORD timeoutMs)
    {
        Operation operation;
        HRESULT hr = call(handle_.get(), operation.get(), text);
        return FAILED(hr) ? Outcome{hr, {}} : operation.wait(timeoutMs);
    }

    UniqueSystem handle_;
    EventSubscription events_;
};

// A process in a compute system (HCS_PROCESS) and the stdio descriptors it came with, which this object
// owns: read and write them directly; reset() one to close it (closing stdIn is the process's EOF).
// Calls below start the C call with a fresh operation and wait for it.
class Process {
public:
    using EventHandler = std::function<void(const HCS_EVENT&)>;
    // ProcessExited: the ProcessStatus document {"ProcessId","Exited","ExitCode",...}.
    using ExitHandler = std::function<void(const std::wstring& processStatus)>;

    Process() = default;
    Process(Process&&) noexcept = default;
    Process& operator=(Process&& other) noexcept
    {
        handle_ = std::move(other.handle_);  // closes ours (waits for its callbacks) first
        events_ = std::move(other.events_);
        processId_ = other.processId_;
        stdIn_ = std::move(other.stdIn_);
        stdOut_ = std::move(other.stdOut_);
        stdErr_ = std::move(other.stdErr_);
        return *this;
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process() { handle_.reset(); }  // unregisters the callback before the handler is freed

    // HcsCreateProcess with a ProcessParameters document; waits until the process runs in the guest.
    static Result<Process> create(const System& system, const std::wstring& parameters, DWORD timeoutMs = INFINITE)
    {
        Result<Process> result;
        Operation operation;
        HCS_PROCESS handle = nullptr;
        result.outcome.hr = HcsCreateProcess(system.get(), parameters.c_str(), operation.get(), nullptr, &handle);
        result.value.handle_.reset(handle);
        if (FAILED(result.outcome.hr)) return result;
        HCS_PROCESS_INFORMATION info{};
        PWSTR document = nullptr;
        result.outcome.hr = HcsWaitForOperationResultAndProcessInfo(operation.get(), timeoutMs, &info, &document);
        result.outcome.document = takeLocalString(document);
        result.value.adopt(info);
        return result;
    }

    // HcsOpenProcess by the guest's process id (from any client process); no stdio comes with it.
    static Result<Process> open(const System& system, DWORD processId)
    {
        Result<Process> result;
        HCS_PROCESS handle = nullptr;
        result.outcome.hr = HcsOpenProcess(system.get(), processId, GENERIC_ALL, &handle);
        result.value.handle_.reset(handle);
        if (SUCCEEDED(result.outcome.hr)) result.value.processId_ = processId;
        return result;
    }

    HCS_PROCESS get() const { return handle_.get(); }
    explicit operator bool() const { return static_cast<bool>(handle_); }
    DWORD id() const { return processId_; }
    Fd& stdIn() { return stdIn_; }
    Fd& stdOut() { return stdOut_; }
    Fd& stdErr() { return stdErr_; }

    // SignalProcessOptions {"Signal": n} (a Linux signal number in the guest).
    Outcome signal(int signal, DWORD timeoutMs = INFINITE)
    {
        return run(HcsSignalProcess, L"{\"Signal\":" + std::to_wstring(signal) + L"}", timeoutMs);
    }
    Outcome terminate(DWORD timeoutMs = INFINITE) { return run(HcsTerminateProcess, {}, timeoutMs); }
    // The console size of a process created with EmulateConsole.
    Outcome resize(unsigned height, unsigned width, DWORD timeoutMs = INFINITE)
    {
        return modify(L"{\"Operation\":\"ConsoleSize\",\"ConsoleSize\":{\"Height\":" + std::to_wstring(height) +
                          L",\"Width\":" + std::to_wstring(width) + L"}}",
                      timeoutMs);
    }
    Outcome modify(const std::wstring& settings, DWORD timeoutMs = INFINITE)
    {
        return run(HcsModifyProcess, settings, timeoutMs);
    }
    // ProcessStatus.
    Outcome properties(DWORD timeoutMs = INFINITE) { return run(HcsGetProcessProperties, {}, timeoutMs); }
    // ProcessStatus once the process has exited; HCS_E_OPERATION_TIMEOUT after timeoutMs.
    Outcome waitForExit(DWORD timeoutMs = INFINITE)
    {
        PWSTR document = nullptr;
        HRESULT hr = HcsWaitForProcessExit(handle_.get(), timeoutMs, &document);
        return Outcome{hr, takeLocalString(document)};
    }

    // Registers `handler` for this handle's events (once per handle, as in the C API).
    HRESULT onEvent(EventHandler handler, HCS_EVENT_OPTIONS options = HcsEventOptionNone)
    {
        return events_.subscribe(std::move(handler), [&](void* context, HCS_EVENT_CALLBACK callback) {
            return HcsSetProcessCallback(handle_.get(), options, context, callback);
        });
    }
    // onEvent for ProcessExited only.
    HRESULT onExit(ExitHandler handler)
    {
        return onEvent([handler = std::move(handler)](const HCS_EVENT& event) {
            if (event.Type == HcsEventProcessExited) handler(event.EventData ? event.EventData : L"");
        });
    }

private:
    void adopt(const HCS_PROCESS_INFORMATION& info)
    {
        processId_ = info.ProcessId;
        stdIn_ = Fd::fromHandle(info.StdInput);
        stdOut_ = Fd::fromHandle(info.StdOutput);
        stdErr_ = Fd::fromHandle(info.StdError);
    }

    Outcome run(HRESULT (*call)(HCS_PROCESS, HCS_OPERATION, PCWSTR), const std::wstring& text, DWORD timeoutMs)
    {
        Operation operation;
        HRESULT hr = call(handle_.get(), operation.get(), text.empty() ? nullptr : text.c_str());
        return FAILED(hr) ? Outcome{hr, {}} : operation.wait(timeoutMs);
    }

    UniqueProcess handle_;
    EventSubscription events_;
    DWORD processId_ = 0;
    Fd stdIn_;
    Fd stdOut_;
    Fd stdErr_;
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
