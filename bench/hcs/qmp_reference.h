// The reference side of the HCS benchmarks: the very QEMU command line hcsd ran, launched directly
// with a QMP socket of our own, and a minimal QMP client to talk to it. This is what a program that
// drives QEMU itself (no hcsd) would pay.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace hcs_bench {

// A blocking QMP connection (one JSON object per line; events are skipped). Also speaks to QEMU's
// guest agent (qemu-ga), which uses the same framing without a greeting.
class QmpConnection {
public:
    QmpConnection() = default;
    QmpConnection(const QmpConnection&) = delete;
    QmpConnection& operator=(const QmpConnection&) = delete;
    ~QmpConnection();

    // Connects (retrying until `timeout`), reads the greeting and negotiates capabilities.
    void open(const std::string& socketPath, std::chrono::milliseconds timeout);
    // Connects to qemu-ga's host socket (retrying until `timeout`: the guest may still be booting) and
    // synchronises with guest-sync-delimited, which discards whatever an earlier client left in the port.
    void openGuestAgent(const std::string& socketPath, std::chrono::milliseconds timeout);
    // Sends {"execute": command, "arguments": arguments} and returns the "return" member; throws on an
    // "error" reply.
    nlohmann::json execute(const std::string& command, const nlohmann::json& arguments = nullptr);
    // The same with `descriptor` sent along (SCM_RIGHTS), for getfd.
    nlohmann::json executeWithDescriptor(const std::string& command, const nlohmann::json& arguments, int descriptor);

private:
    void connect(const std::string& socketPath, std::chrono::milliseconds timeout);
    void send(const nlohmann::json& request);
    nlohmann::json awaitReturn(const std::string& command);
    std::string readLine();
    int fd_ = -1;
    std::string buffer_;
};

// The command line of a running QEMU (from /proc).
std::vector<std::string> commandLineOf(pid_t pid);

// Rewrites hcsd's QEMU command line for a direct launch in `directory`: QMP on a socket path instead of
// the inherited descriptor, and every file below `hcsdRoot` (firmware variables, pid file, console
// sockets) copied or moved below `directory`. Returns the argv and sets `qmpSocket`.
std::vector<std::string> referenceCommandLine(const std::vector<std::string>& hcsdCommand, const std::string& hcsdRoot,
                                              const std::string& directory, std::string& qmpSocket);

// Resident set size of a process in bytes, from /proc/<pid>/smaps_rollup (0 when it is gone).
uint64_t residentBytes(pid_t pid);

// Percentile (0..100) of a sample, in microseconds.
double percentileMicros(std::vector<std::chrono::nanoseconds> samples, double percentile);

}  // namespace hcs_bench
