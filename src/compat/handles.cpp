// The handle table, events, threads, waits and the per-thread last error.
#include "compat/handles.h"

#include <compat/windows.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <unordered_map>

#include "base/hresult.h"

namespace hc::win32 {
namespace {

thread_local DWORD t_lastError = ERROR_SUCCESS;

struct HandleTable {
    std::mutex mutex;
    std::unordered_map<HANDLE, std::shared_ptr<HandleObject>> objects;
};

HandleTable& table()
{
    static HandleTable* instance = new HandleTable;  // never destroyed: threads may close handles during exit
    return *instance;
}

// A thread started by CreateThread: its end is a manual-reset signal; the exit code is readable after it.
class Thread : public HandleObject {
public:
    bool wait(DWORD timeoutMs) override { return ended_.wait(timeoutMs); }
    void finish(DWORD exitCode)
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            exitCode_ = exitCode;
            running_ = false;
        }
        ended_.set();
    }
    DWORD exitCode()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return running_ ? static_cast<DWORD>(STILL_ACTIVE) : exitCode_;
    }

private:
    Signal ended_{true, false};
    std::mutex mutex_;
    bool running_ = true;
    DWORD exitCode_ = 0;
};

}  // namespace

void Signal::set()
{
    std::lock_guard<std::mutex> lock(mutex_);
    signaled_ = true;
    if (manualReset_) {
        changed_.notify_all();
    } else {
        changed_.notify_one();
    }
}

void Signal::reset()
{
    std::lock_guard<std::mutex> lock(mutex_);
    signaled_ = false;
}

bool Signal::wait(DWORD timeoutMs)
{
    std::unique_lock<std::mutex> lock(mutex_);
    auto isSet = [this] { return signaled_; };
    if (timeoutMs == INFINITE) {
        changed_.wait(lock, isSet);
    } else if (!changed_.wait_for(lock, std::chrono::milliseconds(timeoutMs), isSet)) {
        return false;
    }
    if (!manualReset_) {
        signaled_ = false;  // an auto-reset event releases one waiter
    }
    return true;
}

HANDLE registerHandle(std::shared_ptr<HandleObject> object)
{
    HANDLE handle = object.get();
    std::lock_guard<std::mutex> lock(table().mutex);
    table().objects.emplace(handle, std::move(object));
    return handle;
}

std::shared_ptr<HandleObject> lookupHandle(HANDLE handle)
{
    {
        std::lock_guard<std::mutex> lock(table().mutex);
        auto it = table().objects.find(handle);
        if (it != table().objects.end()) {
            return it->second;
        }
    }
    SetLastError(ERROR_INVALID_HANDLE);
    return nullptr;
}

bool unregisterHandle(HANDLE handle)
{
    std::shared_ptr<HandleObject> object;  // released after the table's lock (it may be the last reference)
    std::lock_guard<std::mutex> lock(table().mutex);
    auto it = table().objects.find(handle);
    if (it == table().objects.end()) {
        return false;
    }
    object = std::move(it->second);
    table().objects.erase(it);
    return true;
}

void setLastErrorFromErrno(int err)
{
    HRESULT hr = hresultFromErrno(err);
    SetLastError(HRESULT_FACILITY(hr) == FACILITY_WIN32 ? static_cast<DWORD>(HRESULT_CODE(hr))
                                                        : static_cast<DWORD>(ERROR_GEN_FAILURE));
}

}  // namespace hc::win32

using namespace hc::win32;

