// compareFileNames: PrjFileNameCompare order (NTFS upcase, UTF-16 code units, '.' first).
#include "projfs/names/names.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

using hc::projfs::compareFileNames;
using hc::projfs::FileNameEqual;
using hc::projfs::FileNameHash;
using hc::projfs::FileNameLess;
using hc::projfs::upcaseFileName;

int sign(int value)
{
    return (value > 0) - (value < 0);
}

struct CompareCase {
    std::wstring a;
    std::wstring b;
    int expected;  // sign of compareFileNames(a, b)
    const char* why;
};

std::wstring units(std::initializer_list<std::uint32_t> values)
{
    std::wstring text;
    for (std::uint32_t v : values)
        text.push_back(static_cast<wchar_t>(v));
    return text;
}

TEST(CompareFileNames, Table)
{
    const CompareCase cases[] = {
        {L"", L"", 0, "empty equals empty"},
        {L"", L"a", -1, "empty sorts first"},
        {L"abc", L"abc", 0, "identical"},
        {L"ABC", L"abc", 0, "ASCII case-insensitive"},
        {L"Readme.MD", L"README.md", 0, "mixed case"},
        {L"a", L"b", -1, "letters in order"},
        {L"B", L"a", 1, "case does not affect order"},
        {L"a", L"ab", -1, "prefix sorts first"},
        {L"_", L"A", 1, "'_' (0x5F) sorts after upper-cased letters"},
        {L"_", L"z", 1, "'_' sorts after z too, since z upper-cases to 0x5A"},
        {L"a_b", L"aZ", 1, "'_' after 'Z'"},
        {L"[", L"a", 1, "'[' (0x5B) after letters, which upper-case to 0x41..0x5A"},
        {L"9", L"A", -1, "digits before letters"},
        {L".", L"!", -1, "'.' sorts before '!' (measured on Windows)"},
        {L".", L"\u0001", -1, "'.' sorts before U+0001"},
        {L"a.txt", L"a-b", -1, "'.' before '-' although 0x2E > 0x2D"},
        {L"a.", L"ab", -1, "dot before letters"},
        {L"a", L"a.", -1, "shorter first even against a dot"},
        {L".hidden", L"10", -1, "leading dot first"},
        {L"\u00E9", L"\u00C9", 0, "e acute folds"},
        {L"\u00E9", L"f", 1, "accented letters after ASCII (ordinal, not linguistic)"},
        {L"\u00DF", L"ss", 1, "sharp s is not ss"},
        {L"\u00DF", L"\u1E9E", -1, "sharp s does not fold to capital sharp s"},
        {L"\u03C3", L"\u03A3", 0, "Greek sigma folds"},
        {L"\u03C2", L"\u03A3", 1, "final sigma does not fold (U+03C2 > U+03A3)"},
        {L"\u03B1\u03B2\u03B3", L"\u0391\u0392\u0393", 0, "Greek word folds"},
        {L"\u0131", L"I", 1, "dotless i is not I"},
        {L"\u0130", L"i", 1, "dotted capital I is not i (i folds to 0x49)"},
        {L"\u0436", L"\u0416", 0, "Cyrillic folds"},
        {L"\u4E2D", L"\u6587", -1, "CJK by code unit"},
        {L"\u4E2D\u6587", L"\u4E2D\u6587", 0, "CJK equal"},
        {L"\uFF41", L"\uFF21", 0, "fullwidth folds"},
        {L"\U0001F600", L"\uFF21", -1, "supplementary (surrogates 0xD83D..) before U+FF21"},
        {L"\U0001F600", L"\uE000", -1, "supplementary before the private use area"},
        {L"\U0001F600", L"\uD7FF", 1, "supplementary after U+D7FF"},
        {L"\U00010428", L"\U00010400", 1, "supplementary letters are not case-folded"},
        {L"\U0001F600", L"\U0001F601", -1, "supplementary by low surrogate"},
        {L"\U00010000", L"\U0000FFFF", -1, "U+10000 (D800 DC00) before U+FFFF"},
        {units({'a', 0, 'b'}), L"a", 1, "embedded NUL: longer after"},
        {units({'a', 0}), L"a.", -1, "embedded NUL sorts before '.'"},
        {units({0x110000}), L"\uFFFF", 1, "invalid wchar_t sorts after every valid character"},
        {units({0x110000}), units({0x110001}), -1, "invalid values stay distinct"},
        {units({0xFFFFFFFF}), units({0x110000}), 1, "negative wchar_t is a large invalid value"},
        {units({0xD800}), L"\U00010000", 1, "lone surrogate is not half of a pair"},
        {units({0xD800, 0xDC00}), L"\U00010000", 1, "two lone surrogates are not the pair"},
        {L"abc\U0001F600", L"ABC\uFF21", -1, "common prefix, then supplementary before U+FF21"},
        {L"x\u00E9\U00010428", L"X\u00C9\U00010400", 1, "folded prefix, then unfolded supplementary"},
        {units({'a', 'b', 0x110000}), L"AB\uFFFF", 1, "common prefix, then an invalid value"},
        {L"ab\U0001F600c", L"AB\U0001F600C", 0, "equal across a supplementary character"},
        {L"ab\U0001F600", L"ab\U0001F600.", -1, "prefix after a supplementary character"},
    };
    for (const CompareCase& c : cases) {
        EXPECT_EQ(sign(compareFileNames(c.a, c.b)), c.expected) << c.why;
        EXPECT_EQ(sign(compareFileNames(c.b, c.a)), -c.expected) << "reversed: " << c.why;
    }
}

