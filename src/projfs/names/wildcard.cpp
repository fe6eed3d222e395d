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
#include <array>
#include <memory>

namespace hc::projfs {
namespace {

using detail::CodeUnit;

constexpr CodeUnit kStar = L'*';
constexpr CodeUnit kQuestion = L'?';
constexpr CodeUnit kDosStar = L'<';
constexpr CodeUnit kDosQm = L'>';
constexpr CodeUnit kDosDot = L'"';
constexpr CodeUnit kDot = L'.';

// A scratch array that lives on the stack for name-sized inputs and on the heap beyond that, so the
// usual match (names are at most 255 units) allocates nothing.
template <typename T, std::size_t kInline>
class ScratchArray {
public:
    explicit ScratchArray(std::size_t size) : size_(size)
    {
        if (size > kInline) {
            heap_ = std::make_unique<T[]>(size);
            data_ = heap_.get();
        }
        std::fill(data_, data_ + size, T{});
    }
    T* data() { return data_; }
    T& operator[](std::size_t i) { return data_[i]; }
    std::size_t size() const { return size_; }

private:
    std::size_t size_;
    std::array<T, kInline> inline_;
    std::unique_ptr<T[]> heap_;
    T* data_ = inline_.data();
};

constexpr std::size_t kInlineUnits = 520;  // MAX_PATH twice over, surrogate pairs included
using UnitArray = ScratchArray<CodeUnit, kInlineUnits>;
using StateArray = ScratchArray<char, kInlineUnits + 1>;

// How many UTF-16 units `text` takes (a supplementary character takes two).
std::size_t unitCount(std::wstring_view text)
{
    std::size_t count = 0;
    for (wchar_t c : text) {
        const auto value = static_cast<std::uint32_t>(c);
        count += detail::isScalarValue(value) && value > 0xFFFF ? 2 : 1;
    }
    return count;
}

void readUnits(std::wstring_view text, UnitArray& units)
{
    detail::UpcasedUnits reader(text);
    std::size_t i = 0;
    CodeUnit unit = 0;
    while (reader.next(unit))
        units[i++] = unit;
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

bool matchUnits(UnitArray& name, UnitArray& expr)
{
    const std::size_t end = expr.size();
    std::size_t finalDot = name.size();  // index of the last '.', or size() when there is none
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (name[i] == kDot) finalDot = i;
    }

    // live[p]: the name so far can be matched with the expression read up to position p.
    StateArray stateA(end + 1);
    StateArray stateB(end + 1);
    char* live = stateA.data();
    char* next = stateB.data();
    live[0] = 1;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const CodeUnit c = name[i];
        const bool atFinalDot = i == finalDot;
        bool exhaustedWithoutConsuming = false;
        std::fill(next, next + end + 1, 0);
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
        if (std::find(next, next + end + 1, 1) == next + end + 1) return false;
        std::swap(live, next);
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
    UnitArray nameUnits(unitCount(name));
    UnitArray patternUnits(unitCount(pattern));
    readUnits(name, nameUnits);
    readUnits(pattern, patternUnits);
    if (patternUnits[0] == kStar &&
        std::none_of(patternUnits.data() + 1, patternUnits.data() + patternUnits.size(), isWildcard)) {
        // "*.txt" and the like: a suffix comparison (the automaton would agree, more slowly).
        const std::size_t suffix = patternUnits.size() - 1;
        if (nameUnits.size() < suffix) return false;
        return std::equal(patternUnits.data() + 1, patternUnits.data() + patternUnits.size(),
                          nameUnits.data() + (nameUnits.size() - suffix));
    }
    return matchUnits(nameUnits, patternUnits);
}

}  // namespace hc::projfs
