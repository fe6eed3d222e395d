// PrjFileNameCompare order: upper-cased UTF-16 code units compared ordinally, except that '.' sorts
// before every other unit (Windows' PrjFileNameCompare does this; see docs/names.md for the source).
#include "projfs/names/code_units.h"
#include "projfs/names/names.h"

#include <algorithm>

namespace hc::projfs {
namespace {

using detail::CodeUnit;
using detail::UpcasedUnits;

// Sort weight of an upper-cased unit: NUL lowest (only reachable through the C++ API; a C string ends
// there), then '.', then everything else in code unit order.
CodeUnit sortWeight(CodeUnit unit)
{
    if (unit == 0) return 0;
    if (unit == L'.') return 1;
    return unit + 2;
}

// The general comparison: any characters, one UTF-16 unit at a time.
int compareUnits(std::wstring_view a, std::wstring_view b)
{
    UpcasedUnits left(a);
    UpcasedUnits right(b);
    for (;;) {
        CodeUnit l = 0;
        CodeUnit r = 0;
        const bool hasLeft = left.next(l);
        const bool hasRight = right.next(r);
        if (!hasLeft || !hasRight) return hasLeft ? 1 : (hasRight ? -1 : 0);
        if (l != r) return sortWeight(l) < sortWeight(r) ? -1 : 1;
    }
}

}  // namespace

int compareFileNames(std::wstring_view a, std::wstring_view b)
{
    // Fast path for the common case, characters below the surrogate range: each is one unit, so the
    // comparison can index both names directly. The first character that needs more care hands the
    // rest of both names to the general comparison (the prefixes so far were equal unit for unit).
    const std::size_t common = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < common; ++i) {
        const auto x = static_cast<std::uint32_t>(a[i]);
        const auto y = static_cast<std::uint32_t>(b[i]);
        if (x >= 0xD800 || y >= 0xD800) return compareUnits(a.substr(i), b.substr(i));
        if (x == y) continue;
        const CodeUnit ux = upcaseCodeUnit(static_cast<char16_t>(x));
        const CodeUnit uy = upcaseCodeUnit(static_cast<char16_t>(y));
        if (ux != uy) return sortWeight(ux) < sortWeight(uy) ? -1 : 1;
    }
    return (a.size() > b.size()) - (a.size() < b.size());
}

bool fileNamesEqual(std::wstring_view a, std::wstring_view b)
{
    return compareFileNames(a, b) == 0;
}

std::wstring upcaseFileName(std::wstring_view name)
{
    std::wstring upper(name);
    for (wchar_t& c : upper) {
        const auto value = static_cast<std::uint32_t>(c);
        // Surrogate code points map to themselves in the table, so only the BMP check is needed.
        if (value <= 0xFFFF) c = static_cast<wchar_t>(upcaseCodeUnit(static_cast<char16_t>(value)));
    }
    return upper;
}

std::size_t FileNameHash::operator()(std::wstring_view name) const
{
    // FNV-1a over the upper-cased units: equal names (compareFileNames == 0) hash equally.
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    UpcasedUnits units(name);
    CodeUnit unit = 0;
    while (units.next(unit)) {
        hash ^= unit;
        hash *= 0x100000001b3ULL;
    }
    return static_cast<std::size_t>(hash);
}

}  // namespace hc::projfs
