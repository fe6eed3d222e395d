// fileNameMatch: the file system's wildcard rules (FsRtlIsNameInExpression), case-insensitive.
#include "projfs/names/names.h"

#include <gtest/gtest.h>

#include <string>

namespace {

using hc::projfs::fileNameMatch;
using hc::projfs::nameHasWildcards;

struct MatchCase {
    std::wstring name;
    std::wstring pattern;
    bool expected;
    const char* why;
};

void expectCases(const std::vector<MatchCase>& cases)
{
    for (const MatchCase& c : cases) {
        EXPECT_EQ(fileNameMatch(c.name, c.pattern), c.expected) << c.why;
    }
}

TEST(FileNameMatch, SpecExamples)
{
    expectCases({
        {L"readme.txt", L"*.*", true, "*.* matches a name with a dot"},
        {L"Makefile", L"*.*", false, "*.* needs a dot (FsRtl semantics; only Win32 FindFirstFile rewrites *.* to *)"},
        {L".bashrc", L"*.*", true, "leading dot"},
        {L"trailing.", L"*.*", true, "trailing dot"},
        {L"a.txt", L"<.txt", true, "DOS_STAR then .txt"},
        {L"archive.tar.txt", L"<.txt", true, "DOS_STAR may consume dots that are not the last"},
        {L"a.txt.bak", L"<.txt", false, "must end in .txt"},
        {L"a.txt", L">.txt", true, "DOS_QM: one character"},
        {L".txt", L">.txt", true, "DOS_QM: nothing before the dot"},
        {L"ab.txt", L">.txt", false, "DOS_QM: at most one character, so at most five in all"},
        {L"E", L"E\"*", true, "DOS_DOT: nothing at the end"},
        {L"E.txt", L"E\"*", true, "DOS_DOT: a dot"},
        {L"e.TXT", L"E\"*", true, "case-insensitive"},
        {L"EX", L"E\"*", false, "DOS_DOT is not any character"},
        {L"Ex.txt", L"E\"*", false, "E then a dot"},
    });
}

TEST(FileNameMatch, StarAndQuestionMark)
{
    expectCases({
        {L"foo.txt", L"*", true, "star matches everything"},
        {L"x", L"**", true, "consecutive stars"},
        {L"x", L"***x", true, "stars before a literal"},
        {L"foo", L"foo*", true, "trailing star matches nothing"},
        {L"foo", L"*foo", true, "leading star matches nothing"},
        {L"foo", L"f*o*o*", true, "stars between"},
        {L"banana", L"*a*", true, "star in the middle"},
        {L"xyz", L"*a*", false, "no a"},
        {L"aXbYc", L"a*b*c", true, "two stars"},
        {L"abc", L"a*b*c", true, "stars matching nothing"},
        {L"acb", L"a*b*c", false, "order matters"},
        {L"string", L"*ing", true, "suffix"},
        {L"STRING", L"*ing", true, "suffix, case-insensitive"},
        {L"in", L"*ing", false, "shorter than the suffix"},
        {L"a", L"?", true, "one character"},
        {L"ab", L"?", false, "exactly one"},
        {L".", L"?", true, "? matches a dot"},
        {L"abc", L"a?c", true, "? in the middle"},
        {L"ac", L"a?c", false, "? is not optional"},
        {L"abc", L"abc?", false, "? at the end needs a character"},
        {L"abc", L"?abc", false, "? at the start needs a character"},
        {L"abc", L"???", true, "three"},
        {L"abc", L"ABC", true, "no wildcards: case-insensitive equality"},
        {L"abcd", L"abc", false, "no wildcards: whole name"},
    });
}

TEST(FileNameMatch, DosWildcards)
{
    expectCases({
        {L"abc", L"<", true, "DOS_STAR without a dot"},
        {L"a.b", L"<", false, "DOS_STAR cannot match past the final dot"},
        {L"a.b", L"<.<", true, "DOS_STAR on each side of the final dot"},
        {L"a.b.c", L"<.<", true, "first DOS_STAR takes a.b"},
        {L"abc", L"<.<", false, "needs a dot"},
        {L"abc.txt", L">>>.txt", true, "three DOS_QM, three characters"},
        {L"ab.txt", L">>>.txt", true, "DOS_QMs collapse at the dot"},
        {L".txt", L">>>.txt", true, "all DOS_QMs match nothing"},
        {L"abcd.txt", L">>>.txt", false, "four is too many"},
        {L"a", L"a>", true, "DOS_QM matches nothing at the end"},
        {L"ab", L"a>", true, "DOS_QM matches one character"},
        {L"abc", L"a>", false, "only one"},
        {L"a.b", L"a>", false, "DOS_QM never consumes a dot"},
        {L"xy", L">", false, "one DOS_QM, two characters"},
        {L"foo", L"foo\"", true, "DOS_DOT: nothing at the end"},
        {L"foo.", L"foo\"", true, "DOS_DOT: the dot"},
        {L"foo.txt", L"foo\"", false, "DOS_DOT is one dot only"},
        {L"ab", L"a\"b", false, "DOS_DOT is not optional in the middle"},
        {L"a.b", L"a\"b", true, "DOS_DOT in the middle"},
        {L"abc", L"abc<", true, "trailing DOS_STAR"},
        {L"abc", L"abc>", true, "trailing DOS_QM"},
        {L"abc", L"abc\"", true, "trailing DOS_DOT"},
        {L"abc", L"abc*<>\"", true, "all zero-width wildcards at the end"},
        {L"ab.txt", L">>\">>>", true, "8.3-style ?? translated pattern"},
    });
}

// Behaviour inherited from FsRtlIsNameInExpression that looks surprising but is what the file system
// does, so providers filter exactly as Windows would (docs/names.md).
TEST(FileNameMatch, WindowsQuirksAreKept)
{
    expectCases({
        {L"a.", L"<", true, "DOS_STAR may swallow the final dot as its last character"},
        {L".", L"<", true, "... even when the dot is the whole name"},
        {L"a.txt", L"<txt", true, "... and then the rest must match"},
        {L"a.", L"a>", true, "expression exhausted by zero-width DOS_QM at the last (dot) character"},
        {L".", L">", true, "same, single dot"},
        {L"ab.", L"ab>>", true, "same, several DOS_QM"},
        {L"a.b", L"a>b", false, "but a dot in the middle is never skipped"},
        {L"a\"b", L"a\"b", true, "DOS_DOT also matches a literal '\"' (possible in Linux names)"},
        {L"a*b", L"a*b", true, "'*' in a name is just a character"},
    });
}

TEST(FileNameMatch, EmptyNameAndPattern)
{
    expectCases({
        {L"", L"", true, "both empty"},
        {L"anything", L"", true, "empty pattern: no expression, everything matches"},
        {L"", L"*", false, "FsRtl: a non-empty expression never matches the empty name"},
        {L"", L"<", false, "even a zero-width one"},
    });
}

TEST(FileNameMatch, CaseAndNonAscii)
{
    expectCases({
        {L"\u00C9T\u00C9.TXT", L"\u00E9t\u00E9.txt", true, "accented letters fold"},
        {L"\u00C9t\u00E9", L"?t?", true, "one unit each"},
        {L"STRASSE", L"stra\u00DFe", false, "sharp s is not ss"},
        {L"\u03A3", L"\u03C3", true, "sigma folds"},
        {L"\u03C2", L"\u03A3", false, "final sigma does not"},
        {L"I", L"\u0131", false, "dotless i does not fold to I"},
        {L"i", L"I", true, "i folds to I"},
        {L"\u4E2D\u6587.txt", L"*.TXT", true, "CJK name"},
        {L"\u4E2D\u6587", L"??", true, "CJK: one unit each"},
        {L"\u4E2D\u6587", L"\u4E2D*", true, "CJK literal"},
        {L"\U0001F600.png", L"?.png", false, "a supplementary character is two UTF-16 units"},
        {L"\U0001F600.png", L"??.png", true, "... so it takes two ?"},
        {L"\U0001F600.png", L"*.png", true, "star spans it"},
        {L"\U0001F600", L">", false, "one DOS_QM is one unit"},
        {L"\U0001F600", L">>", true, "two DOS_QM"},
        {L"\U00010428", L"\U00010400", false, "supplementary letters are not case-folded"},
    });
}

TEST(FileNameMatch, LongNamesAndPathologicalPatterns)
{
    const std::wstring longName = std::wstring(255, L'a') + L".txt";
    EXPECT_TRUE(fileNameMatch(longName, L"*.txt"));
    EXPECT_TRUE(fileNameMatch(longName, L"<.TXT"));
    EXPECT_FALSE(fileNameMatch(longName, L">.txt"));
    EXPECT_TRUE(fileNameMatch(longName, std::wstring(100, L'*')));
    std::wstring manyStars;
    for (int i = 0; i < 40; ++i)
        manyStars += L"*a";
    EXPECT_TRUE(fileNameMatch(std::wstring(200, L'a'), manyStars));
    EXPECT_FALSE(fileNameMatch(std::wstring(200, L'a'), manyStars + L"*b"));  // linear, not exponential
    EXPECT_TRUE(fileNameMatch(std::wstring(4096, L'x'), std::wstring(4096, L'?')));
    EXPECT_FALSE(fileNameMatch(std::wstring(4096, L'x'), std::wstring(4097, L'?')));
}

TEST(NameHasWildcards, EachWildcard)
{
    EXPECT_FALSE(nameHasWildcards(L""));
    EXPECT_FALSE(nameHasWildcards(L"plain.txt"));
    EXPECT_FALSE(nameHasWildcards(L"[brackets] & {braces}\\back/slash"));
    for (const wchar_t* name : {L"*", L"a?", L"<b", L"c>d", L"e\"", L"x.*"}) {
        EXPECT_TRUE(nameHasWildcards(name)) << "wildcard in name index";
    }
}

}  // namespace
