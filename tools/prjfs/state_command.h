// `prjfs state PATH...`: prints each item's on-disk ProjFS state (PrjGetOnDiskFileState).
#pragma once

#include <projectedfslib.h>

#include <string>

namespace prjfs {

// "PLACEHOLDER|HYDRATED_PLACEHOLDER", "FULL", ... ; "NONE" for 0 (a plain, never-projected item).
std::string fileStateNames(PRJ_FILE_STATE state);

// Returns the process exit status: 0 when every path could be queried, 1 otherwise.
int runStateCommand(int argc, char** argv);

}  // namespace prjfs
