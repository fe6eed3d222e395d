#include "projfs/store/name_rules.h"

#ifdef HC_HAVE_PROJFS_NAMES
#include "projfs/names/names.h"
#else
#include <cwctype>
#endif

namespace hc::projfs {

#ifdef HC_HAVE_PROJFS_NAMES
int compareNamesForOrder(std::wstring_view a, std::wstring_view b)
{
    return compareFileNames(a, b);
}
bool namesEqualIgnoringCase(std::wstring_view a, std::wstring_view b)
{
    return fileNamesEqual(a, b);
}
bool nameMatchesPattern(std::wstring_view name, std::wstring_view pattern)
{
    return fileNameMatch(name, pattern);
}
std::wstring caseFoldedName(std::wstring_view name)
{
    return upcaseFileName(name);
}
#else
// Interim rules until projfs_names is built: simple upper-casing, '*' only.
int compareNamesForOrder(std::wstring_view a, std::wstring_view b)
{
    size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
        wint_t x = std::towupper(a[i]), y = std::towupper(b[i]);
        if (x != y) return x < y ? -1 : 1;
    }
    return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}
bool namesEqualIgnoringCase(std::wstring_view a, std::wstring_view b)
{
    return compareNamesForOrder(a, b) == 0;
}
std::wstring caseFoldedName(std::wstring_view name)
{
    std::wstring out(name);
    for (auto& c : out)
        c = static_cast<wchar_t>(std::towupper(c));
    return out;
}
bool nameMatchesPattern(std::wstring_view name, std::wstring_view pattern)
{
    return pattern == L"*" || namesEqualIgnoringCase(name, pattern);
}
#endif

}  // namespace hc::projfs
