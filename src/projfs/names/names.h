// ProjFS name rules: the Windows file system's case-insensitive name comparison (NTFS upcase table,
// ordinal over UTF-16 code units) and its wildcard matching (FsRtlIsNameInExpression semantics with
// the DOS wildcards < > "). The C entry points PrjFileNameCompare / PrjFileNameMatch /
// PrjDoesNameContainWildCards (names_api.cpp) and the ProjFS runtime's lookups both use these, so
// enumeration order, lookup and matching agree everywhere. docs/names.md explains each rule.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hc::projfs {

// Orders two names as PrjFileNameCompare does: <0, 0 or >0. Each name is taken as UTF-16 (a
// supplementary character is its surrogate pair, which sorts below U+E000..U+FFFF), each code unit
// upper-cased with the NTFS table, then compared ordinally -- except that '.' sorts before every
// other character, as Windows' PrjFileNameCompare does (docs/names.md). A strict weak ordering over
// all inputs: wchar_t values that are not Unicode scalar values (surrogate code points, values above
// U+10FFFF) stay distinct and sort after every valid character at the same position.
int compareFileNames(std::wstring_view a, std::wstring_view b);

// True when the two names denote the same file (compareFileNames(a, b) == 0).
bool fileNamesEqual(std::wstring_view a, std::wstring_view b);

// The upper-cased spelling used for case-insensitive lookup keys: every BMP character mapped through
// the NTFS upcase table, anything else unchanged. upcaseFileName(a) == upcaseFileName(b) exactly when
// compareFileNames(a, b) == 0, so it can key a map (FileNameHash/FileNameEqual avoid the copy).
std::wstring upcaseFileName(std::wstring_view name);

// Upper-cases one UTF-16 code unit with the NTFS upcase table (identity for surrogates).
char16_t upcaseCodeUnit(char16_t unit);

// Wildcard match with the file system's rules, case-insensitive: `*` any run, `?` exactly one
// character, `<` (DOS_STAR) any run up to the final '.', `>` (DOS_QM) one character or nothing at a
// '.' or the end, `"` (DOS_DOT) a '.' or nothing at the end. A "character" is a UTF-16 code unit, as
// on Windows (a supplementary character is two). An empty pattern means "no expression" and matches
// every name; a non-empty pattern never matches the empty name. docs/names.md lists the corner cases.
bool fileNameMatch(std::wstring_view name, std::wstring_view pattern);

// True when `name` contains any of * ? < > ".
bool nameHasWildcards(std::wstring_view name);

// Function objects for containers keyed by file name with file system (case-insensitive) rules.
// Transparent, so maps keyed by std::wstring can be searched with a std::wstring_view.
struct FileNameLess {
    using is_transparent = void;
    bool operator()(std::wstring_view a, std::wstring_view b) const { return compareFileNames(a, b) < 0; }
};
struct FileNameEqual {
    using is_transparent = void;
    bool operator()(std::wstring_view a, std::wstring_view b) const { return fileNamesEqual(a, b); }
};
struct FileNameHash {
    using is_transparent = void;
    std::size_t operator()(std::wstring_view name) const;
};

}  // namespace hc::projfs
