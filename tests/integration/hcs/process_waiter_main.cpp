// hcs_it_process_waiter ID PID: a second client process — opens compute system ID, opens its process PID
// (HcsOpenProcess), prints "opened", waits for the process to exit and prints its ProcessStatus. Exit 0
// when the wait succeeded, 1 otherwise.
#include <computecore.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/hresult.h"
#include "base/strings.h"
#include "hcs_session.h"

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: hcs_it_process_waiter ID PID\n");
        return 2;
    }
    auto id = hc::fromUtf8(argv[1]);
    if (!id) return 2;
    hcsctl::SystemHandle system;
    HRESULT hr = hcsctl::openSystem(*id, system).hr;
    if (FAILED(hr)) {
        std::printf("open system: %s\n", hc::hresultName(hr).c_str());
        return 1;
    }
    HCS_PROCESS process = nullptr;
    hr = HcsOpenProcess(system.get(), static_cast<DWORD>(std::strtoul(argv[2], nullptr, 10)), GENERIC_ALL, &process);
    if (FAILED(hr)) {
        std::printf("open process: %s\n", hc::hresultName(hr).c_str());
        return 1;
    }
    std::printf("opened\n");
    std::fflush(stdout);
    PWSTR result = nullptr;
    hr = HcsWaitForProcessExit(process, 120'000, &result);
    std::printf("%s\n", hcsctl::takeResultString(result).c_str());
    HcsCloseProcess(process);
    return SUCCEEDED(hr) ? 0 : 1;
}
