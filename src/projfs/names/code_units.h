// Walks a wchar_t (UTF-32) name as the UTF-16 code units Windows would see, upper-cased with the
// NTFS table: the unit sequence that collation and wildcard matching are defined on.
#pragma once

#include "projfs/names/names.h"

#include <cstdint>
#include <string_view>

namespace hc::projfs::detail {

// One name position as Windows sees it. Valid values are UTF-16 code units (0..0xFFFF). A wchar_t
// that is not a Unicode scalar value (a surrogate code point, above U+10FFFF, or negative) has no
// UTF-16 form, so it becomes a single unit above 0xFFFF that keeps its identity: such names stay
// distinct from every valid name (a lone surrogate never pairs up with its neighbour into another
// name's character) and sort after valid characters at that position.
using CodeUnit = std::uint64_t;

inline constexpr CodeUnit kFirstInvalidUnit = 0x10000;

inline bool isScalarValue(std::uint32_t value)
{
    return value <= 0x10FFFF && (value < 0xD800 || value > 0xDFFF);
}

// Yields the upper-cased UTF-16 code units of `name` one at a time, without allocating.
class UpcasedUnits {
public:
    explicit UpcasedUnits(std::wstring_view name) : name_(name) {}

    // Stores the next unit in `unit` and returns true, or returns false at the end.
    bool next(CodeUnit& unit)
    {
        if (pendingLow_ != 0) {
            unit = pendingLow_;
            pendingLow_ = 0;
            return true;
        }
        if (pos_ == name_.size()) return false;
        const auto value = static_cast<std::uint32_t>(name_[pos_++]);
        if (!isScalarValue(value)) {
            unit = kFirstInvalidUnit + value;
        } else if (value <= 0xFFFF) {
            unit = upcaseCodeUnit(static_cast<char16_t>(value));
        } else {
            // Supplementary characters are surrogate pairs and are never upper-cased (NTFS
            // upper-cases code units, and surrogates map to themselves).
            const std::uint32_t offset = value - 0x10000;
            unit = 0xD800 + (offset >> 10);
            pendingLow_ = 0xDC00 + (offset & 0x3FF);
        }
        return true;
    }

private:
    std::wstring_view name_;
    std::size_t pos_ = 0;
    CodeUnit pendingLow_ = 0;
};

}  // namespace hc::projfs::detail
