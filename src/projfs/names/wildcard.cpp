// PrjFileNameMatch: the file system's wildcard language (FsRtlIsNameInExpression), case-insensitive.
//
// The expression is run as a nondeterministic automaton over the name's upper-cased UTF-16 code units:
// a set of expression positions advances one name unit at a time. DOS_STAR and DOS_QM decide by the
// name unit they are looking at, which is why the zero-width moves are taken per unit. Two Windows
// details are kept on purpose because providers depend on matching exactly what the file system
// lists (docs/names.md has examples): DOS_STAR may swallow the final '.' as its last character, and
// when the expression runs out through zero-width moves while looking at the name's last unit, the
// name matches (so `a>` matches "a.").
#include "projfs/names/code_units.h"
#include "projfs/names/names.h"

#include <algorithm>
#include <vector>

namespace hc::projfs {
namespace {

using detail::CodeUnit;

constexpr CodeUnit kStar = L'*';
constexpr CodeUnit kQuestion = L'?';
constexpr CodeUnit kDosStar = L'<';
constexpr CodeUnit kDosQm = L'>';
constexpr CodeUnit kDosDot = L'"';
constexpr CodeUnit kDot = L'.';

std::vector<CodeUnit> upcasedUnits(std::wstring_view text)
{
    std::vector<CodeUnit> units;
    units.reserve(text.size());
    detail::UpcasedUnits reader(text);
    CodeUnit unit = 0;
    while (reader.next(unit))
        units.push_back(unit);
    return units;
}

bool isWildcard(CodeUnit unit)
{
    return unit == kStar || unit == kQuestion || unit == kDosStar || unit == kDosQm || unit == kDosDot;
}

// Wildcards that can match nothing at the end of the name.
bool canMatchEmptyAtEnd(CodeUnit unit)
{
    return unit == kStar || unit == kDosStar || unit == kDosQm || unit == kDosDot;
}

bool matchUnits(const std::vector<CodeUnit>& name, const std::vector<CodeUnit>& expr)
{
    const std::size_t end = expr.size();
    std::size_t finalDot = name.size();  // index of the last '.', or size() when there is none
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (name[i] == kDot) finalDot = i;
    }

    // live[p]: the name so far can be matched with the expression read up to position p.
    std::vector<char> live(end + 1, 0);
    std::vector<char> next(end + 1, 0);
    live[0] = 1;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const CodeUnit c = name[i];
        const bool atFinalDot = i == finalDot;
        bool exhaustedWithoutConsuming = false;
        std::fill(next.begin(), next.end(), 0);
        for (std::size_t start = 0; start <= end; ++start) {
            if (!live[start]) continue;
            std::size_t p = start;
            bool movedZeroWidth = false;
            for (;;) {
                if (p == end) {
                    exhaustedWithoutConsuming |= movedZeroWidth;
                    break;
                }
                const CodeUnit e = expr[p];
                if (e == kStar || (e == kDosStar && !atFinalDot)) {
                    next[p] = 1;      // consume c and stay in the run
                    next[p + 1] = 1;  // consume c as the run's last character
                } else if (e == kDosStar) {
                    next[p + 1] = 1;  // the final '.' may only end the run
                } else if (e == kDosQm && c == kDot) {
                    // DOS_QM matches nothing at a '.'; fall through to the zero-width move below.
                } else {
                    const bool consumes = e == kQuestion || e == kDosQm || (e == kDosDot && c == kDot) || e == c;
                    if (consumes) next[p + 1] = 1;
                    break;
                }
                ++p;  // the zero-width move of *, DOS_STAR and DOS_QM
                movedZeroWidth = true;
            }
        }
        if (exhaustedWithoutConsuming && i + 1 == name.size()) return true;
        if (std::find(next.begin(), next.end(), 1) == next.end()) return false;
        live.swap(next);
    }
    for (std::size_t start = 0; start <= end; ++start) {
        if (!live[start]) continue;
        std::size_t p = start;
        while (p < end && canMatchEmptyAtEnd(expr[p]))
            ++p;
        if (p == end) return true;
    }
    return false;
}

}  // namespace

bool nameHasWildcards(std::wstring_view name)
{
    return std::any_of(name.begin(), name.end(),
                       [](wchar_t c) { return isWildcard(static_cast<CodeUnit>(static_cast<std::uint32_t>(c))); });
}

bool fileNameMatch(std::wstring_view name, std::wstring_view pattern)
{
    if (pattern.empty()) return true;  // no expression: everything matches (see names.h)
    if (name.empty()) return false;    // FsRtl: a non-empty expression never matches an empty name
    if (pattern == L"*") return true;  // by far the most common expression
    return matchUnits(upcasedUnits(name), upcasedUnits(pattern));
}

}  // namespace hc::projfs
