#include "base/strings.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cwchar>

namespace hc {
namespace {

static_assert(sizeof(wchar_t) == 4, "hostcompute assumes a 32-bit wchar_t (Linux)");

bool isScalarValue(uint32_t cp)
{
    return cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
}

void appendUtf8(std::string& out, uint32_t cp)
{
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

// Decodes one code point at `pos`; returns false on any ill-formed sequence (overlong forms,
// surrogates, truncated sequences, values past U+10FFFF).
bool decodeUtf8(std::string_view s, size_t& pos, uint32_t& cp)
{
    const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
    unsigned char b0 = byte(pos);
    size_t len;
    uint32_t min;
    if (b0 < 0x80) {
        cp = b0;
        pos += 1;
        return true;
    } else if ((b0 & 0xE0) == 0xC0) {
        len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
        return false;
    }
    if (pos + len > s.size()) return false;
    for (size_t i = 1; i < len; ++i) {
        unsigned char b = byte(pos + i);
        if ((b & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || !isScalarValue(cp)) return false;
    pos += len;
    return true;
}

}  // namespace

Result<std::string> toUtf8(std::wstring_view wide)
{
    std::string out;
    out.reserve(wide.size());
    for (size_t i = 0; i < wide.size(); ++i) {
        auto cp = static_cast<uint32_t>(wide[i]);
        if (!isScalarValue(cp)) {
            char code[16];
            std::snprintf(code, sizeof code, "U+%04X", cp);
            return makeError(E_INVALIDARG, std::string("invalid character ") + code + " at index " + std::to_string(i) +
                                               " (surrogate or out of range)");
        }
        appendUtf8(out, cp);
    }
    return out;
}

Result<std::wstring> fromUtf8(std::string_view utf8)
{
    std::wstring out;
    out.reserve(utf8.size());
    size_t pos = 0;
    while (pos < utf8.size()) {
        uint32_t cp;
        size_t at = pos;
        if (!decodeUtf8(utf8, pos, cp)) {
            return makeError(E_INVALIDARG, "invalid UTF-8 at byte " + std::to_string(at));
        }
        out.push_back(static_cast<wchar_t>(cp));
    }
    return out;
}

Result<std::string> utf8FromCaller(PCWSTR wide, const char* what)
{
    if (wide == nullptr) return makeError(E_POINTER, std::string(what) + " is NULL");
    auto r = toUtf8(std::wstring_view(wide));
    if (!r) return makeError(E_INVALIDARG, std::string(what) + ": " + r.error().message);
    return r;
}

PWSTR allocWideString(std::wstring_view text)
{
    auto* out = static_cast<PWSTR>(std::malloc((text.size() + 1) * sizeof(WCHAR)));
    if (out == nullptr) return nullptr;
    if (!text.empty()) std::memcpy(out, text.data(), text.size() * sizeof(WCHAR));
    out[text.size()] = L'\0';
    return out;
}

PWSTR allocWideFromUtf8(std::string_view utf8)
{
    // A result string is read as a C string: an embedded NUL would silently cut it short.
    if (utf8.find('\0') != std::string_view::npos) return nullptr;
    auto wide = fromUtf8(utf8);
    if (!wide) return nullptr;
    return allocWideString(*wide);
}

std::string toUtf8Lossy(std::wstring_view wide)
{
    std::string out;
    for (wchar_t c : wide) {
        auto cp = static_cast<uint32_t>(c);
        appendUtf8(out, isScalarValue(cp) ? cp : 0xFFFD);
    }
    return out;
}

}  // namespace hc
