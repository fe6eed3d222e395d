#include "base/guid.h"

#include <sys/random.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>

namespace hc {

GUID newGuid()
{
    uint8_t bytes[16];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n > 0) {
            got += static_cast<size_t>(n);
        } else if (errno != EINTR) {
            std::abort();  // no kernel randomness: identifiers would collide, so stop rather than go on
        }
    }
    GUID g;
    std::memcpy(&g.Data1, bytes, 4);
    std::memcpy(&g.Data2, bytes + 4, 2);
    std::memcpy(&g.Data3, bytes + 6, 2);
    std::memcpy(g.Data4, bytes + 8, 8);
    g.Data3 = static_cast<uint16_t>((g.Data3 & 0x0FFF) | 0x4000);   // version 4
    g.Data4[0] = static_cast<uint8_t>((g.Data4[0] & 0x3F) | 0x80);  // RFC 4122 variant
    return g;
}

Result<GUID> parseGuid(std::string_view text)
{
    std::string_view s = text;
    if (s.size() == 38 && s.front() == '{' && s.back() == '}') s = s.substr(1, 36);
    const auto bad = [&](const char* why) {
        return makeError(E_INVALIDARG, "'" + std::string(text) + "' is not a GUID: " + why);
    };
    if (s.size() != 36) return bad("expected 36 characters (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
    uint8_t nibbles[32];
    size_t n = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return bad("dash expected");
            continue;
        }
        if (!std::isxdigit(static_cast<unsigned char>(c))) return bad("non-hexadecimal character");
        nibbles[n++] = static_cast<uint8_t>(std::isdigit(static_cast<unsigned char>(c))
                                                ? c - '0'
                                                : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    }
    const auto take = [&](size_t from, size_t count) {
        uint64_t v = 0;
        for (size_t i = 0; i < count; ++i)
            v = (v << 4) | nibbles[from + i];
        return v;
    };
    GUID g;
    g.Data1 = static_cast<uint32_t>(take(0, 8));
    g.Data2 = static_cast<uint16_t>(take(8, 4));
    g.Data3 = static_cast<uint16_t>(take(12, 4));
    for (size_t i = 0; i < 8; ++i)
        g.Data4[i] = static_cast<uint8_t>(take(16 + 2 * i, 2));
    return g;
}

std::string formatGuid(const GUID& g, bool braces, bool upper)
{
    char buf[40];
    const char* fmt =
        upper ? "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X" : "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x";
    std::snprintf(buf, sizeof buf, fmt, g.Data1, g.Data2, g.Data3, g.Data4[0], g.Data4[1], g.Data4[2], g.Data4[3],
                  g.Data4[4], g.Data4[5], g.Data4[6], g.Data4[7]);
    return braces ? "{" + std::string(buf) + "}" : std::string(buf);
}

size_t GuidHash::operator()(const GUID& g) const noexcept
{
    uint64_t a, b;
    std::memcpy(&a, &g, 8);
    std::memcpy(&b, reinterpret_cast<const char*>(&g) + 8, 8);
    return std::hash<uint64_t>{}(a ^ (b * 0x9E3779B97F4A7C15ull));
}

}  // namespace hc
