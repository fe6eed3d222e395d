// A provider program (`prjfs mirror`, `prjfs git`, the examples) running in its own process, for the
// integration tests that drive the programs as a user would.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace projfs_test {

// The build tree (HOSTCOMPUTE_BUILD_DIR, set by ctest); throws when unset.
std::string buildDir();

// Lifecycle: spawn with stdout on a pipe, wait for its ready line, stop() sends SIGTERM and reaps it;
// the destructor kills it if still running and detaches a mount left at `mountPoint`.
class ProviderProcess {
public:
    ProviderProcess(std::vector<std::string> argv, std::string mountPoint);
    ~ProviderProcess();
    ProviderProcess(const ProviderProcess&) = delete;
    ProviderProcess& operator=(const ProviderProcess&) = delete;

    // Reads stdout until a line containing `text` appears (true) or the timeout passes / EOF (false).
    bool waitForLine(const std::string& text, std::chrono::milliseconds timeout);
    // Everything read from stdout so far.
    const std::string& output() const { return seen_; }
    // SIGKILL (a crash: no PrjStopVirtualizing, the mount stays behind, dead) and reap it. The dead
    // mount is left for the test (the fixture's TearDown detaches what is left).
    void crash();
    // SIGTERM, then the exit status (nullopt if it did not exit within the timeout).
    std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

private:
    pid_t pid_ = -1;
    int output_ = -1;
    std::string mountPoint_;
    std::string seen_;
    bool crashed_ = false;
};

}  // namespace projfs_test