TEST(CompareFileNames, SortGivesTheDocumentedOrder)
{
    std::vector<std::wstring> names = {L"\uFF5A", L"b",      L"a_b", L"\U0001F600", L"9",     L"Zeta", L"a-b", L"a",
                                       L"_x",     L"\u00E4", L"10",  L".hidden",    L"a.txt", L"-x",   L"!"};
    std::sort(names.begin(), names.end(), FileNameLess{});
    const std::vector<std::wstring> expected = {L".hidden", L"!",     L"-x",     L"10",         L"9",
                                                L"a",       L"a.txt", L"a-b",    L"a_b",        L"b",
                                                L"Zeta",    L"_x",    L"\u00E4", L"\U0001F600", L"\uFF5A"};
    EXPECT_EQ(names, expected);
}

// Random names over an alphabet of the characters that make collation interesting.
std::vector<std::wstring> randomNames(std::size_t count, unsigned seed)
{
    const std::wstring alphabet =
        units({'a', 'A', 'b',   'B',   '.',   '_',    '-',     'z',    0xE9,   0xC9,   0xDF,    0x131,
               'I', 'i', 0x3C3, 0x3A3, 0x3C2, 0x4E2D, 0x1F600, 0xFF5A, 0xFF3A, 0xD800, 0x110000});
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> length(0, 4);
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    std::vector<std::wstring> names;
    for (std::size_t i = 0; i < count; ++i) {
        std::wstring name;
        const std::size_t n = length(rng);
        for (std::size_t k = 0; k < n; ++k)
            name.push_back(alphabet[pick(rng)]);
        names.push_back(name);
    }
    return names;
}

TEST(CompareFileNames, IsAStrictWeakOrdering)
{
    const std::vector<std::wstring> names = randomNames(120, 20261122);
    const std::size_t n = names.size();
    std::vector<int> cmp(n * n);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < n; ++j)
            cmp[i * n + j] = sign(compareFileNames(names[i], names[j]));
    }
    for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(cmp[i * n + i], 0) << "irreflexive";
        for (std::size_t j = 0; j < n; ++j) {
            ASSERT_EQ(cmp[i * n + j], -cmp[j * n + i]) << "antisymmetric";
            for (std::size_t k = 0; k < n; ++k) {
                const int ij = cmp[i * n + j];
                const int jk = cmp[j * n + k];
                const int ik = cmp[i * n + k];
                // Transitivity of < and of equivalence (which covers transitivity of incomparability).
                if (ij <= 0 && jk <= 0 && (ij < 0 || jk < 0)) {
                    ASSERT_LT(ik, 0) << "transitive <";
                }
                if (ij == 0 && jk == 0) {
                    ASSERT_EQ(ik, 0) << "transitive equivalence";
                }
            }
        }
    }
}

