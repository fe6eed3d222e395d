// PrjFileNameCompare order: upper-cased UTF-16 code units compared ordinally, except that '.' sorts
// before every other unit (Windows' PrjFileNameCompare does this; see docs/names.md for the source).
#include "projfs/names/code_units.h"
#include "projfs/names/names.h"

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

}  // namespace

int compareFileNames(std::wstring_view a, std::wstring_view b)
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
