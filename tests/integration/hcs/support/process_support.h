// Small helpers shared by the process tests (real guest and the local stand-in hcsd): the stdio HANDLEs
// of HCS_PROCESS_INFORMATION as descriptors, reading one to EOF, a recorder of ProcessExited events, and
// runInGuest(): a command in the guest with its output and exit code, within a time bound.
#pragma once

#include <computecore.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/hcs_test_support.h"

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

// What a command run in the guest printed and how it ended.
struct GuestRun {
    int exitCode = -1;     // -1 when it did not exit by itself within the bound (or did not start)
    std::string out;       // its stdout, as far as it came
    std::string failure;   // empty, or why there is no exit code (start failed, timed out)
    bool ok() const { return failure.empty() && exitCode == 0; }
};

// Runs argv in `system` (stdout piped) and waits at most `bound` for its output and exit; a process still
// running then is terminated, so a stuck guest command fails the caller's check instead of hanging the
// test program.
inline GuestRun runInGuest(HCS_SYSTEM system, const std::vector<std::string>& argv, std::chrono::milliseconds bound)
{
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + bound;
    auto left = [&] {
        return std::max<long long>(
            0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    };
    GuestRun run;
    nlohmann::json parameters{{"CommandArgs", argv}, {"CreateStdOutPipe", true}};
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_PROCESS process = nullptr;
    HCS_PROCESS_INFORMATION info{};
    PWSTR document = nullptr;
    HRESULT hr = HcsCreateProcess(system, wide(parameters.dump()).c_str(), op, nullptr, &process);
    if (SUCCEEDED(hr)) {
        hr = HcsWaitForOperationResultAndProcessInfo(op, static_cast<DWORD>(left()), &info, &document);
    }
    std::string error = hcsctl::takeResultString(document);
    HcsCloseOperation(op);
    if (FAILED(hr)) {
        run.failure = "HcsCreateProcess: " + describe(hr) + " " + error;
        if (process) HcsCloseProcess(process);
        return run;
    }
    const int out = fdOf(info.StdOutput);
    char buffer[4096];
    while (true) {
        pollfd ready{out, POLLIN, 0};
        if (poll(&ready, 1, static_cast<int>(left())) != 1) break;
        ssize_t n = read(out, buffer, sizeof buffer);
        if (n <= 0) break;
        run.out.append(buffer, static_cast<size_t>(n));
    }
    close(out);
    PWSTR status = nullptr;
    HRESULT waited = HcsWaitForProcessExit(process, static_cast<DWORD>(left()), &status);
    nlohmann::json exit = nlohmann::json::parse(hcsctl::takeResultString(status), nullptr, false);
    if (SUCCEEDED(waited) && exit.is_object()) {
        run.exitCode = exit.value("ExitCode", -1);
    } else {
        run.failure = "no exit within " + std::to_string(bound.count()) + " ms (" + describe(waited) + ")";
        HCS_OPERATION kill = HcsCreateOperation(nullptr, nullptr);
        if (SUCCEEDED(HcsTerminateProcess(process, kill, nullptr))) HcsWaitForOperationResult(kill, 10000, nullptr);
        HcsCloseOperation(kill);
    }
    HcsCloseProcess(process);
    return run;
}

// The same with /bin/sh -c `script`.
inline GuestRun runShellInGuest(HCS_SYSTEM system, const std::string& script, std::chrono::milliseconds bound)
{
    return runInGuest(system, {"/bin/sh", "-c", script}, bound);
}

}  // namespace hcs_test
