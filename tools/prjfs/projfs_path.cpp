#include "projfs_path.h"

namespace prjfs {

std::vector<std::wstring> splitProjfsPath(PCWSTR path)
{
    std::vector<std::wstring> parts;
    std::wstring current;
    for (const wchar_t* p = path; p && *p; ++p) {
        if (*p == L'\\' || *p == L'/') {
            if (!current.empty()) parts.push_back(std::move(current));
            current.clear();
        } else {
            current.push_back(*p);
        }
    }
    if (!current.empty()) parts.push_back(std::move(current));
    return parts;
}

}  // namespace prjfs
