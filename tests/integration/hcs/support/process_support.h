// Small helpers shared by the process tests (real guest and the local stand-in hcsd): the stdio HANDLEs
// of HCS_PROCESS_INFORMATION as descriptors, reading one to EOF, and a recorder of ProcessExited events.
#pragma once

#include <computecore.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace hcs_test {

// The descriptor a stdio HANDLE carries (-1 for NULL).
inline int fdOf(HANDLE handle)
{
    return handle ? static_cast<int>(reinterpret_cast<intptr_t>(handle)) : -1;
}

inline std::string readAll(int fd)
{
    std::string data;
    char buffer[65536];
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0)
        data.append(buffer, static_cast<size_t>(n));
    return data;
}

// Records ProcessExited on the process handles it is registered on (HcsSetProcessCallback, context =
// the recorder); the ProcessStatus documents in arrival order.
struct ExitRecorder {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> statuses;

    static void CALLBACK callback(HCS_EVENT* event, void* context)
    {
        auto* self = static_cast<ExitRecorder*>(context);
        if (event->Type != HcsEventProcessExited) return;
        std::lock_guard lock(self->mutex);
        std::wstring data = event->EventData ? event->EventData : L"";
        self->statuses.push_back(std::string(data.begin(), data.end()));  // ProcessStatus is ASCII JSON
        self->changed.notify_all();
    }
    // True once `count` exits were recorded within `timeout`.
    bool waitFor(size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10))
    {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, timeout, [&] { return statuses.size() >= count; });
    }
    // The first exit's ProcessStatus, or nullopt when none arrived within `timeout`.
    std::optional<nlohmann::json> waitForExit(std::chrono::milliseconds timeout)
    {
        if (!waitFor(1, timeout)) return std::nullopt;
        std::lock_guard lock(mutex);
        return nlohmann::json::parse(statuses.front(), nullptr, false);
    }
};

}  // namespace hcs_test
