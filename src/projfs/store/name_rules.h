// The file system's name rules as the store and the enumeration need them: case-insensitive equality
// and PrjFileNameCompare order. Delegates to projfs_names (src/projfs/names) when it is built.
#pragma once

#include <string>
#include <string_view>

namespace hc::projfs {

int compareNamesForOrder(std::wstring_view a, std::wstring_view b);
bool namesEqualIgnoringCase(std::wstring_view a, std::wstring_view b);
bool nameMatchesPattern(std::wstring_view name, std::wstring_view pattern);
// The form two names share exactly when namesEqualIgnoringCase holds (for hashing).
std::wstring caseFoldedName(std::wstring_view name);

}  // namespace hc::projfs