extern "C" {

HOSTCOMPUTE_API DWORD WINAPI GetLastError(void)
{
    return t_lastError;
}

HOSTCOMPUTE_API void WINAPI SetLastError(DWORD dwErrCode)
{
    t_lastError = dwErrCode;
}

HOSTCOMPUTE_API BOOL WINAPI CloseHandle(HANDLE hObject)
{
    if (!unregisterHandle(hObject)) {
        SetLastError(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    return TRUE;
}

HOSTCOMPUTE_API DWORD WINAPI WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds)
{
    std::shared_ptr<HandleObject> object = lookupHandle(hHandle);
    if (object == nullptr) {
        return WAIT_FAILED;
    }
    return object->wait(dwMilliseconds) ? static_cast<DWORD>(WAIT_OBJECT_0) : static_cast<DWORD>(WAIT_TIMEOUT);
}

HOSTCOMPUTE_API HANDLE WINAPI CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset,
                                           BOOL bInitialState, LPCWSTR lpName)
{
    (void)lpEventAttributes;  // security descriptors do not apply: the event lives in this process
    if (lpName != nullptr) {
        SetLastError(ERROR_NOT_SUPPORTED);  // named (cross-process) events are not provided
        return nullptr;
    }
    return registerHandle(std::make_shared<Signal>(bManualReset != FALSE, bInitialState != FALSE));
}

HOSTCOMPUTE_API BOOL WINAPI SetEvent(HANDLE hEvent)
{
    auto signal = std::dynamic_pointer_cast<Signal>(lookupHandle(hEvent));
    if (signal == nullptr) {
        SetLastError(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    signal->set();
    return TRUE;
}

HOSTCOMPUTE_API BOOL WINAPI ResetEvent(HANDLE hEvent)
{
    auto signal = std::dynamic_pointer_cast<Signal>(lookupHandle(hEvent));
    if (signal == nullptr) {
        SetLastError(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    signal->reset();
    return TRUE;
}

HOSTCOMPUTE_API HANDLE WINAPI CreateThread(LPSECURITY_ATTRIBUTES lpThreadAttributes, SIZE_T dwStackSize,
                                           LPTHREAD_START_ROUTINE lpStartAddress, LPVOID lpParameter,
                                           DWORD dwCreationFlags, LPDWORD lpThreadId)
{
    (void)lpThreadAttributes;
    (void)dwStackSize;  // a hint on Windows as well; the default stack is used
    if (lpStartAddress == nullptr) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    if ((dwCreationFlags & CREATE_SUSPENDED) != 0) {
        SetLastError(ERROR_NOT_SUPPORTED);
        return nullptr;
    }
    auto thread = std::make_shared<Thread>();
    std::mutex idMutex;
    std::condition_variable idKnown;
    DWORD id = 0;
    try {
        std::thread([thread, lpStartAddress, lpParameter, &idMutex, &idKnown, &id] {
            {
                // Notified under the lock: CreateThread's stack (idMutex, idKnown) is gone once it sees the id.
                std::lock_guard<std::mutex> lock(idMutex);
                id = GetCurrentThreadId();
                idKnown.notify_one();
            }
            thread->finish(lpStartAddress(lpParameter));
        }).detach();
    } catch (const std::system_error& e) {
        setLastErrorFromErrno(e.code().value());
        return nullptr;
    }
    {
        std::unique_lock<std::mutex> lock(idMutex);
        idKnown.wait(lock, [&id] { return id != 0; });
    }
    if (lpThreadId != nullptr) {
        *lpThreadId = id;
    }
    return registerHandle(thread);
}

HOSTCOMPUTE_API BOOL WINAPI GetExitCodeThread(HANDLE hThread, LPDWORD lpExitCode)
{
    auto thread = std::dynamic_pointer_cast<Thread>(lookupHandle(hThread));
    if (thread == nullptr) {
        SetLastError(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    if (lpExitCode == nullptr) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    *lpExitCode = thread->exitCode();
    return TRUE;
}

HOSTCOMPUTE_API DWORD WINAPI GetCurrentThreadId(void)
{
    return static_cast<DWORD>(::syscall(SYS_gettid));
}

HOSTCOMPUTE_API DWORD WINAPI GetCurrentProcessId(void)
{
    return static_cast<DWORD>(::getpid());
}

HOSTCOMPUTE_API void WINAPI Sleep(DWORD dwMilliseconds)
{
    if (dwMilliseconds == INFINITE) {
        for (;;) {
            ::pause();
        }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(dwMilliseconds));
}

HOSTCOMPUTE_API ULONGLONG WINAPI GetTickCount64(void)
{
    auto now = std::chrono::steady_clock::now().time_since_epoch();
    return static_cast<ULONGLONG>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

}  // extern "C"
