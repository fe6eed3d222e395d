// hcsctl — drives compute systems through the computecore C API from the command line. Talks to the
// hcsd at $HCS_SOCKET (or the per-user default). docs/hcsctl.md describes every command.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "commands.h"
#include "exec.h"
#include "hcs/protocol/calls.h"
#include "hostcompute_version.h"
#include "run_image.h"

namespace {

using hc::hcs::protocol::CallSpec;
using hc::hcs::protocol::Method;

// hcsctl's own command (not a call to hcsd): events come through the handle's callback.
constexpr const char* c_EventsVerb = "events";
constexpr const char* c_EventsArguments = "ID [TIMEOUT_MS]";
constexpr const char* c_EventsHelp = "print the system's events as JSON lines until it exits";
// Processes (several C calls each): exec parses its own arguments.
constexpr const char* c_ExecVerb = "exec";
constexpr const char* c_ExecArguments = "ID [-i] [-t] [-e K=V] [-w DIR] [-u USER] -- CMD [ARGS...]";
constexpr const char* c_ExecHelp = "run CMD in the system with this terminal's stdio; exits with its exit code";
// A container from a local image tarball, attached (run_image.h).
constexpr const char* c_RunVerb = "run";
constexpr const char* c_RunArguments =
    "[--isolation process] [--keep] [--name ID] [-m MB] [-v HOST:CTR[:ro]] [--net=host] [--hostname NAME] "
    "[--cache DIR] [-i] [-t] [-e K=V] [-w DIR] [-u USER] IMAGE.tar [-- CMD [ARGS...]]";
constexpr const char* c_RunHelp =
    "run CMD (else the image's command) in a new container from an OCI layout or docker-archive tarball, "
    "attached; removes the container afterwards unless --keep; exits with its exit code";
// create + start + wait on one handle (several C calls).
constexpr const char* c_RunSystemVerb = "run-system";
constexpr const char* c_RunSystemArguments = "ID FILE [TIMEOUT_MS]";
constexpr const char* c_RunSystemHelp = "create, start and wait for the system; print its exit status";
constexpr const char* c_PsVerb = "ps";
constexpr const char* c_PsArguments = "ID";
constexpr const char* c_PsHelp = "list the system's processes (ProcessList)";

void printUsage(std::ostream& out)
{
    out << "usage: hcsctl [--timeout MS] [--compact] COMMAND [ARGS]\n\nCommands:\n";
    auto line = [&](std::string_view verb, std::string_view arguments, std::string_view help) {
        std::string synopsis = std::string(verb) + " " + std::string(arguments);
        out << "  " << synopsis << std::string(synopsis.size() < 26 ? 26 - synopsis.size() : 1, ' ') << help << "\n";
    };
    for (const CallSpec& call : hc::hcs::protocol::allCalls()) {
        if (!call.hcsctlVerb.empty()) line(call.hcsctlVerb, call.hcsctlArguments, call.hcsctlHelp);
    }
    line(c_EventsVerb, c_EventsArguments, c_EventsHelp);
    line(c_RunSystemVerb, c_RunSystemArguments, c_RunSystemHelp);
    line(c_PsVerb, c_PsArguments, c_PsHelp);
    line(c_ExecVerb, c_ExecArguments, c_ExecHelp);
    line(c_RunVerb, c_RunArguments, c_RunHelp);
    out << R"(
Options:
  --timeout MS   bound for every operation (default 300000; "infinite" = no bound)
  --compact      print JSON on one line
  -h, --help     this text
  --version      print the version and exit

Results are printed as JSON on stdout. On failure the HRESULT's name and the service's error
message go to stderr and the exit code is 64 + the low byte of an HCS_E_* HRESULT, 1 for any other
failure, 2 for a usage error. run-system exits 0 when the guest powered off, 3 when it was terminated, 4 when
it stopped unexpectedly. exec exits with the process's exit code (128 + N when signal N ended it).

On a terminal, commands that take a while (create, start, save, shutdown, run-system) show their progress on
stderr: elapsed time, the system's state, the MiB a save has written. Not on a terminal: nothing is added.
)";
}

constexpr int c_UsageExitCode = 2;

int usageError(const std::string& message)
{
    std::cerr << "hcsctl: " << message << "\n(hcsctl --help shows the usage)" << std::endl;
    return c_UsageExitCode;
}

bool parseMilliseconds(const std::string& text, DWORD& value)
{
    if (text == "infinite" || text == "INFINITE") {
        value = INFINITE;
        return true;
    }
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
        return false;
    }
    errno = 0;
    unsigned long long parsed = std::strtoull(text.c_str(), nullptr, 10);
    if (errno != 0 || parsed > 0xFFFFFFFFull) {
        return false;
    }
    value = static_cast<DWORD>(parsed);
    return true;
}

