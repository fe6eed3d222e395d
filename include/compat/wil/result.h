// wil/result.h (hostcompute Win32 compatibility component): the error-handling macros of the Windows
// Implementation Libraries that HCS and ProjFS programs use, written from WIL's public documentation
// (https://github.com/microsoft/wil/wiki/Error-handling-helpers). C++17 or later, header-only.
//
//   THROW_*   throw wil::ResultException carrying the HRESULT (and the message, file and line in what()).
//   RETURN_*  return the failing HRESULT from the enclosing function (which must return HRESULT).
//   LOG_*     log the failure and evaluate to the HRESULT (or condition); execution continues.
//   FAIL_FAST_*  log the failure and abort() the process.
//   CATCH_RETURN() / CATCH_LOG()  end a try block: exception -> HRESULT (ResultFromCaughtException).
//
// Failures are logged to stderr as "<file>(<line>)\<function>: 0x<hr> <expression or message>" (WIL sends
// them to the debugger; Linux has none). THROW_* do not log: the exception carries the same text.
// The *_MSG variants take a printf format; "%ws" (the Windows spelling of a wide string) is accepted and
// means "%ls". WI_ASSERT checks only in builds without NDEBUG (WIL: only with RESULT_DEBUG).
#ifndef HOSTCOMPUTE_COMPAT_WIL_RESULT_H
#define HOSTCOMPUTE_COMPAT_WIL_RESULT_H

#include <stdarg.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>

#include "../windows.h"

namespace wil {

// The exception THROW_* throws: GetErrorCode() is the HRESULT, what() "0x<hr> <message> [<file>(<line>)]".
class ResultException : public std::exception {
public:
    explicit ResultException(HRESULT hr, std::string message = std::string()) : hr_(hr), what_(std::move(message)) {}
    HRESULT GetErrorCode() const noexcept { return hr_; }
    const char* what() const noexcept override { return what_.c_str(); }

private:
    HRESULT hr_;
    std::string what_;
};

namespace details {

// printf with the Windows spelling of wide conversions: "%ws"/"%wc" become "%ls"/"%lc".
inline std::string FormatMessageV(const char* format, va_list args)
{
    if (format == nullptr) {
        return std::string();
    }
    std::string translated;
    for (const char* p = format; *p != '\0'; ++p) {
        translated += *p;
        if (*p != '%') {
            continue;
        }
        ++p;
        // flags, width, precision
        while (*p != '\0' && std::string("-+ #0123456789.*").find(*p) != std::string::npos) {
            translated += *p++;
        }
        if (*p == 'w' && (p[1] == 's' || p[1] == 'c' || p[1] == 'S' || p[1] == 'C')) {
            translated += 'l';
            translated += static_cast<char>(p[1] == 'S' || p[1] == 'C' ? p[1] + ('a' - 'A') : p[1]);
            ++p;
            continue;
        }
        if (*p == '\0') {
            break;
        }
        translated += *p;
    }
    va_list copy;
    va_copy(copy, args);
    int length = std::vsnprintf(nullptr, 0, translated.c_str(), copy);
    va_end(copy);
    if (length < 0) {
        return std::string("(message not representable: ") + format + ")";
    }
    std::string text(static_cast<size_t>(length) + 1, '\0');
    std::vsnprintf(text.data(), text.size(), translated.c_str(), args);
    text.resize(static_cast<size_t>(length));
    return text;
}

inline std::string FormatMessageText(const char* format, ...)
{
    va_list args;
    va_start(args, format);
    std::string text = FormatMessageV(format, args);
    va_end(args);
    return text;
}

inline std::string Describe(HRESULT hr, const std::string& message, const char* file, int line, const char* function)
{
    char code[16];
    std::snprintf(code, sizeof code, "0x%08X", static_cast<unsigned>(hr));
    std::string text = std::string(file) + "(" + std::to_string(line) + ")\\" + function + ": " + code;
    if (!message.empty()) {
        text += " " + message;
    }
    return text;
}

inline void Log(HRESULT hr, const std::string& message, const char* file, int line, const char* function)
{
    std::fprintf(stderr, "%s\n", Describe(hr, message, file, line, function).c_str());
}

[[noreturn]] inline void Throw(HRESULT hr, const std::string& message, const char* file, int line, const char* function)
{
    throw ResultException(hr, Describe(hr, message, file, line, function));
}

[[noreturn]] inline void FailFast(HRESULT hr, const std::string& message, const char* file, int line,
                                  const char* function)
{
    std::fprintf(stderr, "FAIL_FAST: %s\n", Describe(hr, message, file, line, function).c_str());
    std::abort();
}

// GetLastError() as an HRESULT; E_FAIL when the failing call left no error (as WIL does).
inline HRESULT LastErrorHr()
{
    DWORD error = GetLastError();
    return error == ERROR_SUCCESS ? E_FAIL : HRESULT_FROM_WIN32(error);
}

inline HRESULT ThrowIfFailed(HRESULT hr, const char* expression, const char* file, int line, const char* function)
{
    if (FAILED(hr)) {
        Throw(hr, expression, file, line, function);
    }
    return hr;
}

inline HRESULT ThrowIfFailedMsg(HRESULT hr, const char* file, int line, const char* function, const char* format, ...)
{
    if (FAILED(hr)) {
        va_list args;
        va_start(args, format);
        std::string message = FormatMessageV(format, args);
        va_end(args);
        Throw(hr, message, file, line, function);
    }
    return hr;
}

inline HRESULT LogIfFailed(HRESULT hr, const char* expression, const char* file, int line, const char* function)
{
    if (FAILED(hr)) {
        Log(hr, expression, file, line, function);
    }
    return hr;
}

inline HRESULT LogIfFailedMsg(HRESULT hr, const char* file, int line, const char* function, const char* format, ...)
{
    if (FAILED(hr)) {
        va_list args;
        va_start(args, format);
        Log(hr, FormatMessageV(format, args), file, line, function);
        va_end(args);
    }
    return hr;
}

inline HRESULT FailFastIfFailed(HRESULT hr, const char* expression, const char* file, int line, const char* function)
{
    if (FAILED(hr)) {
        FailFast(hr, expression, file, line, function);
    }
    return hr;
}

}  // namespace details

// The HRESULT for the exception being handled (call only inside a catch block): a ResultException's own
// code, E_OUTOFMEMORY for std::bad_alloc, HRESULT_FROM_WIN32(ERROR_UNHANDLED_EXCEPTION) for anything else.
inline HRESULT ResultFromCaughtException() noexcept
{
    try {
        throw;
    } catch (const ResultException& e) {
        return e.GetErrorCode();
    } catch (const std::bad_alloc&) {
        return E_OUTOFMEMORY;
    } catch (...) {
        return HRESULT_FROM_WIN32(ERROR_UNHANDLED_EXCEPTION);
    }
}

}  // namespace wil

