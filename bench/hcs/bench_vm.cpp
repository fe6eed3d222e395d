#include "bench_vm.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "base/strings.h"
#include "support/qemu_processes.h"

namespace hcs_bench {

using namespace std::chrono_literals;

std::wstring wide(const std::string& text)
{
    return *hc::fromUtf8(text);
}

void check(const hcsctl::CallOutcome& outcome, const char* what)
{
    if (FAILED(outcome.hr)) {
        throw std::runtime_error(std::string(what) + ": " + hcsctl::describeHresult(outcome.hr) + " " +
                                 outcome.document);
    }
}

void createAndStart(const std::string& id, const std::string& document, hcsctl::SystemHandle& system)
{
    std::wstring wideId = wide(id);
    std::wstring wideDocument = wide(document);
    check(hcsctl::runOperation(c_TimeoutMs,
                               [&](HCS_OPERATION operation) {
                                   return HcsCreateComputeSystem(wideId.c_str(), wideDocument.c_str(), operation,
                                                                 nullptr, system.put());
                               }),
          "create");
    check(hcsctl::runOperation(
              c_TimeoutMs,
              [&](HCS_OPERATION operation) { return HcsStartComputeSystem(system.get(), operation, nullptr); }),
          "start");
}

void terminate(hcsctl::SystemHandle& system)
{
    (void)hcsctl::runOperation(c_TimeoutMs, [&](HCS_OPERATION operation) {
        return HcsTerminateComputeSystem(system.get(), operation, nullptr);
    });
}

std::vector<pid_t> newQemu(const hcs_test::PrivateHcsd& hcsd, const std::vector<pid_t>& known)
{
    std::vector<pid_t> fresh;
    for (pid_t pid : hcs_test::qemuProcessesMentioning(hcsd.root())) {
        if (std::find(known.begin(), known.end(), pid) == known.end()) {
            fresh.push_back(pid);
        }
    }
    return fresh;
}

ReferenceLaunch prepareReference(pid_t hcsdQemu, const std::string& hcsdRoot, int index,
                                 const std::vector<std::string>& extraArguments)
{
    ReferenceLaunch launch;
    launch.directory = hcsdRoot + "-reference-" + std::to_string(index);
    std::filesystem::create_directories(launch.directory);
    launch.argv = referenceCommandLine(commandLineOf(hcsdQemu), hcsdRoot, launch.directory, launch.qmpSocket);
    launch.argv.insert(launch.argv.end(), extraArguments.begin(), extraArguments.end());
    return launch;
}

ReferenceVm::ReferenceVm(ReferenceLaunch prepared) : launch(std::move(prepared))
{
    process = hcs_test::ChildProcess::spawn(launch.argv, {{}, "/dev/null", launch.directory + "/qemu.err"});
    try {
        qmp.open(launch.qmpSocket, 30s);
        qmp.execute("cont");
    } catch (const std::exception& error) {
        std::string said = hcs_test::readFile(launch.directory + "/qemu.err");
        process.signal(SIGKILL);
        process.wait(5s);
        std::error_code ignored;
        std::filesystem::remove_all(launch.directory, ignored);
        throw std::runtime_error(std::string(error.what()) + "; QEMU said: " + said);
    }
}

ReferenceVm::~ReferenceVm()
{
    process.signal(SIGKILL);
    process.wait(5s);
    std::error_code ignored;
    std::filesystem::remove_all(launch.directory, ignored);
}

void printComparison(const char* what, double ours, double reference, const char* unit)
{
    std::printf("%-34s hcs %10.1f %-4s  reference %10.1f %-4s  ratio %.2fx\n", what, ours, unit, reference, unit,
                reference > 0 ? ours / reference : 0.0);
}

}  // namespace hcs_bench
