// A path as ProjFS gives it to a provider (relative to the root, '\' or '/' between components) split
// into its components; empty components (doubled or trailing separators) are dropped. Shared by the
// providers that walk their own hierarchy (mirror's source tree, git's trees).
#pragma once

#include <projectedfslib.h>

#include <string>
#include <vector>

namespace prjfs {

std::vector<std::wstring> splitProjfsPath(PCWSTR path);

}  // namespace prjfs
