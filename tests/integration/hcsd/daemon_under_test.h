// The hcsd an adversarial (trust) test attacks: the real binary as a separate process on a private
// socket and state directory, started with the umask or descriptor limit the test asks for, and
// restartable on the same directories (a crash and a new hcsd). Unlike HcsdProcess (hcsd_harness.h) it
// always cleans up, even after a failure — QEMU processes included, stopped ones too — and hands its
// log to the failure message instead of leaving the directory behind.
// Lifecycle: the object owns the directory, the hcsd child and every QEMU whose command line names the
// directory; the destructor stops hcsd, SIGCONTs and SIGKILLs those QEMUs, waits for them, removes it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace hcsd_test {

struct DaemonOptions {
    std::optional<mode_t> umask;       // hcsd inherits this umask (unset: the test's own)
    std::optional<int> openFileLimit;  // RLIMIT_NOFILE for hcsd (through prlimit(1))
};

class DaemonUnderTest {
public:
    explicit DaemonUnderTest(DaemonOptions options = {});  // creates the directory and starts hcsd
    DaemonUnderTest(const DaemonUnderTest&) = delete;
    DaemonUnderTest& operator=(const DaemonUnderTest&) = delete;
    ~DaemonUnderTest();

    // Starts hcsd (again) on the same socket and state directory; true once it accepts connections
    // (bounded: 30 s). Failures are recorded with the log.
    bool start();
    void signal(int sig);
    // True once hcsd has exited within `timeout` (and is reaped).
    bool waitExit(std::chrono::milliseconds timeout);
    bool running();
    // "running", "exited with status N" or "killed by signal N (NAME)".
    std::string status();

    pid_t pid() const { return process_.pid(); }
    const std::string& root() const { return root_; }  // everything hcsd owns lives below this
    const std::string& socketPath() const { return socket_; }
    const std::string& stateDir() const { return state_; }
    const std::string& logPath() const { return log_; }  // this start's stderr (the log in --foreground)
    // The last `lines` lines of the log, for failure messages.
    std::string logTail(size_t lines = 40) const;
    // Live QEMU processes whose command line names this daemon's directory.
    std::vector<pid_t> qemuPids() const;

private:
    DaemonOptions options_;
    hcs_test::ChildProcess process_;
    int starts_ = 0;
    std::string root_, socket_, state_, log_;
};

}  // namespace hcsd_test
