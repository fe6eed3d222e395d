// hcsctl's commands: each takes its parsed arguments, makes the HCS calls, prints the result document
// as JSON on stdout and any failure on stderr, and returns the process exit code (hcs_session.h).
#pragma once

#include <computecore.h>

#include <optional>
#include <string>
#include <vector>

namespace hcsctl {

struct Options {
    DWORD timeoutMs = 300'000;  // every wait is bounded; --timeout changes it
    bool compact = false;       // one-line JSON instead of indented
};

// A lifecycle call that takes (system, operation, options): start, shutdown, terminate, pause, resume, save, crash.
enum class LifecycleCall { Start, Shutdown, Terminate, Pause, Resume, Save, Crash };

int listSystems(const Options& options, const std::optional<std::string>& query);
int createSystem(const Options& options, const std::string& id, const std::string& configurationFile);
int lifecycle(const Options& options, LifecycleCall call, const std::string& id,
              const std::optional<std::string>& callOptions);
int properties(const Options& options, const std::string& id, const std::optional<std::string>& query);
int modify(const Options& options, const std::string& id, const std::string& configuration);
int waitForExit(const Options& options, const std::string& id, DWORD timeoutMs);
int streamEvents(const Options& options, const std::string& id, DWORD timeoutMs);
int serviceProperties(const Options& options, const std::optional<std::string>& query);

}  // namespace hcsctl
