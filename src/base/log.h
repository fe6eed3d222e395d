// Minimal leveled logging to stderr. Level from HOSTCOMPUTE_LOG (error|warn|info|debug; default warn).
#pragma once

#include <cstdio>
#include <string>

namespace hc {

enum class LogLevel { Error = 0, Warn = 1, Info = 2, Debug = 3 };

bool logEnabled(LogLevel level);
void logWrite(LogLevel level, const char* component, const std::string& message);

}  // namespace hc

#define HC_LOG(level, component, message)                                                                         \
    do {                                                                                                          \
        if (::hc::logEnabled(::hc::LogLevel::level)) ::hc::logWrite(::hc::LogLevel::level, component, (message)); \
    } while (0)
