// A progress line for a person watching a terminal, shared by the tools (hcsctl's long commands, prjfs's
// hydration of large files): one line, redrawn in place, saying what runs, for how long and what is known
// of it now. Only when the output is a terminal (isatty): in a pipe, a file or a script nothing at all is
// written, so output stays machine-readable.
#pragma once

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace hc::tools {

// While it lives, redraws "<what>: <elapsed> s[, <detail()>]" every `interval`, starting after the first
// interval (work that finishes sooner prints nothing); erases the line when it goes away, so the result and
// any error message print on a clean line. `detail` runs on the progress thread, never under its lock.
class ProgressLine {
public:
    using Detail = std::function<std::string()>;
    static constexpr std::chrono::milliseconds c_DefaultInterval{250};

    explicit ProgressLine(std::string what, Detail detail = {}, int fd = STDERR_FILENO,
                          std::chrono::milliseconds interval = c_DefaultInterval);
    ~ProgressLine();
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;

    // isatty(fd): whether a ProgressLine on fd shows anything.
    static bool enabled(int fd = STDERR_FILENO);

private:
    void run();
    void draw(const std::string& line);

    std::string what_;
    Detail detail_;
    int fd_;
    std::chrono::milliseconds interval_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::mutex mutex_;
    std::condition_variable stopRequested_;
    bool stopping_ = false;
    bool drawn_ = false;
    std::thread thread_;
};

// "12.3 MiB" / "1.5 GiB": a byte count for people (one decimal).
std::string humanBytes(unsigned long long bytes);

}  // namespace hc::tools
