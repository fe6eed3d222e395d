// Test harness for hcsd integration tests: runs the real hcsd binary as a separate process on a
// temporary socket and state directory, and talks the wire protocol to it directly (RawClient).
// Test guests come from scripts/make-test-guest.sh (<source>/.cache/test-guest); missing files fail
// the test loudly.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "hcs/ipc/descriptor_passing.h"

namespace hcsd_test {

using nlohmann::json;
using namespace std::chrono_literals;

std::string buildDir();
std::string hcsdBinary();
// Directory with vmlinuz, initrd-poweroff.gz, initrd-idle.gz; ADD_FAILURE when missing.
std::string guestDirectory();

// A kernel-direct VM document booting the test guest (`initrd` = "initrd-poweroff.gz" or "initrd-idle.gz").
json kernelGuestConfig(const std::string& initrd, bool terminateOnLastHandle = false, const std::string& comPipe = "");
// The seed's empty UEFI VM (smaller memory).
json uefiConfig(bool terminateOnLastHandle = false);

class HcsdProcess {
public:
    // Starts hcsd --foreground (plus `extraArgs`) on a fresh temp directory, waits until it listens.
    explicit HcsdProcess(std::vector<std::string> extraArgs = {});
    ~HcsdProcess();
    void start();
    void kill(int signal);  // and reap
    pid_t pid() const { return pid_; }
    const std::string& socketPath() const { return socket_; }
    const std::string& stateDir() const { return stateDir_; }
    const std::string& dir() const { return dir_; }
    // QEMU pids recorded in the state directory (system.json files).
    std::vector<pid_t> qemuPids() const;

private:
    std::string dir_, socket_, stateDir_;
    std::vector<std::string> extraArgs_;
    pid_t pid_ = -1;
};

struct Reply {
    json raw;
    bool ok() const { return raw.contains("result"); }
    int32_t hr() const { return ok() ? 0 : raw["error"]["hr"].get<int32_t>(); }
    std::string message() const { return ok() ? "" : raw["error"]["message"].get<std::string>(); }
    const json& result() const { return raw["result"]; }
};

class RawClient {
public:
    explicit RawClient(const std::string& socketPath, bool hello = true);
    ~RawClient();
    void closeSocket();
    bool connected() const { return fd_ >= 0; }

    void sendLine(const std::string& line);
    std::optional<json> readMessage(std::chrono::milliseconds timeout);  // any line (replies, events)
    Reply call(const std::string& method, const json& params, std::chrono::milliseconds timeout = 30s);
    // Sends without waiting; returns the id.
    uint64_t post(const std::string& method, const json& params);
    Reply waitReply(uint64_t id, std::chrono::milliseconds timeout = 30s);
    // Like waitReply, without failing the test when the time runs out.
    std::optional<Reply> tryWaitReply(uint64_t id, std::chrono::milliseconds timeout);
    std::optional<json> waitEvent(const std::string& name, uint64_t handle, std::chrono::milliseconds timeout);
    // The descriptors that came with the reply to `id` ("fds": N), now the test's.
    std::vector<hc::UniqueFd> takeDescriptors(uint64_t id);

    const json& greeting() const { return greeting_; }

private:
    int fd_ = -1;
    std::string buffer_;
    uint64_t nextId_ = 100;
    std::deque<json> backlog_;
    json greeting_;
    hc::hcs::DescriptorQueue received_;
    std::map<uint64_t, std::vector<hc::UniqueFd>> descriptors_;  // by reply id
};

// Reads the serial console socket until `marker` appears (or the timeout).
bool waitForConsole(const std::string& socketPath, const std::string& marker, std::chrono::milliseconds timeout);

bool processAlive(pid_t pid);
bool waitProcessGone(pid_t pid, std::chrono::milliseconds timeout);

}  // namespace hcsd_test
