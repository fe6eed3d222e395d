#include "base/log.h"

#include <unistd.h>

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

}  // namespace

bool logEnabled(LogLevel level)
{
    static const LogLevel threshold = configuredLevel();
    return level <= threshold;
}

void logWrite(LogLevel level, const char* component, const std::string& message)
{
    static std::mutex mutex;
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    std::lock_guard lock(mutex);
    std::fprintf(stderr, "[%ld.%03ld %d %s %s] %s\n", static_cast<long>(ts.tv_sec), ts.tv_nsec / 1000000,
                 static_cast<int>(getpid()), levelName(level), component, message.c_str());
}

}  // namespace hc
