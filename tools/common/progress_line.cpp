#include "progress_line.h"

#include <sys/ioctl.h>

#include <cstdio>

namespace hc::tools {

namespace {

// Erase to the end of the line (ECMA-48 EL); every terminal emulator in use understands it.
constexpr const char* c_EraseLine = "\r\033[K";

size_t terminalColumns(int fd)
{
    winsize size{};
    if (ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 1) return size.ws_col;
    return 80;
}

void writeAll(int fd, const std::string& text)
{
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n <= 0) return;  // a progress line is never worth an error
        done += static_cast<size_t>(n);
    }
}

}  // namespace

bool ProgressLine::enabled(int fd)
{
    return isatty(fd) == 1;
}

ProgressLine::ProgressLine(std::string what, Detail detail, int fd, std::chrono::milliseconds interval)
    : what_(std::move(what)), detail_(std::move(detail)), fd_(fd), interval_(interval)
{
    if (enabled(fd_)) thread_ = std::thread([this] { run(); });
}

ProgressLine::~ProgressLine()
{
    if (!thread_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stopRequested_.notify_one();
    thread_.join();
    if (drawn_) writeAll(fd_, c_EraseLine);
}

void ProgressLine::run()
{
    std::unique_lock lock(mutex_);
    while (!stopRequested_.wait_for(lock, interval_, [this] { return stopping_; })) {
        lock.unlock();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        char elapsed[32];
        std::snprintf(elapsed, sizeof elapsed, "%.1f s", seconds);
        std::string line = what_ + ": " + elapsed;
        if (detail_) {
            std::string detail = detail_();
            if (!detail.empty()) line += ", " + detail;
        }
        lock.lock();
        if (!stopping_) draw(line);
    }
}

void ProgressLine::draw(const std::string& line)
{
    // One screen line at most: a wrapped line could not be redrawn in place.
    const size_t columns = terminalColumns(fd_) - 1;
    writeAll(fd_, c_EraseLine + (line.size() > columns ? line.substr(0, columns) : line));
    drawn_ = true;
}

std::string humanBytes(unsigned long long bytes)
{
    constexpr double kMiB = 1024.0 * 1024.0;
    char text[32];
    if (bytes >= (1ULL << 30))
        std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (kMiB * 1024.0));
    else
        std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / kMiB);
    return text;
}

}  // namespace hc::tools