// How many arguments a synopsis like "ID [OPTIONS]" takes: bracketed words are optional.
std::pair<size_t, size_t> argumentCounts(std::string_view synopsis)
{
    size_t required = 0;
    size_t optional = 0;
    size_t pos = 0;
    while (pos < synopsis.size()) {
        size_t end = synopsis.find(' ', pos);
        if (end == std::string_view::npos) end = synopsis.size();
        if (end > pos) (synopsis[pos] == '[' ? optional : required) += 1;
        pos = end + 1;
    }
    return {required, required + optional};
}

std::optional<std::string> argAt(const std::vector<std::string>& args, size_t index)
{
    return index < args.size() ? std::optional<std::string>(args[index]) : std::nullopt;
}

}  // namespace

int main(int argc, char** argv)
{
    using namespace hcsctl;
    Options options;
    int index = 1;
    for (; index < argc; ++index) {
        std::string arg = argv[index];
        if (arg == "-h" || arg == "--help") {
            printUsage(std::cout);
            return 0;
        }
        if (arg == "--version") {
            std::cout << "hcsctl (hostcompute) " << HOSTCOMPUTE_VERSION << std::endl;
            return 0;
        }
        if (arg == "--compact") {
            options.compact = true;
        } else if (arg == "--timeout") {
            if (index + 1 >= argc || !parseMilliseconds(argv[index + 1], options.timeoutMs)) {
                return usageError("--timeout needs a number of milliseconds or \"infinite\"");
            }
            ++index;
        } else if (arg.rfind("--", 0) == 0) {
            return usageError("unknown option " + arg);
        } else {
            break;
        }
    }
    if (index >= argc) {
        return usageError("no command");
    }
    std::string name = argv[index++];
    std::vector<std::string> args(argv + index, argv + argc);
    if (name == c_ExecVerb) {
        ExecRequest request;
        std::string error;
        if (!parseExecArguments(args, request, error)) return usageError(error);
        return execProcess(options, request);
    }
    if (name == c_RunVerb) {
        RunRequest request;
        std::string error;
        if (!parseRunArguments(args, request, error)) return usageError("run: " + error);
        return runImage(options, std::move(request));
    }
    if (name == c_RunSystemVerb) {
        DWORD waitMs = INFINITE;
        if (args.size() < 2 || args.size() > 3) return usageError("run-system takes 2-3 argument(s)");
        if (args.size() == 3 && !parseMilliseconds(args[2], waitMs)) {
            return usageError("run-system: TIMEOUT_MS must be a number of milliseconds or \"infinite\"");
        }
        return runSystem(options, args[0], args[1], waitMs);
    }
    if (name == c_PsVerb) {
        if (args.size() != 1) return usageError("ps takes 1 argument(s)");
        return listProcesses(options, args[0]);
    }
    const CallSpec* call = hc::hcs::protocol::findCallByVerb(name);
    if (call == nullptr && name != c_EventsVerb) {
        return usageError("unknown command " + name);
    }
    auto [minArgs, maxArgs] = argumentCounts(call ? call->hcsctlArguments : c_EventsArguments);
    if (args.size() < minArgs || args.size() > maxArgs) {
        return usageError(name + " takes " + std::to_string(minArgs) +
                          (minArgs == maxArgs ? "" : "-" + std::to_string(maxArgs)) + " argument(s)");
    }
    if (call == nullptr || call->method == Method::WaitForComputeSystemExit) {
        DWORD timeoutMs = INFINITE;
        if (args.size() > 1 && !parseMilliseconds(args[1], timeoutMs)) {
            return usageError(name + ": TIMEOUT_MS must be a number of milliseconds or \"infinite\"");
        }
        return call ? waitForExit(options, args[0], timeoutMs) : streamEvents(options, args[0], timeoutMs);
    }
    switch (call->method) {
        case Method::EnumerateComputeSystems:
            return listSystems(options, argAt(args, 0));
        case Method::CreateComputeSystem:
            return createSystem(options, args[0], args[1]);
        case Method::GetServiceProperties:
            return serviceProperties(options, argAt(args, 0));
        case Method::GrantVmAccess:
        case Method::RevokeVmAccess:
            return vmAccess(options, call->method, args[0], args[1]);
        case Method::ModifyComputeSystem:
            return modifySystem(options, args[0], args[1]);
        default:
            return systemCall(options, call->method, args[0], argAt(args, 1));
    }
}
