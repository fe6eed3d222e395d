// hc::Result<T> — the one error vocabulary inside hostcompute: a value, or an HRESULT with a message
// that says what was wrong. Converted to a bare HRESULT only at the C API boundary.
#pragma once

#include <hostcompute/win.h>

#include <string>
#include <utility>
#include <variant>

namespace hc {

struct Error {
    HRESULT hr = E_FAIL;
    std::string message;
};

inline Error makeError(HRESULT hr, std::string message)
{
    return Error{hr, std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    const Error& error() const { return std::get<1>(state_); }
    HRESULT hr() const { return ok() ? S_OK : error().hr; }

private:
    std::variant<T, Error> state_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return error_; }
    HRESULT hr() const { return ok_ ? S_OK : error_.hr; }

private:
    Error error_;
    bool ok_ = true;
};

using Status = Result<void>;

}  // namespace hc
