#include "base/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

namespace hc {
namespace {

LogLevel configuredLevel()
{
    const char* env = std::getenv("HOSTCOMPUTE_LOG");
    if (env == nullptr) return LogLevel::Warn;
    if (std::strcmp(env, "error") == 0) return LogLevel::Error;
    if (std::strcmp(env, "info") == 0) return LogLevel::Info;
    if (std::strcmp(env, "debug") == 0) return LogLevel::Debug;
    return LogLevel::Warn;
}

const char* levelName(LogLevel level)
{
    switch (level) {
        case LogLevel::Error:
            return "error";
        case LogLevel::Warn:
            return "warn";
        case LogLevel::Info:
            return "info";
        case LogLevel::Debug:
            return "debug";
    }
    return "?";
}

// systemd sets JOURNAL_STREAM=<device>:<inode> of the stream it connected to the journal. When stderr
// is that stream, lines carry a syslog priority prefix ("<3>") and no timestamp: the journal adds its own.
bool stderrIsJournal()
{
    const char* env = std::getenv("JOURNAL_STREAM");
    if (env == nullptr) return false;
    unsigned long long device = 0, inode = 0;
    if (std::sscanf(env, "%llu:%llu", &device, &inode) != 2) return false;
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == device && static_cast<unsigned long long>(st.st_ino) == inode;
}

int syslogPriority(LogLevel level)
{
    switch (level) {
        case LogLevel::Error:
            return 3;
        case LogLevel::Warn:
            return 4;
        case LogLevel::Info:
            return 6;
        case LogLevel::Debug:
            return 7;
    }
    return 6;
}

}  // namespace

bool logEnabled(LogLevel level)
{
    static const LogLevel threshold = configuredLevel();
    return level <= threshold;
}

void logWrite(LogLevel level, const char* component, const std::string& message)
{
    static std::mutex mutex;
    static const bool journal = stderrIsJournal();
    if (journal) {
        std::lock_guard lock(mutex);
        std::fprintf(stderr, "<%d>%s: %s\n", syslogPriority(level), component, message.c_str());
        return;
    }
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    std::lock_guard lock(mutex);
    std::fprintf(stderr, "[%ld.%03ld %d %s %s] %s\n", static_cast<long>(ts.tv_sec), ts.tv_nsec / 1000000,
                 static_cast<int>(getpid()), levelName(level), component, message.c_str());
}

}  // namespace hc
