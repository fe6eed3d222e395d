// What the progress lines of hcsctl's long commands (create, start, save, a restoring create, run-system)
// say besides the time: the system's state, the bytes of a save file. The line itself is the tools' shared
// ProgressLine (tools/common/progress_line.h): on stderr, only when it is a terminal.
#pragma once

#include <string>

#include "progress_line.h"

namespace hcsctl {

using hc::tools::ProgressLine;

// Details the commands show.
// The system's State as HcsEnumerateComputeSystems reports it (enumeration is not queued behind the
// running call on that system, unlike GetProperties); "" while it is not listed (being created).
std::string listedState(const std::string& id);
// "<n> MiB" / "<n> GiB" (one decimal), the size of a file; "" when it does not exist.
std::string fileSize(const std::string& path);
// "<n> MiB written" for a file being written (a save file); "" while it does not exist.
std::string bytesWritten(const std::string& path);

}  // namespace hcsctl
