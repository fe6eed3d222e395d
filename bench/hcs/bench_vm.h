// What every HCS benchmark mode needs: systems created and started through the C API, the QEMU process
// hcsd launched for them, and a direct launch of that same QEMU command line as the reference.
#pragma once

#include <computecore.h>
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "hcs_session.h"
#include "qmp_reference.h"
#include "support/child_process.h"
#include "support/private_hcsd.h"

namespace hcs_bench {

constexpr DWORD c_TimeoutMs = 120'000;
using Clock = std::chrono::steady_clock;

std::wstring wide(const std::string& text);
// Throws with the HRESULT's name and the result document when the call failed.
void check(const hcsctl::CallOutcome& outcome, const char* what);
void createAndStart(const std::string& id, const std::string& document, hcsctl::SystemHandle& system);
void terminate(hcsctl::SystemHandle& system);
// The QEMU processes of our hcsd that are not in `known`.
std::vector<pid_t> newQemu(const hcs_test::PrivateHcsd& hcsd, const std::vector<pid_t>& known);

// hcsd's QEMU command line rewritten for a direct launch (see referenceCommandLine), plus `extraArguments`.
struct ReferenceLaunch {
    std::vector<std::string> argv;
    std::string qmpSocket;
    std::string directory;
};
ReferenceLaunch prepareReference(pid_t hcsdQemu, const std::string& hcsdRoot, int index,
                                 const std::vector<std::string>& extraArguments = {});

// A directly launched copy of one of hcsd's QEMU processes, controlled over its own QMP socket, running
// (hcsd starts QEMU with -S and sends "cont" on Start; so does this).
struct ReferenceVm {
    ReferenceLaunch launch;
    hcs_test::ChildProcess process;
    QmpConnection qmp;

    explicit ReferenceVm(ReferenceLaunch prepared);
    ~ReferenceVm();
};

void printComparison(const char* what, double ours, double reference, const char* unit);

}  // namespace hcs_bench
