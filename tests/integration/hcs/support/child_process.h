// A child process for integration tests: spawned with posix_spawn (safe in a process whose client
// library already runs threads), optionally with stdout/stderr captured to files, waited for with a
// bound. Lifecycle: the object owns the child; the destructor SIGKILLs and reaps it if still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hcs_test {

class ChildProcess {
public:
    struct Options {
        std::vector<std::pair<std::string, std::string>> environment;  // added to (or replacing in) ours
        std::string stdoutFile;                                        // empty: inherit
        std::string stderrFile;                                        // empty: inherit
    };

    ChildProcess() = default;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ~ChildProcess();

    // Starts argv[0] (a path, or a name looked up in PATH) with argv. Throws std::runtime_error when it cannot be
    // started.
    static ChildProcess spawn(const std::vector<std::string>& argv, const Options& options);

    pid_t pid() const { return pid_; }
    bool running();
    void signal(int sig);
    // The wait status (as waitpid gives it), or nullopt when still running after `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout);

private:
    void killAndReap();

    pid_t pid_ = -1;
    std::optional<int> status_;
};

// The outcome of running a program to completion.
struct ProgramResult {
    int exitCode = -1;  // -1 when killed by a signal or timed out
    std::string out;
    std::string err;
};

// Runs argv to completion (SIGKILL after `timeout`), capturing stdout and stderr.
ProgramResult runProgram(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         const ChildProcess::Options& options = {});

std::string readFile(const std::string& path);

}  // namespace hcs_test
