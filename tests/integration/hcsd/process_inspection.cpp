#include "process_inspection.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "support/child_process.h"
#include "support/qemu_processes.h"

namespace hcsd_test {

namespace fs = std::filesystem;

namespace {

std::vector<pid_t> allProcesses()
{
    std::vector<pid_t> pids;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/proc", error)) {
        const std::string name = entry.path().filename().string();
        if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
            pids.push_back(static_cast<pid_t>(std::atoi(name.c_str())));
        }
    }
    return pids;
}

std::string procFile(pid_t pid, const char* name)
{
    return "/proc/" + std::to_string(pid) + "/" + name;
}

// The real uid: the first number of the "Uid:" line of /proc/<pid>/status.
bool realUid(pid_t pid, uid_t& uid)
{
    std::istringstream status(hcs_test::readFile(procFile(pid, "status")));
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Uid:", 0) == 0) {
            uid = static_cast<uid_t>(std::strtoul(line.c_str() + 4, nullptr, 10));
            return true;
        }
    }
    return false;
}

// fd number -> readlink target.
std::vector<std::pair<std::string, std::string>> descriptors(pid_t pid)
{
    std::vector<std::pair<std::string, std::string>> found;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(procFile(pid, "fd"), error)) {
        std::error_code linkError;
        fs::path target = fs::read_symlink(entry.path(), linkError);
        if (!linkError) found.emplace_back(entry.path().filename().string(), target.string());
    }
    return found;
}

}  // namespace

std::vector<pid_t> processesOwnedBy(uid_t uid)
{
    std::vector<pid_t> owned;
    for (pid_t pid : allProcesses()) {
        uid_t owner = 0;
        if (realUid(pid, owner) && owner == uid && hcs_test::processAlive(pid)) owned.push_back(pid);
    }
    return owned;
}

std::vector<pid_t> processesMentioning(const std::string& text)
{
    std::vector<pid_t> found;
    for (pid_t pid : allProcesses()) {
        if (pid == ::getpid()) continue;
        std::string commandLine = hcs_test::readFile(procFile(pid, "cmdline"));
        if (commandLine.find(text) != std::string::npos && hcs_test::processAlive(pid)) found.push_back(pid);
    }
    return found;
}

std::vector<std::string> commandLineOf(pid_t pid)
{
    std::string text = hcs_test::readFile(procFile(pid, "cmdline"));
    std::vector<std::string> argv;
    for (size_t start = 0; start < text.size();) {
        size_t end = text.find('\0', start);
        if (end == std::string::npos) end = text.size();
        argv.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return argv;
}

std::string optionValueOf(pid_t pid, const std::string& option)
{
    auto argv = commandLineOf(pid);
    auto it = std::find(argv.begin(), argv.end(), option);
    return it != argv.end() && it + 1 != argv.end() ? *(it + 1) : "";
}

std::vector<std::string> descriptorTargetsOf(pid_t pid)
{
    std::vector<std::string> targets;
    for (auto& [fd, target] : descriptors(pid))
        targets.push_back(target);
    return targets;
}

std::vector<std::string> holdersOf(const std::string& target)
{
    std::vector<std::string> holders;
    for (pid_t pid : allProcesses()) {
        if (pid == ::getpid()) continue;
        for (auto& [fd, what] : descriptors(pid)) {
            if (what != target) continue;
            std::string comm = hcs_test::readFile(procFile(pid, "comm"));
            if (!comm.empty() && comm.back() == '\n') comm.pop_back();
            holders.push_back("pid " + std::to_string(pid) + " (" + comm + ") fd " + fd);
        }
    }
    return holders;
}

std::vector<std::string> listeningSocketPathsOf(pid_t pid)
{
    std::set<std::string> inodes;
    for (const std::string& target : descriptorTargetsOf(pid)) {
        if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
    }
    // "Num RefCount Protocol Flags Type St Inode Path"; Flags 00010000 is __SO_ACCEPTCON (listening).
    std::istringstream table(hcs_test::readFile("/proc/net/unix"));
    std::string line;
    std::getline(table, line);  // header
    std::vector<std::string> paths;
    while (std::getline(table, line)) {
        std::istringstream fields(line);
        std::string num, refCount, protocol, flags, type, state, inode, path;
        fields >> num >> refCount >> protocol >> flags >> type >> state >> inode >> path;
        if (!path.empty() && inodes.count(inode) && flags == "00010000") paths.push_back(path);
    }
    return paths;
}

double cpuSecondsOf(pid_t pid)
{
    std::string stat = hcs_test::readFile(procFile(pid, "stat"));
    auto close = stat.rfind(')');
    if (close == std::string::npos) return 0;
    // After "(comm) ": state is field 3; utime and stime are fields 14 and 15.
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int index = 3; index <= 15 && fields >> field; ++index) {
        if (index == 14) utime = std::stoull(field);
        if (index == 15) stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

char stateOf(pid_t pid)
{
    std::string stat = hcs_test::readFile(procFile(pid, "stat"));
    auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() ? stat[close + 2] : '?';
}

size_t descriptorCountOf(pid_t pid)
{
    return descriptors(pid).size();
}

}  // namespace hcsd_test
