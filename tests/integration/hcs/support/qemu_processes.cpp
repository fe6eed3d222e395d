#include "support/qemu_processes.h"

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "support/child_process.h"

namespace hcs_test {

std::vector<pid_t> qemuProcessesMentioning(const std::string& text)
{
    std::vector<pid_t> found;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::string commandLine = readFile(entry.path().string() + "/cmdline");
        if (commandLine.find("qemu-system-") == std::string::npos || commandLine.find(text) == std::string::npos) {
            continue;
        }
        pid_t pid = static_cast<pid_t>(std::atoi(name.c_str()));
        if (processAlive(pid)) {
            found.push_back(pid);
        }
    }
    return found;
}

bool processAlive(pid_t pid)
{
    std::string status = readFile("/proc/" + std::to_string(pid) + "/stat");
    if (status.empty()) {
        return false;
    }
    // "pid (comm) S ..." — the state letter follows the last ')'.
    auto close = status.rfind(')');
    return close != std::string::npos && close + 2 < status.size() && status[close + 2] != 'Z';
}

bool waitForNoQemuMentioning(const std::string& text, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!qemuProcessesMentioning(text).empty()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

}  // namespace hcs_test
