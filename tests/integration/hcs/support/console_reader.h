// Reads a guest's serial console from the Unix socket hcsd gives a ComPort with an absolute NamedPipe
// path. Lifecycle: connect() starts a reader thread that appends everything to a buffer until the
// socket closes (QEMU exited); the destructor shuts the socket down and joins the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace hcs_test {

class ConsoleReader {
public:
    ConsoleReader() = default;
    ConsoleReader(const ConsoleReader&) = delete;
    ConsoleReader& operator=(const ConsoleReader&) = delete;
    ~ConsoleReader();

    // Connects to `socketPath`, retrying until it exists or `timeout` passes. False on timeout.
    bool connect(const std::string& socketPath, std::chrono::milliseconds timeout);
    // True once `text` appeared on the console within `timeout`.
    bool waitFor(const std::string& text, std::chrono::milliseconds timeout);
    std::string text();

private:
    void readLoop();

    int fd_ = -1;
    std::thread reader_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::string text_;
    bool closed_ = false;
};

}  // namespace hcs_test
