// The C entry points of the ProjFS name rules. Pure functions of their arguments: safe from any thread,
// and NULL arguments have a defined meaning instead of crashing (docs/names.md):
//   PrjFileNameMatch:            NULL name -> FALSE; NULL (or empty) pattern -> TRUE, "no expression"
//                                as in an enumeration whose search expression is NULL.
//   PrjFileNameCompare:          NULL sorts before every string, including ""; two NULLs are equal.
//   PrjDoesNameContainWildCards: NULL -> FALSE.
#include <projectedfslib.h>

#include "projfs/names/names.h"

#include <cwchar>
#include <string_view>

namespace {

std::wstring_view viewOf(PCWSTR text)
{
    return std::wstring_view(text, std::wcslen(text));
}

}  // namespace

extern "C" {

HOSTCOMPUTE_API BOOLEAN PrjFileNameMatch(PCWSTR fileNameToCheck, PCWSTR pattern)
{
    if (fileNameToCheck == nullptr) return FALSE;
    if (pattern == nullptr) return TRUE;
    return hc::projfs::fileNameMatch(viewOf(fileNameToCheck), viewOf(pattern)) ? TRUE : FALSE;
}

HOSTCOMPUTE_API int PrjFileNameCompare(PCWSTR fileName1, PCWSTR fileName2)
{
    if (fileName1 == nullptr || fileName2 == nullptr) {
        if (fileName1 == fileName2) return 0;
        return fileName1 == nullptr ? -1 : 1;
    }
    return hc::projfs::compareFileNames(viewOf(fileName1), viewOf(fileName2));
}

HOSTCOMPUTE_API BOOLEAN PrjDoesNameContainWildCards(LPCWSTR fileName)
{
    if (fileName == nullptr) return FALSE;
    return hc::projfs::nameHasWildcards(viewOf(fileName)) ? TRUE : FALSE;
}

}  // extern "C"
