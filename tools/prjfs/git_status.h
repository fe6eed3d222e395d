// `prjfs git status ROOT`: what differs between ROOT and its projected commit, found without hydrating
// anything: only the paths the provider's notifications recorded (GitState::touched) are looked at,
// with their on-disk state (PrjGetOnDiskFileState) and, for full files, a hash of the local content.
#pragma once

#include "base/result.h"

#include <string>
#include <vector>

namespace prjfs {

struct StatusLine {
    char code;         // 'M' modified, 'D' deleted, '?' new (untracked)
    std::string path;  // '/'-separated, root-relative; a new directory ends with '/'
};

// Works whether the provider runs or not. Lines sorted by path.
hc::Result<std::vector<StatusLine>> gitStatus(const std::string& root);

// " M path", " D path", "?? path" (git's short format).
std::string formatStatusLine(const StatusLine& line);

}  // namespace prjfs
