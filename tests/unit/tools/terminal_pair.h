// A pseudo-terminal for the progress tests: the tools draw on the slave side (a terminal, so isatty says
// yes) and the test reads what a person would have seen from the master side.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace hc_test {

class TerminalPair {
public:
    TerminalPair()
    {
        if (openpty(&master_, &slave_, nullptr, nullptr, nullptr) != 0) master_ = slave_ = -1;
    }
    ~TerminalPair()
    {
        if (master_ >= 0) close(master_);
        if (slave_ >= 0) close(slave_);
    }
    TerminalPair(const TerminalPair&) = delete;
    TerminalPair& operator=(const TerminalPair&) = delete;

    bool ok() const { return master_ >= 0; }
    int terminal() const { return slave_; }

    // Reads what was drawn until `text` shows up or `timeout` passes; returns everything read so far.
    std::string readUntil(const std::string& text, std::chrono::milliseconds timeout)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (seen_.find(text) == std::string::npos) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            drain(static_cast<int>(left.count()));
        }
        return seen_;
    }
    // Everything drawn so far, without waiting.
    std::string readNow()
    {
        drain(0);
        return seen_;
    }

private:
    void drain(int timeoutMs)
    {
        pollfd fd{master_, POLLIN, 0};
        while (poll(&fd, 1, timeoutMs) > 0 && (fd.revents & POLLIN)) {
            char buffer[4096];
            ssize_t n = read(master_, buffer, sizeof buffer);
            if (n <= 0) return;
            seen_.append(buffer, static_cast<size_t>(n));
            timeoutMs = 0;
        }
    }

    int master_ = -1;
    int slave_ = -1;
    std::string seen_;
};

}  // namespace hc_test