#define WIL_DETAILS_WHERE __FILE__, __LINE__, __func__

// ---- throw ----
#define THROW_HR(hr) ::wil::details::Throw((hr), std::string(), WIL_DETAILS_WHERE)
#define THROW_HR_MSG(hr, fmt, ...) \
    ::wil::details::Throw((hr), ::wil::details::FormatMessageText(fmt, ##__VA_ARGS__), WIL_DETAILS_WHERE)
#define THROW_IF_FAILED(hr) ::wil::details::ThrowIfFailed((hr), #hr, WIL_DETAILS_WHERE)
#define THROW_IF_FAILED_MSG(hr, fmt, ...) ::wil::details::ThrowIfFailedMsg((hr), WIL_DETAILS_WHERE, fmt, ##__VA_ARGS__)
#define THROW_HR_IF(hr, condition)                                      \
    do {                                                                \
        if (condition) {                                                \
            ::wil::details::Throw((hr), #condition, WIL_DETAILS_WHERE); \
        }                                                               \
    } while (0)
#define THROW_HR_IF_MSG(hr, condition, fmt, ...)                                                                   \
    do {                                                                                                           \
        if (condition) {                                                                                           \
            ::wil::details::Throw((hr), ::wil::details::FormatMessageText(fmt, ##__VA_ARGS__), WIL_DETAILS_WHERE); \
        }                                                                                                          \
    } while (0)
#define THROW_HR_IF_NULL(hr, ptr) THROW_HR_IF(hr, (ptr) == nullptr)
#define THROW_IF_NULL_ALLOC(ptr) THROW_HR_IF(E_OUTOFMEMORY, (ptr) == nullptr)
#define THROW_LAST_ERROR() ::wil::details::Throw(::wil::details::LastErrorHr(), std::string(), WIL_DETAILS_WHERE)
#define THROW_LAST_ERROR_IF(condition)                                                           \
    do {                                                                                         \
        if (condition) {                                                                         \
            ::wil::details::Throw(::wil::details::LastErrorHr(), #condition, WIL_DETAILS_WHERE); \
        }                                                                                        \
    } while (0)
#define THROW_LAST_ERROR_IF_NULL(ptr) THROW_LAST_ERROR_IF((ptr) == nullptr)
#define THROW_IF_WIN32_BOOL_FALSE(win32BOOL) THROW_LAST_ERROR_IF(!(win32BOOL))
#define THROW_WIN32(err) ::wil::details::Throw(HRESULT_FROM_WIN32(err), std::string(), WIL_DETAILS_WHERE)
#define THROW_IF_WIN32_ERROR(err) ::wil::details::ThrowIfFailed(HRESULT_FROM_WIN32(err), #err, WIL_DETAILS_WHERE)

// ---- return ----
#define RETURN_HR(hr)                                                     \
    do {                                                                  \
        HRESULT wil_details_hr_ = (hr);                                   \
        if (FAILED(wil_details_hr_)) {                                    \
            ::wil::details::Log(wil_details_hr_, #hr, WIL_DETAILS_WHERE); \
        }                                                                 \
        return wil_details_hr_;                                           \
    } while (0)
#define RETURN_HR_MSG(hr, fmt, ...)                                                                 \
    do {                                                                                            \
        HRESULT wil_details_hr_ = (hr);                                                             \
        ::wil::details::Log(wil_details_hr_, ::wil::details::FormatMessageText(fmt, ##__VA_ARGS__), \
                            WIL_DETAILS_WHERE);                                                     \
        return wil_details_hr_;                                                                     \
    } while (0)
#define RETURN_IF_FAILED(hr)                                              \
    do {                                                                  \
        HRESULT wil_details_hr_ = (hr);                                   \
        if (FAILED(wil_details_hr_)) {                                    \
            ::wil::details::Log(wil_details_hr_, #hr, WIL_DETAILS_WHERE); \
            return wil_details_hr_;                                       \
        }                                                                 \
    } while (0)
#define RETURN_IF_FAILED_MSG(hr, fmt, ...)                                                              \
    do {                                                                                                \
        HRESULT wil_details_hr_ = (hr);                                                                 \
        if (FAILED(wil_details_hr_)) {                                                                  \
            ::wil::details::Log(wil_details_hr_, ::wil::details::FormatMessageText(fmt, ##__VA_ARGS__), \
                                WIL_DETAILS_WHERE);                                                     \
            return wil_details_hr_;                                                                     \
        }                                                                                               \
    } while (0)
#define RETURN_IF_FAILED_EXPECTED(hr)   \
    do {                                \
        HRESULT wil_details_hr_ = (hr); \
        if (FAILED(wil_details_hr_)) {  \
            return wil_details_hr_;     \
        }                               \
    } while (0)
#define RETURN_HR_IF(hr, condition)                                              \
    do {                                                                         \
        if (condition) {                                                         \
            HRESULT wil_details_hr_ = (hr);                                      \
            ::wil::details::Log(wil_details_hr_, #condition, WIL_DETAILS_WHERE); \
            return wil_details_hr_;                                              \
        }                                                                        \
    } while (0)
#define RETURN_HR_IF_NULL(hr, ptr) RETURN_HR_IF(hr, (ptr) == nullptr)
#define RETURN_IF_NULL_ALLOC(ptr) RETURN_HR_IF(E_OUTOFMEMORY, (ptr) == nullptr)
#define RETURN_LAST_ERROR_IF(condition) RETURN_HR_IF(::wil::details::LastErrorHr(), condition)
#define RETURN_LAST_ERROR_IF_NULL(ptr) RETURN_LAST_ERROR_IF((ptr) == nullptr)
#define RETURN_IF_WIN32_BOOL_FALSE(win32BOOL) RETURN_LAST_ERROR_IF(!(win32BOOL))
#define RETURN_IF_WIN32_ERROR(err) RETURN_IF_FAILED(HRESULT_FROM_WIN32(err))
#define RETURN_CAUGHT_EXCEPTION() return ::wil::ResultFromCaughtException()

// ---- log (evaluate to the HRESULT / the condition) ----
#define LOG_IF_FAILED(hr) ::wil::details::LogIfFailed((hr), #hr, WIL_DETAILS_WHERE)
#define LOG_IF_FAILED_MSG(hr, fmt, ...) ::wil::details::LogIfFailedMsg((hr), WIL_DETAILS_WHERE, fmt, ##__VA_ARGS__)
#define LOG_HR(hr) ::wil::details::LogIfFailed((hr), #hr, WIL_DETAILS_WHERE)
#define LOG_HR_IF(hr, condition) \
    ((condition) ? (::wil::details::Log((hr), #condition, WIL_DETAILS_WHERE), true) : false)
#define LOG_LAST_ERROR_IF(condition) LOG_HR_IF(::wil::details::LastErrorHr(), condition)
#define LOG_IF_WIN32_BOOL_FALSE(win32BOOL) LOG_LAST_ERROR_IF(!(win32BOOL))
#define LOG_CAUGHT_EXCEPTION() \
    ::wil::details::LogIfFailed(::wil::ResultFromCaughtException(), "caught exception", WIL_DETAILS_WHERE)

// ---- fail fast ----
#define FAIL_FAST() ::wil::details::FailFast(E_UNEXPECTED, std::string(), WIL_DETAILS_WHERE)
#define FAIL_FAST_HR(hr) ::wil::details::FailFast((hr), #hr, WIL_DETAILS_WHERE)
#define FAIL_FAST_IF_FAILED(hr) ::wil::details::FailFastIfFailed((hr), #hr, WIL_DETAILS_WHERE)
#define FAIL_FAST_IF(condition)                                                    \
    do {                                                                           \
        if (condition) {                                                           \
            ::wil::details::FailFast(E_UNEXPECTED, #condition, WIL_DETAILS_WHERE); \
        }                                                                          \
    } while (0)
#define FAIL_FAST_IF_NULL(ptr) FAIL_FAST_IF((ptr) == nullptr)

// ---- exception boundaries ----
#define CATCH_RETURN()                                                               \
    catch (...)                                                                      \
    {                                                                                \
        HRESULT wil_details_hr_ = ::wil::ResultFromCaughtException();                \
        ::wil::details::Log(wil_details_hr_, "caught exception", WIL_DETAILS_WHERE); \
        return wil_details_hr_;                                                      \
    }
#define CATCH_LOG()             \
    catch (...)                 \
    {                           \
        LOG_CAUGHT_EXCEPTION(); \
    }

// ---- assertions and flags ----
#ifdef NDEBUG
#define WI_ASSERT(condition) ((void)0)
#define WI_ASSERT_MSG(condition, msg) ((void)0)
#else
#define WI_ASSERT(condition) \
    ((condition)             \
         ? (void)0           \
         : (std::fprintf(stderr, "%s(%d): WI_ASSERT(%s) failed\n", __FILE__, __LINE__, #condition), std::abort()))
#define WI_ASSERT_MSG(condition, msg)                                                                                \
    ((condition) ? (void)0                                                                                           \
                 : (std::fprintf(stderr, "%s(%d): WI_ASSERT(%s) failed: %s\n", __FILE__, __LINE__, #condition, msg), \
                    std::abort()))
#endif
#ifdef NDEBUG
#define WI_VERIFY(condition) ((void)(condition))
#else
#define WI_VERIFY(condition) WI_ASSERT(condition)
#endif
#define WI_IsFlagSet(val, flag) (((val) & (flag)) == (flag))
#define WI_IsFlagClear(val, flag) (((val) & (flag)) == 0)
#define WI_IsAnyFlagSet(val, flags) (((val) & (flags)) != 0)
#define WI_AreAllFlagsSet(val, flags) (((val) & (flags)) == (flags))
#define WI_SetFlag(var, flag) ((var) |= (flag))
#define WI_ClearFlag(var, flag) ((var) &= ~(flag))
#define WI_SetAllFlags(var, flags) ((var) |= (flags))
#define WI_ClearAllFlags(var, flags) ((var) &= ~(flags))

#endif  // HOSTCOMPUTE_COMPAT_WIL_RESULT_H
