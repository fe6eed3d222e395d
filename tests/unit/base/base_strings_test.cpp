// UTF-8 <-> wchar_t conversion: valid text round-trips, every ill-formed input is an error.
#include "base/strings.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace {

using hc::fromUtf8;
using hc::toUtf8;

std::wstring wide(std::initializer_list<std::uint32_t> values)
{
    std::wstring text;
    for (std::uint32_t v : values)
        text.push_back(static_cast<wchar_t>(v));
    return text;
}

TEST(Utf8, EncodesEveryLength)
{
    EXPECT_EQ(*toUtf8(L""), "");
    EXPECT_EQ(*toUtf8(L"abc"), "abc");
    EXPECT_EQ(*toUtf8(L"\u00E9"), "\xC3\xA9");
    EXPECT_EQ(*toUtf8(L"\u4E2D"), "\xE4\xB8\xAD");
    EXPECT_EQ(*toUtf8(L"\U0001F600"), "\xF0\x9F\x98\x80");
    EXPECT_EQ(*toUtf8(L"a\u00E9\u4E2D\U0001F600"), "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80");
}

TEST(Utf8, BoundaryCodePointsRoundTrip)
{
    for (std::uint32_t cp :
         {0x01u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xD7FFu, 0xE000u, 0xFFFDu, 0xFFFFu, 0x10000u, 0x10FFFFu}) {
        const std::wstring text = wide({cp});
        auto utf8 = toUtf8(text);
        ASSERT_TRUE(utf8.ok()) << std::hex << cp;
        auto back = fromUtf8(*utf8);
        ASSERT_TRUE(back.ok()) << std::hex << cp;
        EXPECT_EQ(*back, text) << std::hex << cp;
    }
    EXPECT_EQ(toUtf8(wide({0x7F}))->size(), 1u);
    EXPECT_EQ(toUtf8(wide({0x80}))->size(), 2u);
    EXPECT_EQ(toUtf8(wide({0x800}))->size(), 3u);
    EXPECT_EQ(toUtf8(wide({0x10000}))->size(), 4u);
}

TEST(Utf8, EmbeddedNulIsKeptInViews)
{
    const std::wstring text(L"a\0b", 3);
    auto utf8 = toUtf8(text);
    ASSERT_TRUE(utf8.ok());
    EXPECT_EQ(*utf8, std::string("a\0b", 3));
    EXPECT_EQ(*fromUtf8(*utf8), text);
}

TEST(Utf8, RejectsCharactersWithoutUtf8Form)
{
    struct Case {
        std::wstring text;
        const char* why;
    };
    const Case cases[] = {
        {wide({0xD800}), "high surrogate"},
        {wide({0xDBFF}), "high surrogate, last"},
        {wide({0xDC00}), "low surrogate"},
        {wide({0xDFFF}), "low surrogate, last"},
        {wide({0xD83D, 0xDE00}), "a UTF-16 pair stored as two wchar_t is still two surrogates"},
        {wide({0x110000}), "past U+10FFFF"},
        {wide({0x7FFFFFFF}), "far past U+10FFFF"},
        {wide({0xFFFFFFFF}), "negative wchar_t"},
        {wide({'o', 'k', 0xD800}), "valid text then a surrogate"},
    };
    for (const Case& c : cases) {
        auto utf8 = toUtf8(c.text);
        ASSERT_FALSE(utf8.ok()) << c.why;
        EXPECT_EQ(utf8.hr(), E_INVALIDARG) << c.why;
        EXPECT_NE(utf8.error().message.find("index"), std::string::npos) << utf8.error().message;
    }
    EXPECT_NE(toUtf8(wide({'o', 'k', 0xD800})).error().message.find("index 2"), std::string::npos);
}

