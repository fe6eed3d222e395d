// wil/resource.h (hostcompute Win32 compatibility component): the RAII types of the Windows
// Implementation Libraries that HCS and ProjFS programs use, written from WIL's public documentation
// (https://github.com/microsoft/wil/wiki/RAII-resource-wrappers). C++17 or later, header-only; the events
// call libhostcompute-win32 (CreateEventW, SetEvent, ...), the HCS types libcomputecore.
//
//   wil::unique_any<pointer, close_fn_t, close_fn>  owns one handle and closes it with close_fn
//   unique_handle (CloseHandle, NULL invalid), unique_hfile (CloseHandle, INVALID_HANDLE_VALUE invalid),
//   unique_hlocal / unique_hlocal_string (LocalFree), unique_cotaskmem / unique_cotaskmem_string
//   (CoTaskMemFree), unique_event (a Win32 event with create / SetEvent / wait),
//   unique_hcs_operation / unique_hcs_system / unique_hcs_process (HcsClose*).
//
// Ownership: one owner; move-only. `&x` and x.put() close what x holds and give the address to store a new
// handle into (for out-parameters); x.addressof() gives the address without closing.
#ifndef HOSTCOMPUTE_COMPAT_WIL_RESOURCE_H
#define HOSTCOMPUTE_COMPAT_WIL_RESOURCE_H

#include <computecore.h>

#include <cstddef>
#include <type_traits>
#include <utility>

#include "../windows.h"
#include "result.h"

namespace wil {

// invalid_t / invalid: the "no handle" value; nullptr by default, an integer for handles such as
// INVALID_HANDLE_VALUE (unique_hfile) that cannot be template arguments as pointers.
template <typename pointer, typename close_fn_t, close_fn_t close_fn, typename invalid_t = std::nullptr_t,
          invalid_t invalid = invalid_t()>
class unique_any {
public:
    using pointer_type = pointer;

    unique_any() noexcept : ptr_(invalid_value()) {}
    unique_any(std::nullptr_t) noexcept : ptr_(invalid_value()) {}
    explicit unique_any(pointer ptr) noexcept : ptr_(ptr) {}
    unique_any(const unique_any&) = delete;
    unique_any& operator=(const unique_any&) = delete;
    unique_any(unique_any&& other) noexcept : ptr_(other.release()) {}
    unique_any& operator=(unique_any&& other) noexcept
    {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    unique_any& operator=(std::nullptr_t) noexcept
    {
        reset();
        return *this;
    }
    ~unique_any() { reset(); }

    static pointer invalid_value() noexcept
    {
        if constexpr (std::is_same_v<invalid_t, std::nullptr_t>) {
            return pointer();
        } else {
            return reinterpret_cast<pointer>(invalid);
        }
    }
    bool is_valid() const noexcept { return ptr_ != invalid_value(); }
    explicit operator bool() const noexcept { return is_valid(); }

    pointer get() const noexcept { return ptr_; }
    // Closes the current handle (if any) and takes `ptr`.
    void reset(pointer ptr = invalid_value()) noexcept
    {
        if (is_valid()) {
            close_fn(ptr_);
        }
        ptr_ = ptr;
    }
    void reset(std::nullptr_t) noexcept { reset(); }
    // Gives up ownership without closing.
    pointer release() noexcept
    {
        pointer ptr = ptr_;
        ptr_ = invalid_value();
        return ptr;
    }
    pointer* put() noexcept
    {
        reset();
        return &ptr_;
    }
    pointer* operator&() noexcept { return put(); }
    pointer* addressof() noexcept { return &ptr_; }
    void swap(unique_any& other) noexcept { std::swap(ptr_, other.ptr_); }

private:
    pointer ptr_;
};

template <typename pointer, typename close_fn_t, close_fn_t close_fn, typename invalid_t, invalid_t invalid>
void swap(unique_any<pointer, close_fn_t, close_fn, invalid_t, invalid>& a,
          unique_any<pointer, close_fn_t, close_fn, invalid_t, invalid>& b) noexcept
{
    a.swap(b);
}

using unique_handle = unique_any<HANDLE, decltype(&::CloseHandle), ::CloseHandle>;
using unique_hfile = unique_any<HANDLE, decltype(&::CloseHandle), ::CloseHandle, LONG_PTR, -1>;
using unique_hlocal = unique_any<HLOCAL, decltype(&::LocalFree), ::LocalFree>;
using unique_hlocal_string = unique_any<PWSTR, decltype(&::LocalFree), ::LocalFree>;
using unique_cotaskmem = unique_any<void*, decltype(&::CoTaskMemFree), ::CoTaskMemFree>;
using unique_cotaskmem_string = unique_any<PWSTR, decltype(&::CoTaskMemFree), ::CoTaskMemFree>;

using unique_hcs_operation = unique_any<HCS_OPERATION, decltype(&::HcsCloseOperation), ::HcsCloseOperation>;
using unique_hcs_system = unique_any<HCS_SYSTEM, decltype(&::HcsCloseComputeSystem), ::HcsCloseComputeSystem>;
using unique_hcs_process = unique_any<HCS_PROCESS, decltype(&::HcsCloseProcess), ::HcsCloseProcess>;

enum class EventOptions {
    None = 0x0,
    ManualReset = 0x1,
    Signaled = 0x2,
};
DEFINE_ENUM_FLAG_OPERATORS(EventOptions)

// A Win32 event. create() throws wil::ResultException when the event cannot be made; try_create() returns
// false instead. Creating again replaces (and closes) the previous event.
class unique_event : public unique_handle {
public:
    unique_event() = default;
    explicit unique_event(HANDLE event) noexcept : unique_handle(event) {}
    explicit unique_event(EventOptions options) { create(options); }

    bool try_create(EventOptions options = EventOptions::None, PCWSTR name = nullptr,
                    LPSECURITY_ATTRIBUTES attributes = nullptr, bool* alreadyExists = nullptr)
    {
        HANDLE event = ::CreateEventW(attributes, WI_IsFlagSet(options, EventOptions::ManualReset),
                                      WI_IsFlagSet(options, EventOptions::Signaled), name);
        if (alreadyExists != nullptr) {
            *alreadyExists = false;
        }
        if (event == nullptr) {
            return false;
        }
        reset(event);
        return true;
    }
    void create(EventOptions options = EventOptions::None, PCWSTR name = nullptr,
                LPSECURITY_ATTRIBUTES attributes = nullptr, bool* alreadyExists = nullptr)
    {
        THROW_LAST_ERROR_IF(!try_create(options, name, attributes, alreadyExists));
    }
    void SetEvent() const noexcept { ::SetEvent(get()); }
    void ResetEvent() const noexcept { ::ResetEvent(get()); }
    // True when the event is signalled within `timeoutMs` (INFINITE: waits until it is).
    bool wait(DWORD timeoutMs = INFINITE) const noexcept
    {
        return ::WaitForSingleObject(get(), timeoutMs) == WAIT_OBJECT_0;
    }
    bool is_signaled() const noexcept { return wait(0); }
};

}  // namespace wil

#endif  // HOSTCOMPUTE_COMPAT_WIL_RESOURCE_H
