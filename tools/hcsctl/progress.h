// Progress of hcsctl's long commands (create, start, save, a restoring create, run-system), for a person
// watching a terminal: one line on stderr, redrawn in place, saying what runs, for how long, and what is
// known of it now (the system's state, the bytes of a save file). Only when stderr is a terminal
// (isatty): in a pipe, a file or a script nothing at all is written, so output stays machine-readable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace hcsctl {

// While it lives, redraws "<what>: <elapsed> s[, <detail()>]" every c_ProgressInterval, starting after the
// first interval (a command that finishes sooner prints nothing); erases the line when it goes away, so
// the result and any error message print on a clean line. `detail` runs on the progress thread.
class ProgressLine {
public:
    using Detail = std::function<std::string()>;
    static constexpr std::chrono::milliseconds c_ProgressInterval{250};

    explicit ProgressLine(std::string what, Detail detail = {});
    ~ProgressLine();
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;

    // isatty(STDERR_FILENO): whether a ProgressLine shows anything.
    static bool enabled();

private:
    void run();
    void draw(const std::string& line);

    std::string what_;
    Detail detail_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::mutex mutex_;
    std::condition_variable stopRequested_;
    bool stopping_ = false;
    bool drawn_ = false;
    std::thread thread_;
};

// Details the commands show.
// The system's State as HcsEnumerateComputeSystems reports it (enumeration is not queued behind the
// running call on that system, unlike GetProperties); "" while it is not listed (being created).
std::string listedState(const std::string& id);
// "<n> MiB" (one decimal), the size of a file; "" when it does not exist.
std::string fileSize(const std::string& path);
// "<n> MiB written" for a file being written (a save file); "" while it does not exist.
std::string bytesWritten(const std::string& path);

}  // namespace hcsctl
