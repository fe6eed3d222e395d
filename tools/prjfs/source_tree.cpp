#include "source_tree.h"
#include "projfs_path.h"

#include "base/filetime.h"
#include "base/hresult.h"
#include "base/strings.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>

namespace prjfs {
namespace {

struct DirCloser {
    void operator()(DIR* dir) const { closedir(dir); }
};

}  // namespace

PRJ_FILE_BASIC_INFO basicInfoFromStat(const struct stat& st)
{
    PRJ_FILE_BASIC_INFO info = {};
    info.IsDirectory = S_ISDIR(st.st_mode);
    info.FileSize = info.IsDirectory ? 0 : static_cast<INT64>(st.st_size);
    info.CreationTime.QuadPart = hc::filetimeFromTimespec(st.st_mtim);  // Linux keeps no portable birth time here
    info.LastAccessTime.QuadPart = hc::filetimeFromTimespec(st.st_atim);
    info.LastWriteTime.QuadPart = hc::filetimeFromTimespec(st.st_mtim);
    info.ChangeTime.QuadPart = hc::filetimeFromTimespec(st.st_ctim);
    info.FileAttributes = info.IsDirectory ? FILE_ATTRIBUTE_DIRECTORY : FILE_ATTRIBUTE_NORMAL;
    if ((st.st_mode & 0222) == 0) info.FileAttributes |= FILE_ATTRIBUTE_READONLY;
    return info;
}

PRJ_HOSTCOMPUTE_POSIX_INFO posixInfoFromStat(const struct stat& st)
{
    PRJ_HOSTCOMPUTE_POSIX_INFO info = {};
    info.InfoType = PRJ_EXT_INFO_TYPE_HOSTCOMPUTE_POSIX;
    info.Fields = PRJ_HOSTCOMPUTE_POSIX_MODE | PRJ_HOSTCOMPUTE_POSIX_UID | PRJ_HOSTCOMPUTE_POSIX_GID;
    info.Mode = st.st_mode & 07777;
    info.Uid = st.st_uid;
    info.Gid = st.st_gid;
    return info;
}

hc::Result<std::wstring> readSymlinkTarget(const std::string& sourcePath)
{
    std::string target(PATH_MAX, '\0');
    ssize_t n = readlink(sourcePath.c_str(), target.data(), target.size());
    if (n < 0) return hc::errnoError(errno, "readlink " + sourcePath);
    target.resize(static_cast<size_t>(n));
    return hc::fromUtf8(target);
}

hc::Result<std::vector<SourceEntry>> SourceTree::list(const std::string& sourcePath) const
{
    std::unique_ptr<DIR, DirCloser> dir(opendir(sourcePath.c_str()));
    if (!dir) return hc::errnoError(errno, "opendir " + sourcePath);
    std::vector<SourceEntry> entries;
    const int dirFd = dirfd(dir.get());
    while (dirent* entry = readdir(dir.get())) {
        std::string_view name = entry->d_name;
        if (name == "." || name == "..") continue;
        auto wide = hc::fromUtf8(name);
        if (!wide.ok() || wide->find(L'\\') != std::wstring::npos) continue;
        SourceEntry item;
        item.name = std::move(*wide);
        // Symbolic links are projected as links (PRJ_EXT_INFO_TYPE_SYMLINK), wherever they point.
        if (fstatat(dirFd, entry->d_name, &item.st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (!S_ISREG(item.st.st_mode) && !S_ISDIR(item.st.st_mode) && !S_ISLNK(item.st.st_mode)) continue;
        if (S_ISLNK(item.st.st_mode)) {
            auto target = readSymlinkTarget(sourcePath + "/" + std::string(name));
            if (!target.ok()) continue;  // removed meanwhile, or not Unicode
            item.linkTarget = std::move(*target);
        }
        entries.push_back(std::move(item));
    }
    std::sort(entries.begin(), entries.end(), [](const SourceEntry& a, const SourceEntry& b) {
        return PrjFileNameCompare(a.name.c_str(), b.name.c_str()) < 0;
    });
    return entries;
}

hc::Result<ResolvedPath> SourceTree::resolve(PCWSTR projfsPath) const
{
    ResolvedPath resolved;
    resolved.sourcePath = root_;
    const auto parts = splitProjfsPath(projfsPath);
    if (stat(root_.c_str(), &resolved.st) != 0) return hc::errnoError(errno, "stat " + root_);
    for (size_t i = 0; i < parts.size(); ++i) {
        const bool last = i + 1 == parts.size();
        const HRESULT notFound = HRESULT_FROM_WIN32(last ? ERROR_FILE_NOT_FOUND : ERROR_PATH_NOT_FOUND);
        if (!S_ISDIR(resolved.st.st_mode)) return hc::makeError(notFound, "not a directory: " + resolved.sourcePath);
        std::wstring spelling;
        auto utf8 = hc::toUtf8(parts[i]);
        struct stat st {};
        if (utf8.ok() && lstat((resolved.sourcePath + "/" + *utf8).c_str(), &st) == 0) {
            spelling = parts[i];  // the exact spelling exists: it wins over other case variants
        } else {
            auto entries = list(resolved.sourcePath);
            if (!entries.ok()) return entries.error();
            auto it = std::find_if(entries->begin(), entries->end(), [&](const SourceEntry& e) {
                return PrjFileNameCompare(e.name.c_str(), parts[i].c_str()) == 0;
            });
            if (it == entries->end()) return hc::makeError(notFound, "no match in " + resolved.sourcePath);
            spelling = it->name;
            st = it->st;
            utf8 = hc::toUtf8(spelling);
            if (!utf8.ok()) return utf8.error();
        }
        resolved.sourcePath += "/" + *utf8;
        resolved.st = st;
        if (!resolved.spelling.empty()) resolved.spelling.push_back(L'\\');
        resolved.spelling += spelling;
    }
    return resolved;
}

}  // namespace prjfs
