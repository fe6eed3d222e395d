#include "git_status.h"

#include "git_revision.h"
#include "git_state.h"

#include "base/strings.h"

#include <projectedfslib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

namespace prjfs {
namespace {

// Whether `path` is on disk as something the user sees (a tombstone is the absence of an item).
bool presentOnDisk(const std::string& fullPath, struct stat* st)
{
    if (lstat(fullPath.c_str(), st) != 0) return false;
    auto wide = hc::fromUtf8(fullPath);
    PRJ_FILE_STATE state = {};
    if (wide.ok() && SUCCEEDED(PrjGetOnDiskFileState(wide->c_str(), &state)) && (state & PRJ_FILE_STATE_TOMBSTONE))
        return false;
    return true;
}

// A file the user wrote (FULL, or not a ProjFS item at all) whose content is not the blob's.
bool contentDiffers(const std::string& fullPath, const GitEntry& entry)
{
    auto wide = hc::fromUtf8(fullPath);
    PRJ_FILE_STATE state = {};
    if (wide.ok() && SUCCEEDED(PrjGetOnDiskFileState(wide->c_str(), &state)) && !(state & PRJ_FILE_STATE_FULL))
        return false;  // still a placeholder: the projected content (hashing would hydrate it)
    git_oid local = {};
    if (git_odb_hashfile(&local, fullPath.c_str(), GIT_OBJECT_BLOB) != 0) return true;
    return git_oid_cmp(&local, &entry.id) != 0;
}

bool isUnder(const std::string& path, const std::string& directory)
{
    return path.size() > directory.size() && path.compare(0, directory.size(), directory) == 0 &&
           path[directory.size()] == '/';
}

}  // namespace

hc::Result<std::vector<StatusLine>> gitStatus(const std::string& root)
{
    auto state = GitState::load(root);
    if (!state.ok()) return state.error();
    auto revision = GitRevision::open((*state)->gitDir(), (*state)->commit());
    if (!revision.ok()) return revision.error();

    std::vector<StatusLine> lines;
    std::vector<std::string> newDirectories;  // reported as "dir/": their contents are not listed
    for (const std::string& path : (*state)->touched()) {
        if (std::any_of(newDirectories.begin(), newDirectories.end(),
                        [&](const std::string& dir) { return isUnder(path, dir); }))
            continue;
        const std::string fullPath = root + "/" + path;
        struct stat st {};
        const bool present = presentOnDisk(fullPath, &st);
        auto entry = (*revision)->lookup(path);
        if (!entry.ok()) {
            if (!present) continue;  // created and removed again, or never there
            if (S_ISDIR(st.st_mode)) {
                newDirectories.push_back(path);
                lines.push_back({'?', path + "/"});
            } else {
                lines.push_back({'?', path});
            }
            continue;
        }
        if (!present) {
            if (entry->mode == GIT_FILEMODE_TREE) {
                auto walked =
                    (*revision)->forEachBlob(entry->id, path, [&](const std::string& blobPath, const GitEntry&) {
                        lines.push_back({'D', blobPath});
                    });
                if (!walked.ok()) return walked.error();
            } else if (!entry->isDirectory()) {
                lines.push_back({'D', path});
            }
            continue;
        }
        if (!entry->isDirectory() && (S_ISDIR(st.st_mode) || contentDiffers(fullPath, *entry)))
            lines.push_back({'M', path});
    }
    std::sort(lines.begin(), lines.end(), [](const StatusLine& a, const StatusLine& b) { return a.path < b.path; });
    lines.erase(std::unique(lines.begin(), lines.end(),
                            [](const StatusLine& a, const StatusLine& b) { return a.path == b.path; }),
                lines.end());
    return lines;
}

std::string formatStatusLine(const StatusLine& line)
{
    switch (line.code) {
        case 'M':
            return " M " + line.path;
        case 'D':
            return " D " + line.path;
        default:
            return "?? " + line.path;
    }
}

}  // namespace prjfs