TEST(Utf8, RejectsIllFormedUtf8)
{
    struct Case {
        std::string bytes;
        const char* why;
    };
    const Case cases[] = {
        {"\x80", "lone continuation byte"},
        {"\xBF", "lone continuation byte, last"},
        {"\xC3", "truncated two-byte sequence"},
        {"\xE4\xB8", "truncated three-byte sequence"},
        {"\xF0\x9F\x98", "truncated four-byte sequence"},
        {"\xC3\x28", "bad continuation"},
        {"\xE4\x28\xAD", "bad continuation in the middle"},
        {"\xC0\xAF", "overlong '/' (two bytes)"},
        {"\xC1\xBF", "overlong U+007F"},
        {std::string("\xC0\x80", 2), "overlong NUL (modified UTF-8)"},
        {"\xE0\x80\xAF", "overlong '/' (three bytes)"},
        {"\xE0\x9F\xBF", "overlong U+07FF"},
        {"\xF0\x80\x80\xAF", "overlong '/' (four bytes)"},
        {"\xF0\x8F\xBF\xBF", "overlong U+FFFF"},
        {"\xED\xA0\x80", "encoded high surrogate U+D800"},
        {"\xED\xBF\xBF", "encoded low surrogate U+DFFF"},
        {"\xED\xA0\xBD\xED\xB8\x80", "CESU-8 surrogate pair"},
        {"\xF4\x90\x80\x80", "U+110000"},
        {"\xF5\x80\x80\x80", "lead byte F5"},
        {"\xF7\xBF\xBF\xBF", "lead byte F7"},
        {"\xF8\x88\x80\x80\x80", "five-byte form"},
        {"\xFC\x84\x80\x80\x80\x80", "six-byte form"},
        {"\xFE", "byte FE"},
        {"\xFF", "byte FF"},
    };
    for (const Case& c : cases) {
        auto text = fromUtf8(c.bytes);
        ASSERT_FALSE(text.ok()) << c.why;
        EXPECT_EQ(text.hr(), E_INVALIDARG) << c.why;
    }
    auto late = fromUtf8("abc\xFF");
    ASSERT_FALSE(late.ok());
    EXPECT_NE(late.error().message.find("byte 3"), std::string::npos) << late.error().message;
}

TEST(Utf8, RandomCodePointsRoundTrip)
{
    std::mt19937 rng(42);
    std::uniform_int_distribution<std::uint32_t> any(1, 0x10FFFF);
    for (int round = 0; round < 2000; ++round) {
        std::wstring text;
        for (int i = 0; i < 16; ++i) {
            std::uint32_t cp = any(rng);
            if (cp >= 0xD800 && cp <= 0xDFFF) cp -= 0x800;  // scalar values only
            text.push_back(static_cast<wchar_t>(cp));
        }
        auto utf8 = toUtf8(text);
        ASSERT_TRUE(utf8.ok());
        auto back = fromUtf8(*utf8);
        ASSERT_TRUE(back.ok());
        ASSERT_EQ(*back, text);
    }
}

// UTF-8 is a bijection on well-formed text: whatever random bytes decode must re-encode to themselves.
TEST(Utf8, RandomBytesDecodeOnlyToThemselves)
{
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> length(1, 8);
    int decoded = 0;
    for (int round = 0; round < 200000; ++round) {
        std::string bytes;
        const int n = length(rng);
        for (int i = 0; i < n; ++i) {
            // Bias towards bytes that form multi-byte sequences, so both outcomes are common.
            int b = byte(rng);
            if (i > 0 && (b & 1)) b = 0x80 | (b & 0x3F);
            bytes.push_back(static_cast<char>(b));
        }
        auto text = fromUtf8(bytes);
        if (!text.ok()) continue;
        ++decoded;
        auto again = toUtf8(*text);
        ASSERT_TRUE(again.ok());
        ASSERT_EQ(*again, bytes);
    }
    EXPECT_GT(decoded, 1000);
}

TEST(Utf8FromCaller, NullAndInvalid)
{
    auto null = hc::utf8FromCaller(nullptr, "virtualizationRootPath");
    ASSERT_FALSE(null.ok());
    EXPECT_EQ(null.hr(), E_POINTER);
    EXPECT_NE(null.error().message.find("virtualizationRootPath"), std::string::npos);

    const std::wstring bad = wide({'x', 0xDC00});
    auto invalid = hc::utf8FromCaller(bad.c_str(), "fileName");
    ASSERT_FALSE(invalid.ok());
    EXPECT_EQ(invalid.hr(), E_INVALIDARG);
    EXPECT_NE(invalid.error().message.find("fileName"), std::string::npos);

    auto fine = hc::utf8FromCaller(L"dir/\u00E9", "path");
    ASSERT_TRUE(fine.ok());
    EXPECT_EQ(*fine, "dir/\xC3\xA9");
}

TEST(Utf8Lossy, ReplacesInvalidCharacters)
{
    EXPECT_EQ(hc::toUtf8Lossy(wide({'a', 0xD800, 'b', 0x110000})),
              "a\xEF\xBF\xBD"
              "b\xEF\xBF\xBD");
    EXPECT_EQ(hc::toUtf8Lossy(L"\u00E9"), "\xC3\xA9");
}

}  // namespace

TEST(AllocWide, RejectsEmbeddedNulInsteadOfTruncating)
{
    using namespace std::string_view_literals;
    EXPECT_EQ(hc::allocWideFromUtf8("a\0b"sv), nullptr);
    PWSTR ok = hc::allocWideFromUtf8("ab");
    ASSERT_NE(ok, nullptr);
    EXPECT_STREQ(ok, L"ab");
    LocalFree(ok);
}

TEST(Utf8, ErrorMessageNamesTheCharacterInHex)
{
    std::wstring bad(1, static_cast<wchar_t>(0xD800));
    auto r = hc::toUtf8(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("U+D800"), std::string::npos) << r.error().message;
}
