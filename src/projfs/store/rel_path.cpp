#include "projfs/store/rel_path.h"

#include "base/strings.h"
#include "projfs/store/item_record.h"

#include <cstring>

namespace hc::projfs {

bool isReservedName(std::string_view name)
{
    return name.starts_with(kReservedNamePrefix);
}

bool isValidComponent(std::string_view name)
{
    if (name.empty() || name == "." || name == "..") return false;
    if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) return false;
    return name.size() <= 255 && !isReservedName(name);
}

std::string joinRel(std::string_view parent, std::string_view name)
{
    if (parent.empty()) return std::string(name);
    std::string out;
    out.reserve(parent.size() + 1 + name.size());
    out.append(parent).push_back('/');
    out.append(name);
    return out;
}

std::pair<std::string, std::string> splitRel(std::string_view rel)
{
    size_t slash = rel.rfind('/');
    if (slash == std::string_view::npos) return {std::string(), std::string(rel)};
    return {std::string(rel.substr(0, slash)), std::string(rel.substr(slash + 1))};
}

Result<std::string> relFromProviderPath(PCWSTR path, const char* what)
{
    auto utf8 = utf8FromCaller(path, what);
    if (!utf8) return makeError(E_INVALIDARG, utf8.error().message);
    std::string out;
    std::string_view rest = *utf8;
    while (!rest.empty()) {
        size_t sep = rest.find_first_of("/\\");
        std::string_view part = rest.substr(0, sep);
        rest = sep == std::string_view::npos ? std::string_view() : rest.substr(sep + 1);
        if (part.empty()) continue;
        if (!isValidComponent(part)) {
            return makeError(E_INVALIDARG, std::string(what) + ": invalid path component '" + std::string(part) + "'");
        }
        out = joinRel(out, part);
    }
    return out;
}

std::wstring wideFromDiskName(std::string_view name)
{
    auto wide = fromUtf8(name);
    if (wide) return std::move(wide).value();
    // Not UTF-8 (written by some other program): keep ASCII, show the rest as U+FFFD.
    std::wstring out;
    for (unsigned char c : name)
        out.push_back(c < 0x80 ? static_cast<wchar_t>(c) : L'\uFFFD');
    return out;
}

std::wstring providerPathFromRel(std::string_view rel)
{
    std::wstring wide = wideFromDiskName(rel);
    for (auto& ch : wide) {
        if (ch == L'/') ch = L'\\';
    }
    return wide;
}

}  // namespace hc::projfs