// An independent, slow statement of the rule: UTF-16 units, upper-cased, '.' lowest, compared in order.
std::vector<std::uint64_t> referenceKey(const std::wstring& name)
{
    std::vector<std::uint64_t> key;
    const auto weight = [](std::uint64_t unit) -> std::uint64_t { return unit == 0 ? 0 : unit == '.' ? 1 : unit + 2; };
    for (wchar_t c : name) {
        const auto v = static_cast<std::uint32_t>(c);
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
            key.push_back(weight(0x10000ULL + v));
        } else if (v > 0xFFFF) {
            key.push_back(weight(0xD800 + ((v - 0x10000) >> 10)));
            key.push_back(weight(0xDC00 + ((v - 0x10000) & 0x3FF)));
        } else {
            key.push_back(weight(hc::projfs::upcaseCodeUnit(static_cast<char16_t>(v))));
        }
    }
    return key;
}

TEST(CompareFileNames, AgreesWithAReferenceModel)
{
    const std::vector<std::wstring> names = randomNames(400, 99);
    for (const std::wstring& a : names) {
        for (const std::wstring& b : names) {
            const auto ka = referenceKey(a);
            const auto kb = referenceKey(b);
            const int expected = ka < kb ? -1 : (kb < ka ? 1 : 0);
            ASSERT_EQ(sign(compareFileNames(a, b)), expected);
        }
    }
}

TEST(CompareFileNames, EqualityAgreesWithUpcaseAndHash)
{
    const std::vector<std::wstring> names = randomNames(300, 7);
    int equalPairs = 0;
    for (const std::wstring& a : names) {
        for (const std::wstring& b : names) {
            const bool equal = compareFileNames(a, b) == 0;
            ASSERT_EQ(equal, upcaseFileName(a) == upcaseFileName(b));
            ASSERT_EQ(equal, FileNameEqual{}(a, b));
            if (equal) {
                ASSERT_EQ(FileNameHash{}(a), FileNameHash{}(b));
                ++equalPairs;
            }
        }
    }
    EXPECT_GT(equalPairs, static_cast<int>(names.size()));  // the alphabet produces real case collisions
}

TEST(CompareFileNames, CaseInsensitiveHashSet)
{
    std::unordered_set<std::wstring, FileNameHash, FileNameEqual> set;
    EXPECT_TRUE(set.insert(L"Makefile").second);
    EXPECT_FALSE(set.insert(L"MAKEFILE").second);
    EXPECT_FALSE(set.insert(L"makefile").second);
    EXPECT_TRUE(set.insert(L"makefile.am").second);
    EXPECT_TRUE(set.insert(L"\u03C2").second);   // final sigma
    EXPECT_TRUE(set.insert(L"\u03A3").second);   // capital sigma is a different name
    EXPECT_FALSE(set.insert(L"\u03C3").second);  // small sigma is the capital's name
    EXPECT_EQ(set.size(), 4u);
    EXPECT_NE(set.find(std::wstring_view(L"MAKEFILE.AM")), set.end());  // heterogeneous lookup
}

TEST(CompareFileNames, CaseInsensitiveOrderedMap)
{
    std::map<std::wstring, int, FileNameLess> map{{L"b", 2}, {L"A", 1}, {L"_", 3}};
    EXPECT_EQ(map.begin()->first, L"A");
    auto found = map.find(std::wstring_view(L"B"));
    ASSERT_NE(found, map.end());
    EXPECT_EQ(found->second, 2);
    EXPECT_FALSE(map.emplace(L"a", 9).second);
}

TEST(CompareFileNames, LongNames)
{
    const std::wstring a(32768, L'x');
    std::wstring b(32768, L'X');
    EXPECT_EQ(compareFileNames(a, b), 0);
    b.back() = L'Y';
    EXPECT_LT(compareFileNames(a, b), 0);
    EXPECT_GT(compareFileNames(a + L"a", a), 0);
}

}  // namespace
