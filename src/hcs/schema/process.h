// Typed HCS process documents: ProcessParameters (HcsCreateProcess), ProcessModifyRequest
// (HcsModifyProcess), SignalProcessOptions (HcsSignalProcess) and the ProcessStatus hcsd answers with
// (GetProcessProperties, WaitForProcessExit, the ProcessExited event). Validation is field-precise:
// a wrong value names its field (HCS_E_INVALID_JSON or E_INVALIDARG), a known but unimplemented
// feature names the feature (E_NOTIMPL).
//
// The command to run, for a Linux guest (what the Windows GCS does for Linux guests):
//   - CommandArgs, when present and not empty, is argv as given;
//   - otherwise CommandLine is split into words like a POSIX shell does, without expansions:
//     blanks separate words, '...' is literal, "..." keeps blanks and honours \" \\ \$ \` inside,
//     a backslash outside quotes escapes the next character; an unterminated quote is an error;
//   - ApplicationName, when given, replaces argv[0] (the program the guest runs), or is the whole
//     command when neither CommandArgs nor CommandLine gives one.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace hc::hcs::schema {

// Bounds on one process's parameters (beyond the document's own size limit).
constexpr size_t kMaxProcessArguments = 4096;
constexpr size_t kMaxEnvironmentEntries = 4096;
constexpr size_t kMaxUserBytes = 256;

// PATH given to a process whose Environment does not set one (the usual Linux default).
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct ProcessParameters {
    std::vector<std::string> argv;                                 // resolved (see above); never empty
    std::string workingDirectory;                                  // "" = the agent's default
    std::vector<std::pair<std::string, std::string>> environment;  // sorted by name; PATH always set
    std::string user;                                              // "" = the agent's default (root)
    bool emulateConsole = false;
    uint16_t consoleHeight = 0, consoleWidth = 0;  // ConsoleSize [h, w]; 0 = the agent's default
    bool createStdIn = false, createStdOut = false, createStdErr = false;
};

Result<ProcessParameters> parseProcessParameters(std::string_view document);

// Splits a CommandLine into argv (rules above). HCS_E_INVALID_JSON naming `field` on an unterminated
// quote or a trailing backslash.
Result<std::vector<std::string>> splitCommandLine(std::string_view commandLine, std::string_view field = "CommandLine");

// ProcessModifyRequest {Operation: "ConsoleSize"|"CloseHandle", ConsoleSize {Height, Width},
// CloseHandle {Handle: StdIn|StdOut|StdErr|All}}.
struct ProcessModifyRequest {
    enum class Operation { ConsoleSize, CloseHandle };
    enum class Handle { StdIn, StdOut, StdErr, All };
    Operation operation = Operation::ConsoleSize;
    uint16_t height = 0, width = 0;
    Handle handle = Handle::StdIn;
};
Result<ProcessModifyRequest> parseProcessModifyRequest(std::string_view document);

// SignalProcessOptions {Signal: n} (a Linux signal number, 1..64). An empty or null document means
// SIGTERM (15), what `kill` sends by default.
constexpr int kDefaultSignal = 15;
Result<int> parseSignalOptions(std::string_view document);

// TerminateProcess's options: null or {} (nothing is configurable; SIGKILL is sent).
Status parseTerminateOptions(std::string_view document);

// The process property query: null, {} or {"PropertyTypes": []} (ProcessStatus is all there is).
Status parseProcessQuery(std::string_view document);

// ProcessStatus {ProcessId, Exited, ExitCode, LastWaitResult}, plus this implementation's additions:
// "Signal" when a signal ended the process and "ErrorMessage" when its fate is unknown (the agent or
// the VM went away; LastWaitResult then holds the error's HRESULT and ExitCode is -1 as 0xFFFFFFFF).
struct ProcessStatus {
    uint32_t processId = 0;
    bool exited = false;
    int exitCode = 0;
    std::optional<int> signal;
    HRESULT lastWaitResult = S_OK;
    std::string errorMessage;
};
nlohmann::json toJson(const ProcessStatus& status);

}  // namespace hc::hcs::schema
