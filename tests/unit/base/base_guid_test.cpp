// GUIDs: version-4 creation, parsing (braces, case, bad input) and formatting.
#include "base/guid.h"

#include <gtest/gtest.h>

#include <unordered_set>

namespace {

using hc::formatGuid;
using hc::parseGuid;

TEST(NewGuid, HasVersion4AndRfc4122Variant)
{
    for (int i = 0; i < 1000; ++i) {
        const GUID g = hc::newGuid();
        EXPECT_EQ(g.Data3 >> 12, 4) << formatGuid(g);
        EXPECT_EQ(g.Data4[0] & 0xC0, 0x80) << formatGuid(g);
        const std::string text = formatGuid(g);
        EXPECT_EQ(text[14], '4') << text;
        EXPECT_NE(std::string("89ab").find(text[19]), std::string::npos) << text;
    }
}

TEST(NewGuid, IsUniqueAndNotNull)
{
    std::unordered_set<GUID, hc::GuidHash, hc::GuidEq> seen;
    for (int i = 0; i < 20000; ++i) {
        const GUID g = hc::newGuid();
        EXPECT_FALSE(hc::guidIsNull(g));
        EXPECT_TRUE(seen.insert(g).second) << "duplicate " << formatGuid(g);
    }
}

TEST(ParseGuid, FieldsInRegistryLayout)
{
    auto g = parseGuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
    ASSERT_TRUE(g.ok()) << g.error().message;
    EXPECT_EQ(g->Data1, 0x6ba7b810u);
    EXPECT_EQ(g->Data2, 0x9dad);
    EXPECT_EQ(g->Data3, 0x11d1);
    const std::uint8_t data4[8] = {0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
    for (int i = 0; i < 8; ++i)
        EXPECT_EQ(g->Data4[i], data4[i]) << i;
}

TEST(ParseGuid, BracesAndCase)
{
    const GUID expected = *parseGuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
    for (const char* text : {"{6ba7b810-9dad-11d1-80b4-00c04fd430c8}", "6BA7B810-9DAD-11D1-80B4-00C04FD430C8",
                             "{6BA7B810-9dad-11D1-80b4-00C04fd430C8}"}) {
        auto g = parseGuid(text);
        ASSERT_TRUE(g.ok()) << text;
        EXPECT_TRUE(hc::guidEqual(*g, expected)) << text;
    }
    auto null = parseGuid("00000000-0000-0000-0000-000000000000");
    ASSERT_TRUE(null.ok());
    EXPECT_TRUE(hc::guidIsNull(*null));
}

TEST(ParseGuid, RejectsBadInput)
{
    const char* bad[] = {
        "",
        "6ba7b810-9dad-11d1-80b4-00c04fd430c",     // 35 characters
        "6ba7b810-9dad-11d1-80b4-00c04fd430c8a",   // 37 characters
        "6ba7b8109dad11d180b400c04fd430c8",        // no dashes
        "6ba7b810-9dad-11d1-80b400c04fd430c8-",    // dash in the wrong place
        "6ba7b810-9dad-11d1-80b4-00c04fd430cg",    // not hexadecimal
        "6ba7b810 9dad 11d1 80b4 00c04fd430c8",    // spaces for dashes
        "{6ba7b810-9dad-11d1-80b4-00c04fd430c8",   // unbalanced brace
        "6ba7b810-9dad-11d1-80b4-00c04fd430c8}",   // unbalanced brace
        "(6ba7b810-9dad-11d1-80b4-00c04fd430c8)",  // parentheses
        "{{6ba7b810-9dad-11d1-80b4-00c04fd430c8}}",
        " 6ba7b810-9dad-11d1-80b4-00c04fd430c8",
        "+ba7b810-9dad-11d1-80b4-00c04fd430c8",
        "0x6ba7b810-9dad-11d1-80b4-00c04fd430",
    };
    for (const char* text : bad) {
        auto g = parseGuid(text);
        ASSERT_FALSE(g.ok()) << "accepted '" << text << "'";
        EXPECT_EQ(g.hr(), E_INVALIDARG);
        EXPECT_NE(g.error().message.find("not a GUID"), std::string::npos) << g.error().message;
    }
    const std::string withNul("6ba7b810-9dad-11d1-80b4-00c04fd430c\0", 36);
    EXPECT_FALSE(parseGuid(withNul).ok());
}

TEST(FormatGuid, Layouts)
{
    const GUID g = *parseGuid("6BA7B810-9DAD-11D1-80B4-00C04FD430C8");
    EXPECT_EQ(formatGuid(g), "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
    EXPECT_EQ(formatGuid(g, true), "{6ba7b810-9dad-11d1-80b4-00c04fd430c8}");
    EXPECT_EQ(formatGuid(g, false, true), "6BA7B810-9DAD-11D1-80B4-00C04FD430C8");
    EXPECT_EQ(formatGuid(g, true, true), "{6BA7B810-9DAD-11D1-80B4-00C04FD430C8}");
    EXPECT_EQ(formatGuid(GUID{}), "00000000-0000-0000-0000-000000000000");
}

TEST(FormatGuid, RoundTripsThroughParse)
{
    for (int i = 0; i < 1000; ++i) {
        const GUID g = hc::newGuid();
        for (bool braces : {false, true}) {
            for (bool upper : {false, true}) {
                auto back = parseGuid(formatGuid(g, braces, upper));
                ASSERT_TRUE(back.ok());
                ASSERT_TRUE(hc::guidEqual(*back, g));
            }
        }
    }
}

TEST(GuidHash, EqualGuidsHashEqually)
{
    const GUID a = *parseGuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
    const GUID b = *parseGuid("{6BA7B810-9DAD-11D1-80B4-00C04FD430C8}");
    EXPECT_EQ(hc::GuidHash{}(a), hc::GuidHash{}(b));
    EXPECT_TRUE(hc::GuidEq{}(a, b));
}

}  // namespace
