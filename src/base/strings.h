// UTF-8 <-> wchar_t (UTF-32 on Linux) conversions. Invalid input (bad UTF-8, surrogate code points,
// values past U+10FFFF, embedded NUL where a C string is expected) is rejected with an error, never
// replaced silently and never a crash. Also: library-allocated wide strings that callers free with
// LocalFree / CoTaskMemFree.
#pragma once

#include "base/result.h"

#include <string>
#include <string_view>

namespace hc {

Result<std::string> toUtf8(std::wstring_view wide);
Result<std::wstring> fromUtf8(std::string_view utf8);

// Converts a caller's PCWSTR (NUL-terminated). NULL is an E_POINTER error; `what` names the argument.
Result<std::string> utf8FromCaller(PCWSTR wide, const char* what);

// Copies `text` into memory the caller frees with LocalFree/CoTaskMemFree. NULL on allocation failure.
PWSTR allocWideString(std::wstring_view text);
// Converts UTF-8 and allocates as above. NULL on invalid UTF-8 or allocation failure.
PWSTR allocWideFromUtf8(std::string_view utf8);

// Lossy conversion for logs only: invalid sequences become U+FFFD.
std::string toUtf8Lossy(std::wstring_view wide);

}  // namespace hc
