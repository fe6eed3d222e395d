// GUIDs: random creation (version 4), parsing ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", braces optional,
// any case) and formatting in the registry layout Windows uses.
#pragma once

#include "base/result.h"

#include <cstring>
#include <string>
#include <string_view>

namespace hc {

GUID newGuid();
Result<GUID> parseGuid(std::string_view text);
// Lower case without braces by default ("HCS ids"); `braces`/`upper` give "{XXXXXXXX-...}".
std::string formatGuid(const GUID& guid, bool braces = false, bool upper = false);

inline bool guidEqual(const GUID& a, const GUID& b)
{
    return std::memcmp(&a, &b, sizeof(GUID)) == 0;
}
inline bool guidIsNull(const GUID& g)
{
    return guidEqual(g, GUID{});
}

struct GuidHash {
    size_t operator()(const GUID& g) const noexcept;
};
struct GuidEq {
    bool operator()(const GUID& a, const GUID& b) const noexcept { return guidEqual(a, b); }
};

}  // namespace hc
