// hcsctl exec / ps: run a process in a compute system with the local stdio connected (like
// `docker exec`), and list a system's processes. docs/hcsctl.md describes both.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "commands.h"

namespace hcsctl {

struct ExecRequest {
    std::string system;
    std::vector<std::string> command;  // argv, never empty
    bool interactive = false;          // -i: local stdin goes to the process until it ends
    bool tty = false;                  // -t: EmulateConsole, the local terminal in raw mode
    std::map<std::string, std::string> environment;
    std::string workingDirectory;
    std::string user;
};

// Parses `SYSTEM [-i] [-t] [-it] [-e K=V] [-w DIR] [-u USER] [--] CMD ARGS...`; false with `error` set
// on a usage error.
bool parseExecArguments(const std::vector<std::string>& args, ExecRequest& request, std::string& error);

// The ProcessParameters document for `request` (ConsoleSize from the local terminal when -t).
std::string processParametersFor(const ExecRequest& request, int consoleHeight, int consoleWidth);

// The exit code hcsctl exec ends with for a ProcessStatus document: ExitCode, or 128 + Signal when a
// signal ended the process; -1 when the document says the process's fate is unknown.
int exitCodeFromStatus(const std::string& processStatus);

int execProcess(const Options& options, const ExecRequest& request);
int listProcesses(const Options& options, const std::string& system);

}  // namespace hcsctl
