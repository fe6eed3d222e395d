// The source directory that `prjfs mirror` projects: resolving ProjFS paths (root-relative, '\\'
// separated, matched case-insensitively like the file system) to source paths, and listing a source
// directory in PrjFileNameCompare order.
#pragma once

#include "base/result.h"

#include <projectedfslib.h>
#include <sys/stat.h>

#include <string>
#include <vector>

namespace prjfs {

struct SourceEntry {
    std::wstring name;        // the source's spelling
    struct stat st {};        // lstat: a symbolic link is itself
    std::wstring linkTarget;  // symbolic links: where it points, as written
};

struct ResolvedPath {
    std::string sourcePath;  // absolute path in the source tree
    std::wstring spelling;   // the source's spelling, '\\'-separated, for PrjWritePlaceholderInfo
    struct stat st {};
};

class SourceTree {
public:
    explicit SourceTree(std::string root) : root_(std::move(root)) {}

    const std::string& root() const { return root_; }

    // Each component is matched exactly first, then with PrjFileNameCompare; FILE_NOT_FOUND /
    // PATH_NOT_FOUND when nothing matches.
    hc::Result<ResolvedPath> resolve(PCWSTR projfsPath) const;

    // Entries of a source directory, sorted with PrjFileNameCompare. Names that cannot be projected
    // (invalid UTF-8, containing '\\') are left out.
    hc::Result<std::vector<SourceEntry>> list(const std::string& sourcePath) const;

private:
    std::string root_;
};

// PRJ_FILE_BASIC_INFO from a stat result (FILETIME times, size, directory flag, read-only).
PRJ_FILE_BASIC_INFO basicInfoFromStat(const struct stat& st);
// hostcompute's POSIX attributes of a source item: its mode and owner, exactly (the runtime applies the owner
// only where it may give files away).
PRJ_HOSTCOMPUTE_POSIX_INFO posixInfoFromStat(const struct stat& st);
// The target of a source symbolic link, as it is written (relative or absolute).
hc::Result<std::wstring> readSymlinkTarget(const std::string& sourcePath);

}  // namespace prjfs
