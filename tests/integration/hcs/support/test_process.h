// An HCS_PROCESS created by a test, with its stdio, closed when the test ends; shared by the process
// tests of real guests (processes_test.cpp) and of containers (tests/integration/containers).
#pragma once

#include <computecore.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support/hcs_test_support.h"
#include "support/process_support.h"

namespace hcs_test {

constexpr DWORD c_ProcessTimeoutMs = 120'000;

struct TestProcess {
    HCS_PROCESS process = nullptr;
    HCS_PROCESS_INFORMATION info{};
    HRESULT hr = E_FAIL;
    std::string error;
    TestProcess() = default;
    TestProcess(const TestProcess&) = delete;
    TestProcess& operator=(const TestProcess&) = delete;
    ~TestProcess()
    {
        for (HANDLE handle : {info.StdInput, info.StdOutput, info.StdError})
            if (handle) close(fdOf(handle));
        if (process) HcsCloseProcess(process);
    }
    void closeStdIn()
    {
        if (info.StdInput) close(fdOf(info.StdInput));
        info.StdInput = nullptr;
    }
    nlohmann::json waitForExit(DWORD timeoutMs = c_ProcessTimeoutMs)
    {
        PWSTR result = nullptr;
        HRESULT waited = HcsWaitForProcessExit(process, timeoutMs, &result);
        std::string text = hcsctl::takeResultString(result);
        EXPECT_EQ(waited, S_OK) << describe(waited) << " " << text;
        return nlohmann::json::parse(text, nullptr, false);
    }
    std::string readStdOut() { return readAll(fdOf(info.StdOutput)); }
};

// HcsCreateProcess and its wait; the outcome is in `out` (hr, error document, info). With a recorder,
// the ProcessExited callback is registered before the create can complete.
inline void createProcess(HCS_SYSTEM system, const nlohmann::json& parameters, TestProcess& out,
                          ExitRecorder* recorder = nullptr)
{
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    out.hr = HcsCreateProcess(system, wide(parameters.dump()).c_str(), op, nullptr, &out.process);
    if (SUCCEEDED(out.hr) && recorder)
        out.hr = HcsSetProcessCallback(out.process, HcsEventOptionNone, recorder, ExitRecorder::callback);
    PWSTR document = nullptr;
    if (SUCCEEDED(out.hr))
        out.hr = HcsWaitForOperationResultAndProcessInfo(op, c_ProcessTimeoutMs, &out.info, &document);
    out.error = hcsctl::takeResultString(document);
    HcsCloseOperation(op);
}

// ProcessParameters running `argv` with the stdio pipes asked for.
inline nlohmann::json command(std::vector<std::string> argv, bool in = false, bool out = true, bool err = true)
{
    return {{"CommandArgs", argv}, {"CreateStdInPipe", in}, {"CreateStdOutPipe", out}, {"CreateStdErrPipe", err}};
}

}  // namespace hcs_test
