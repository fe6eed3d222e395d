// Paths relative to the virtualization root. Inside: UTF-8, '/'-separated, "" is the root, no "." or
// ".." components. Towards the provider: wide strings with '\\' separators, as Windows providers expect.
#pragma once

#include "base/result.h"

#include <string>
#include <string_view>

namespace hc::projfs {

// True when `name` can be one path component on disk (not empty, ".", "..", no '/' or NUL, not reserved).
bool isValidComponent(std::string_view name);
bool isReservedName(std::string_view name);

std::string joinRel(std::string_view parent, std::string_view name);
// "a/b/c" -> {"a/b", "c"}; "c" -> {"", "c"}.
std::pair<std::string, std::string> splitRel(std::string_view rel);
// "" -> "." so it can be passed to *at() calls on the root descriptor.
inline const char* atPath(const std::string& rel)
{
    return rel.empty() ? "." : rel.c_str();
}

// A provider's path (either separator, leading/trailing separators ignored) -> relative UTF-8 path.
// Rejects invalid UTF-8, "." / ".." components and reserved names with E_INVALIDARG.
Result<std::string> relFromProviderPath(PCWSTR path, const char* what);
// A name or path found on disk -> wide; bytes that are not UTF-8 become U+FFFD.
std::wstring wideFromDiskName(std::string_view name);
// Relative UTF-8 path -> provider form with '\\' separators.
std::wstring providerPathFromRel(std::string_view rel);

}  // namespace hc::projfs
