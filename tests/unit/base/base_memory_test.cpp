// Library-allocated results: allocWideString / allocWideFromUtf8 memory is released with LocalFree or
// CoTaskMemFree (AddressSanitizer reports leaks and allocator mismatches).
#include "base/strings.h"

#include <gtest/gtest.h>

#include <cwchar>

namespace {

TEST(WideResults, FreedWithLocalFree)
{
    PWSTR text = hc::allocWideString(L"result document");
    ASSERT_NE(text, nullptr);
    EXPECT_STREQ(text, L"result document");
    EXPECT_EQ(LocalFree(text), nullptr);  // NULL means success, as on Windows
}

TEST(WideResults, FreedWithCoTaskMemFree)
{
    PWSTR text = hc::allocWideFromUtf8("\xC3\xA9t\xC3\xA9");
    ASSERT_NE(text, nullptr);
    EXPECT_STREQ(text, L"\u00E9t\u00E9");
    CoTaskMemFree(text);
}

TEST(WideResults, EmptyStringIsAllocatedAndTerminated)
{
    PWSTR text = hc::allocWideString(L"");
    ASSERT_NE(text, nullptr);
    EXPECT_EQ(text[0], L'\0');
    LocalFree(text);
}

TEST(WideResults, InvalidUtf8GivesNull)
{
    EXPECT_EQ(hc::allocWideFromUtf8("\xC0\xAF"), nullptr);
    EXPECT_EQ(hc::allocWideFromUtf8("\xED\xA0\x80"), nullptr);
}

TEST(WideResults, LongStringIsCopiedCompletely)
{
    const std::wstring big(100000, L'\u4E2D');
    PWSTR text = hc::allocWideString(big);
    ASSERT_NE(text, nullptr);
    EXPECT_EQ(std::wcslen(text), big.size());
    CoTaskMemFree(text);
}

TEST(WindowsAllocator, NullAndZeroSizes)
{
    EXPECT_EQ(LocalFree(nullptr), nullptr);
    CoTaskMemFree(nullptr);
    void* zero = CoTaskMemAlloc(0);
    ASSERT_NE(zero, nullptr);  // a unique pointer, as on Windows
    CoTaskMemFree(zero);
    auto* block = static_cast<unsigned char*>(CoTaskMemAlloc(64));
    ASSERT_NE(block, nullptr);
    for (int i = 0; i < 64; ++i)
        block[i] = static_cast<unsigned char>(i);  // all 64 bytes are usable
    LocalFree(block);                              // the same allocator behind both free functions
}

}  // namespace
