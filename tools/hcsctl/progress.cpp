#include "progress.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "hcs_session.h"

namespace hcsctl {

namespace {

// Erase to the end of the line (ECMA-48 EL); every terminal emulator in use understands it.
constexpr const char* c_EraseLine = "\r\033[K";
// Enumeration must not hold the line back for long: the next redraw tries again.
constexpr DWORD c_StateQueryTimeoutMs = 2000;

size_t terminalColumns()
{
    winsize size{};
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 1) return size.ws_col;
    return 80;
}

void writeAll(const std::string& text)
{
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
        if (n <= 0) return;  // a progress line is never worth an error
        done += static_cast<size_t>(n);
    }
}

}  // namespace

bool ProgressLine::enabled()
{
    return isatty(STDERR_FILENO) == 1;
}

ProgressLine::ProgressLine(std::string what, Detail detail) : what_(std::move(what)), detail_(std::move(detail))
{
    if (enabled()) thread_ = std::thread([this] { run(); });
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
    if (drawn_) writeAll(c_EraseLine);
}

void ProgressLine::run()
{
    std::unique_lock lock(mutex_);
    while (!stopRequested_.wait_for(lock, c_ProgressInterval, [this] { return stopping_; })) {
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
    const size_t columns = terminalColumns() - 1;
    writeAll(c_EraseLine + (line.size() > columns ? line.substr(0, columns) : line));
    drawn_ = true;
}

std::string listedState(const std::string& id)
{
    auto wideQuery = hc::fromUtf8(nlohmann::json{{"Ids", {id}}}.dump());
    if (!wideQuery) return {};
    CallOutcome listed = runOperation(c_StateQueryTimeoutMs, [&](HCS_OPERATION operation) {
        return HcsEnumerateComputeSystems(wideQuery->c_str(), operation);
    });
    if (FAILED(listed.hr)) return {};
    auto systems = nlohmann::json::parse(listed.document, nullptr, false);
    if (!systems.is_array() || systems.empty() || !systems[0].is_object()) return {};
    auto state = systems[0].find("State");
    return state != systems[0].end() && state->is_string() ? state->get<std::string>() : std::string();
}

std::string fileSize(const std::string& path)
{
    struct stat st {};
    if (path.empty() || stat(path.c_str(), &st) != 0) return {};
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(st.st_size) / (1024.0 * 1024.0));
    return text;
}

std::string bytesWritten(const std::string& path)
{
    std::string size = fileSize(path);
    return size.empty() ? size : size + " written";
}

}  // namespace hcsctl
