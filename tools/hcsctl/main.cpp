// hcsctl — drives compute systems through the computecore C API from the command line. Talks to the
// hcsd at $HCS_SOCKET (or the per-user default). docs/hcsctl.md describes every command.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"

namespace {

constexpr const char* c_Usage = R"(usage: hcsctl [--timeout MS] [--compact] COMMAND [ARGS]

Compute systems:
  list [QUERY]              enumerate systems; QUERY like {"Ids":["vm1"]}
  create ID FILE            create a system from a ComputeSystem document (FILE "-" = stdin)
  start ID [OPTIONS]        start a created system
  shutdown ID [OPTIONS]     ask the guest to shut down (ACPI power button)
  terminate ID [OPTIONS]    stop the system at once
  pause ID [OPTIONS]        pause a running system
  resume ID [OPTIONS]       resume a paused system
  save ID OPTIONS           save a paused system (SaveOptions)
  crash ID [OPTIONS]        crash the guest (CrashOptions)
  modify ID SETTINGS        apply a ModifySettingRequest document
  props ID [QUERY]          properties; QUERY like {"PropertyTypes":["Statistics"]}
  wait ID [TIMEOUT_MS]      wait until the system exits; prints SystemExitStatus
  events ID [TIMEOUT_MS]    print the system's events as JSON lines until it exits
Service:
  service [QUERY]           service properties

Options:
  --timeout MS   bound for every operation (default 300000; "infinite" = no bound)
  --compact      print JSON on one line
  -h, --help     this text

Results are printed as JSON on stdout. On failure the HRESULT's name and the service's error
message go to stderr and the exit code is 64 + the low byte of an HCS_E_* HRESULT, 1 for any other
failure, 2 for a usage error.
)";

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

struct Command {
    const char* name;
    size_t minArgs;
    size_t maxArgs;
};

constexpr Command c_Commands[] = {
    {"list", 0, 1},  {"create", 2, 2}, {"start", 1, 2},  {"shutdown", 1, 2}, {"terminate", 1, 2},
    {"pause", 1, 2}, {"resume", 1, 2}, {"save", 2, 2},   {"crash", 1, 2},    {"modify", 2, 2},
    {"props", 1, 2}, {"wait", 1, 2},   {"events", 1, 2}, {"service", 0, 1},
};

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
            std::cout << c_Usage;
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
    const Command* command = nullptr;
    for (const Command& candidate : c_Commands) {
        if (name == candidate.name) {
            command = &candidate;
        }
    }
    if (command == nullptr) {
        return usageError("unknown command " + name);
    }
    if (args.size() < command->minArgs || args.size() > command->maxArgs) {
        return usageError(name + " takes " + std::to_string(command->minArgs) +
                          (command->minArgs == command->maxArgs ? "" : "-" + std::to_string(command->maxArgs)) +
                          " argument(s)");
    }

    if (name == "list") {
        return listSystems(options, argAt(args, 0));
    }
    if (name == "create") {
        return createSystem(options, args[0], args[1]);
    }
    if (name == "props") {
        return properties(options, args[0], argAt(args, 1));
    }
    if (name == "modify") {
        return modify(options, args[0], args[1]);
    }
    if (name == "service") {
        return serviceProperties(options, argAt(args, 0));
    }
    if (name == "wait" || name == "events") {
        DWORD timeoutMs = INFINITE;
        if (args.size() > 1 && !parseMilliseconds(args[1], timeoutMs)) {
            return usageError(name + ": TIMEOUT_MS must be a number of milliseconds or \"infinite\"");
        }
        return name == "wait" ? waitForExit(options, args[0], timeoutMs) : streamEvents(options, args[0], timeoutMs);
    }
    static const std::pair<const char*, LifecycleCall> lifecycleCalls[] = {
        {"start", LifecycleCall::Start}, {"shutdown", LifecycleCall::Shutdown}, {"terminate", LifecycleCall::Terminate},
        {"pause", LifecycleCall::Pause}, {"resume", LifecycleCall::Resume},     {"save", LifecycleCall::Save},
        {"crash", LifecycleCall::Crash},
    };
    for (const auto& [callName, call] : lifecycleCalls) {
        if (name == callName) {
            return lifecycle(options, call, args[0], argAt(args, 1));
        }
    }
    return usageError("unknown command " + name);
}
