// The generated NTFS upcase table against the table Windows 10 writes on new NTFS volumes.
#include "projfs/names/names.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace {

using hc::projfs::upcaseCodeUnit;

TEST(UpcaseTable, MatchesTheWindows10NtfsTableExactly)
{
    // FNV-1a over all 65,536 entries of the $UpCase table that Windows 10's format writes, as
    // decoded from the copy wimlib ships (src/encoding.c, "the table used in NTFS volumes formatted
    // by Windows 10"). Computed from that independent copy, not from this library.
    constexpr std::uint64_t kWindows10UpcaseDigest = 0xf738700dcd90132dULL;
    constexpr int kWindows10ChangedUnits = 973;
    std::uint64_t digest = 0xcbf29ce484222325ULL;
    int changed = 0;
    for (std::uint32_t unit = 0; unit <= 0xFFFF; ++unit) {
        const char16_t upper = upcaseCodeUnit(static_cast<char16_t>(unit));
        digest ^= upper;
        digest *= 0x100000001b3ULL;
        if (upper != unit) ++changed;
    }
    EXPECT_EQ(changed, kWindows10ChangedUnits);
    EXPECT_EQ(digest, kWindows10UpcaseDigest);
}

struct UpcaseCase {
    char16_t unit;
    char16_t upper;
    const char* what;
};

TEST(UpcaseTable, KnownEntries)
{
    const UpcaseCase cases[] = {
        {u'a', u'A', "ASCII lower"},
        {u'Z', u'Z', "ASCII upper stays"},
        {u'_', u'_', "underscore stays (0x5F, above the letters)"},
        {u'.', u'.', "dot stays"},
        {u'\0', u'\0', "NUL stays"},
        {u'\u00E9', u'\u00C9', "e acute"},
        {u'\u00FF', u'\u0178', "y diaeresis maps outside Latin-1"},
        {u'\u00DF', u'\u00DF', "sharp s has no simple upper case"},
        {u'\u00B5', u'\u00B5', "micro sign: upper is Greek Mu, which does not lower back"},
        {u'\u0131', u'\u0131', "Turkish dotless i: not folded to I"},
        {u'\u0130', u'\u0130', "Turkish dotted capital I stays"},
        {u'i', u'I', "i maps to ASCII I regardless of locale"},
        {u'\u017F', u'\u017F', "long s: not folded to S"},
        {u'\u03B1', u'\u0391', "Greek alpha"},
        {u'\u03C3', u'\u03A3', "Greek sigma"},
        {u'\u03C2', u'\u03C2', "Greek final sigma: not folded to Sigma"},
        {u'\u0436', u'\u0416', "Cyrillic zhe"},
        {u'\u0567', u'\u0537', "Armenian eh"},
        {u'\u01C6', u'\u01C4', "dz digraph lower to upper"},
        {u'\u01C5', u'\u01C5', "dz digraph title case stays"},
        {u'\u24D0', u'\u24B6', "circled a"},
        {u'\uFF41', u'\uFF21', "fullwidth a"},
        {u'\u10D0', u'\u10D0', "Georgian an: Mtavruli (Unicode 11) is after the table was frozen"},
        {u'\uAB70', u'\uAB70', "Cherokee small a (Unicode 8) stays"},
        {u'\u4E2D', u'\u4E2D', "CJK ideograph stays"},
        {static_cast<char16_t>(0xD83D), static_cast<char16_t>(0xD83D), "high surrogate stays"},
        {static_cast<char16_t>(0xDE00), static_cast<char16_t>(0xDE00), "low surrogate stays"},
        {u'\uFFFF', u'\uFFFF', "noncharacter stays"},
    };
    for (const UpcaseCase& c : cases) {
        EXPECT_EQ(static_cast<unsigned>(upcaseCodeUnit(c.unit)), static_cast<unsigned>(c.upper)) << c.what;
    }
}

TEST(UpcaseTable, IsIdempotent)
{
    for (std::uint32_t unit = 0; unit <= 0xFFFF; ++unit) {
        const char16_t upper = upcaseCodeUnit(static_cast<char16_t>(unit));
        ASSERT_EQ(upcaseCodeUnit(upper), upper) << "unit " << unit;
    }
}

TEST(UpcaseFileName, MapsBmpCharactersAndKeepsTheRest)
{
    using hc::projfs::upcaseFileName;
    EXPECT_EQ(upcaseFileName(L"readme.md"), L"README.MD");
    EXPECT_EQ(upcaseFileName(L"\u00E9t\u00E9"), L"\u00C9T\u00C9");
    EXPECT_EQ(upcaseFileName(L"stra\u00DFe"), L"STRA\u00DFE");
    EXPECT_EQ(upcaseFileName(L"\U00010428"), L"\U00010428");  // Deseret small: supplementary, unchanged
    EXPECT_EQ(upcaseFileName(L""), L"");
    const std::wstring invalid{static_cast<wchar_t>(0x110000), static_cast<wchar_t>(-1), L'a'};
    const std::wstring invalidUpper{static_cast<wchar_t>(0x110000), static_cast<wchar_t>(-1), L'A'};
    EXPECT_EQ(upcaseFileName(invalid), invalidUpper);
}

}  // namespace
