// The C entry points: NULL handling, agreement with the C++ functions, and concurrent use.
#include <projectedfslib.h>

#include "projfs/names/names.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

TEST(PrjFileNameMatch, NullArguments)
{
    EXPECT_EQ(PrjFileNameMatch(nullptr, L"*"), FALSE);
    EXPECT_EQ(PrjFileNameMatch(nullptr, nullptr), FALSE);
    EXPECT_EQ(PrjFileNameMatch(L"a.txt", nullptr), TRUE);  // NULL expression: everything, as in enumeration
    EXPECT_EQ(PrjFileNameMatch(L"", nullptr), TRUE);
    EXPECT_EQ(PrjFileNameMatch(L"a.txt", L""), TRUE);
}

TEST(PrjFileNameMatch, ReturnsExactlyTrueOrFalse)
{
    EXPECT_EQ(PrjFileNameMatch(L"readme.txt", L"*.TXT"), TRUE);
    EXPECT_EQ(PrjFileNameMatch(L"readme", L"*.*"), FALSE);
    EXPECT_EQ(PrjFileNameMatch(L"E", L"E\"*"), TRUE);
    EXPECT_EQ(PrjFileNameMatch(L"ab.txt", L">.txt"), FALSE);
}

TEST(PrjFileNameCompare, NullArguments)
{
    EXPECT_EQ(PrjFileNameCompare(nullptr, nullptr), 0);
    EXPECT_LT(PrjFileNameCompare(nullptr, L""), 0);
    EXPECT_GT(PrjFileNameCompare(L"", nullptr), 0);
    EXPECT_LT(PrjFileNameCompare(nullptr, L"a"), 0);
    EXPECT_GT(PrjFileNameCompare(L"a", nullptr), 0);
}

TEST(PrjFileNameCompare, AgreesWithTheCppFunction)
{
    const wchar_t* names[] = {L"", L"a", L"A", L"_", L".", L"a.b", L"a-b", L"\u00E9", L"\U0001F600", L"\uFF21"};
    for (const wchar_t* a : names) {
        for (const wchar_t* b : names) {
            EXPECT_EQ(PrjFileNameCompare(a, b), hc::projfs::compareFileNames(a, b));
        }
    }
    EXPECT_EQ(PrjFileNameCompare(L"FILE.TXT", L"file.txt"), 0);
    EXPECT_GT(PrjFileNameCompare(L"_", L"Z"), 0);
}

TEST(PrjDoesNameContainWildCards, AllWildcardsAndNull)
{
    EXPECT_EQ(PrjDoesNameContainWildCards(nullptr), FALSE);
    EXPECT_EQ(PrjDoesNameContainWildCards(L""), FALSE);
    EXPECT_EQ(PrjDoesNameContainWildCards(L"name.txt"), FALSE);
    EXPECT_EQ(PrjDoesNameContainWildCards(L"*"), TRUE);
    EXPECT_EQ(PrjDoesNameContainWildCards(L"a?"), TRUE);
    EXPECT_EQ(PrjDoesNameContainWildCards(L"a<"), TRUE);
    EXPECT_EQ(PrjDoesNameContainWildCards(L">a"), TRUE);
    EXPECT_EQ(PrjDoesNameContainWildCards(L"\"a"), TRUE);
}

// The functions keep no mutable state; under ThreadSanitizer this shows it.
TEST(NameFunctions, ConcurrentCallersAgree)
{
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&mismatches] {
            for (int i = 0; i < 2000; ++i) {
                if (PrjFileNameCompare(L"Stra\u00DFe.txt", L"STRA\u00DFE.TXT") != 0) ++mismatches;
                if (PrjFileNameMatch(L"\u00E9t\u00E9.log", L"<.LOG") != TRUE) ++mismatches;
                if (PrjDoesNameContainWildCards(L"a*") != TRUE) ++mismatches;
            }
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
