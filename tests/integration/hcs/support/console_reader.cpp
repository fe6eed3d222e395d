#include "support/console_reader.h"

#include "hcs/ipc/unix_socket.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace hcs_test {

ConsoleReader::~ConsoleReader()
{
    if (fd_ >= 0) {
        ::shutdown(fd_, SHUT_RDWR);
    }
    if (reader_.joinable()) {
        reader_.join();
    }
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

bool ConsoleReader::connect(const std::string& socketPath, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto connected = hc::hcs::connectUnixSocket(socketPath);
        if (connected) {
            fd_ = *connected;
            reader_ = std::thread([this] { readLoop(); });
            return true;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void ConsoleReader::readLoop()
{
    char buffer[4096];
    for (;;) {
        ssize_t got = ::read(fd_, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        std::lock_guard lock(mutex_);
        if (got <= 0) {
            closed_ = true;
            changed_.notify_all();
            return;
        }
        text_.append(buffer, static_cast<size_t>(got));
        changed_.notify_all();
    }
}

bool ConsoleReader::waitFor(const std::string& text, std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return text_.find(text) != std::string::npos || closed_; }) &&
           text_.find(text) != std::string::npos;
}

std::string ConsoleReader::text()
{
    std::lock_guard lock(mutex_);
    return text_;
}

}  // namespace hcs_test
