// The objects behind the HANDLEs of the Win32 compatibility library (events, threads, files) and the table
// that makes a HANDLE safe to pass back: every call looks its handle up, so a closed or made-up handle is
// ERROR_INVALID_HANDLE, never a crash.
//
// Lifecycle: an object is created by CreateEventW / CreateThread / CreateFile*, registered in the table
// (which owns a shared_ptr to it) and returned as its address. CloseHandle removes it from the table; calls
// already inside the object (a wait, a thread still running) keep their own shared_ptr, so the object lives
// until the last of them ends. One mutex guards the table; each object has its own lock for its state.
#pragma once

#include <hostcompute/win.h>

#include <condition_variable>
#include <memory>
#include <mutex>

namespace hc::win32 {

class HandleObject {
public:
    virtual ~HandleObject() = default;
    // Waits until signalled; false after `timeoutMs` (INFINITE: no limit).
    virtual bool wait(DWORD timeoutMs) = 0;
};

// An event, or the "has ended" state of a thread (a manual-reset event set when its function returns).
class Signal : public HandleObject {
public:
    Signal(bool manualReset, bool initial) : manualReset_(manualReset), signaled_(initial) {}
    void set();
    void reset();
    bool wait(DWORD timeoutMs) override;

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    const bool manualReset_;
    bool signaled_;
};

// Adds an object to the table and returns its handle.
HANDLE registerHandle(std::shared_ptr<HandleObject> object);
// The object of a handle, or null (and ERROR_INVALID_HANDLE as the last error) for an unknown handle.
std::shared_ptr<HandleObject> lookupHandle(HANDLE handle);
// Removes a handle from the table; false when it was not there.
bool unregisterHandle(HANDLE handle);

// Sets the calling thread's last error from an errno value (used after failed system calls).
void setLastErrorFromErrno(int err);

}  // namespace hc::win32
