// hcs_bench — what the HCS layer costs next to driving QEMU directly, measured in the same run:
//   hcs_bench props [N]         GetComputeSystemProperties round trip on a running VM vs QMP query-status
//   hcs_bench create-start [N]  create+start of the seed's empty VM vs launching its QEMU until QMP answers
//   hcs_bench memory [N]        RSS of hcsd + N idle empty VMs vs the same N QEMU processes launched directly
//   hcs_bench agent [N]         guest processes through hcs-guest vs qemu-ga (guest_agent_bench.h)
//   hcs_bench agent-profile [N] N 64 MiB streams with every party's CPU time (guest_agent_bench.h)
// Starts its own private hcsd (like the integration tests). Not run in CI; docs/performance-hcs.md
// records results. Prints ours next to the reference and the ratio.
#include <computecore.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/strings.h"
#include "bench_vm.h"
#include "guest_agent_bench.h"
#include "hostcompute_version.h"
#include "support/qemu_processes.h"

namespace {

using namespace std::chrono_literals;
using namespace hcs_bench;
using hcsctl::runOperation;
using hcsctl::SystemHandle;

// The seed's c_EmptyVM.
const char* const c_EmptyVm = R"({"SchemaVersion":{"Major":2,"Minor":1},"Owner":"Sample",
  "VirtualMachine":{"Chipset":{"Uefi":{}},"ComputeTopology":{"Memory":{"Backing":"Physical","SizeInMB":1024},
  "Processor":{"Count":2}}},"ShouldTerminateOnLastHandleClosed":true})";

std::string kernelDirectVm(const std::string& root)
{
    std::string guest = hcs_test::sourceDirectory() + "/.cache/test-guest";
    return R"({"SchemaVersion":{"Major":2,"Minor":1},"VirtualMachine":{"Chipset":{"LinuxKernelDirect":{
      "KernelFilePath":")" +
           guest + R"(/vmlinuz","InitRdPath":")" + guest + R"(/initrd-idle.gz","KernelCmdLine":"console=ttyS0 quiet"}},
      "ComputeTopology":{"Memory":{"SizeInMB":256},"Processor":{"Count":1}},
      "Devices":{"ComPorts":{"0":{"NamedPipe":")" +
           root + R"(/bench-com.sock"}}}},"ShouldTerminateOnLastHandleClosed":true})";
}

int benchProperties(hcs_test::PrivateHcsd& hcsd, int rounds)
{
    SystemHandle system;
    createAndStart("bench-props", kernelDirectVm(hcsd.root()), system);
    auto qemu = newQemu(hcsd, {});
    if (qemu.size() != 1) {
        throw std::runtime_error("cannot find the VM's QEMU process");
    }
    std::vector<std::chrono::nanoseconds> ours;
    for (int i = 0; i < rounds; ++i) {
        auto start = Clock::now();
        check(runOperation(c_TimeoutMs,
                           [&](HCS_OPERATION operation) {
                               return HcsGetComputeSystemProperties(system.get(), operation, nullptr);
                           }),
              "properties");
        ours.push_back(Clock::now() - start);
    }
    std::vector<std::chrono::nanoseconds> reference;
    {
        ReferenceVm direct(prepareReference(qemu.front(), hcsd.root(), 0));
        for (int i = 0; i < rounds; ++i) {
            auto start = Clock::now();
            direct.qmp.execute("query-status");
            reference.push_back(Clock::now() - start);
        }
    }
    terminate(system);
    std::printf("GetComputeSystemProperties (running VM) vs QMP query-status, %d rounds each\n", rounds);
    printComparison("p50", hcs_bench::percentileMicros(ours, 50), hcs_bench::percentileMicros(reference, 50), "us");
    printComparison("p99", hcs_bench::percentileMicros(ours, 99), hcs_bench::percentileMicros(reference, 99), "us");
    return 0;
}

int benchCreateStart(hcs_test::PrivateHcsd& hcsd, int rounds)
{
    std::vector<std::chrono::nanoseconds> ours;
    std::vector<ReferenceLaunch> launches;
    for (int i = 0; i < rounds; ++i) {
        SystemHandle system;
        auto start = Clock::now();
        createAndStart("bench-create-" + std::to_string(i), c_EmptyVm, system);
        ours.push_back(Clock::now() - start);
        auto qemu = newQemu(hcsd, {});
        if (qemu.size() != 1) {
            throw std::runtime_error("cannot find the VM's QEMU process");
        }
        launches.push_back(prepareReference(qemu.front(), hcsd.root(), i));
        terminate(system);
        hcs_test::waitForNoQemuMentioning(hcsd.root() + "/", 10s);
    }
    std::vector<std::chrono::nanoseconds> reference;
    for (int i = 0; i < rounds; ++i) {
        auto start = Clock::now();
        ReferenceVm direct(std::move(launches[i]));
        reference.push_back(Clock::now() - start);
    }
    std::printf("create+start of the seed's empty VM vs spawning its QEMU until QMP answers \"cont\", %d rounds\n",
                rounds);
    printComparison("p50", hcs_bench::percentileMicros(ours, 50) / 1000,
                    hcs_bench::percentileMicros(reference, 50) / 1000, "ms");
    printComparison("max", hcs_bench::percentileMicros(ours, 100) / 1000,
                    hcs_bench::percentileMicros(reference, 100) / 1000, "ms");
    return 0;
}

int benchMemory(hcs_test::PrivateHcsd& hcsd, int count)
{
    std::vector<std::unique_ptr<SystemHandle>> systems;
    for (int i = 0; i < count; ++i) {
        systems.push_back(std::make_unique<SystemHandle>());
        createAndStart("bench-memory-" + std::to_string(i), c_EmptyVm, *systems.back());
    }
    std::this_thread::sleep_for(5s);  // let the firmware settle
    auto qemu = newQemu(hcsd, {});
    uint64_t hcsdBytes = hcs_bench::residentBytes(hcsd.pid());
    uint64_t ourQemuBytes = 0;
    for (pid_t pid : qemu) {
        ourQemuBytes += hcs_bench::residentBytes(pid);
    }
    std::vector<ReferenceLaunch> launches;
    for (pid_t pid : qemu) {
        launches.push_back(prepareReference(pid, hcsd.root(), static_cast<int>(launches.size())));
    }
    for (auto& system : systems) {
        terminate(*system);
    }
    systems.clear();
    uint64_t referenceBytes = 0;
    {
        std::vector<std::unique_ptr<ReferenceVm>> direct;
        for (auto& launch : launches) {
            direct.push_back(std::make_unique<ReferenceVm>(std::move(launch)));
        }
        std::this_thread::sleep_for(5s);
        for (auto& vm : direct) {
            referenceBytes += hcs_bench::residentBytes(vm->process.pid());
        }
    }
    constexpr double MiB = 1024.0 * 1024.0;
    std::printf("RSS of %d idle empty VMs (seed document, started, 5 s after start)\n", count);
    std::printf("  hcsd %.1f MiB + QEMU %.1f MiB\n", hcsdBytes / MiB, ourQemuBytes / MiB);
    printComparison("total", (hcsdBytes + ourQemuBytes) / MiB, referenceBytes / MiB, "MiB");
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "--version") {
        std::printf("hcs_bench (hostcompute) %s\n", HOSTCOMPUTE_VERSION);
        return 0;
    }
    if (mode == "--help" || mode == "-h") {
        std::printf(
            "usage: hcs_bench props [ROUNDS=2000] | create-start [ROUNDS=10] | memory [VMS=4] | agent [ROUNDS=50]\n"
            "  props         GetComputeSystemProperties round trip on a running VM vs QMP query-status\n"
            "  create-start  create+start of the seed's empty VM vs launching its QEMU until QMP answers\n"
            "  memory        RSS of hcsd + N idle empty VMs vs the same N QEMU processes launched directly\n"
            "  agent         guest processes through hcs-guest vs qemu-ga\n"
            "Starts a private hcsd; figures go in docs/performance-hcs.md.\n");
        return 0;
    }
    int n = argc > 2 ? std::atoi(argv[2]) : 0;
    if (mode != "props" && mode != "create-start" && mode != "memory" && mode != "agent" && mode != "agent-profile") {
        std::fprintf(stderr,
                     "usage: hcs_bench props [ROUNDS=2000] | create-start [ROUNDS=10] | memory [VMS=4] | agent "
                     "[ROUNDS=50] | agent-profile [STREAMS=3]\n");
        return 2;
    }
    try {
        hcs_test::PrivateHcsd hcsd;
        hcsd.start();
        if (mode == "props") {
            return benchProperties(hcsd, n > 0 ? n : 2000);
        }
        if (mode == "create-start") {
            return benchCreateStart(hcsd, n > 0 ? n : 10);
        }
        if (mode == "agent") {
            return benchGuestAgent(hcsd, n > 0 ? n : 50);
        }
        if (mode == "agent-profile") {
            return profileGuestAgent(hcsd, n > 0 ? n : 3);
        }
        return benchMemory(hcsd, n > 0 ? n : 4);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "hcs_bench: %s\n", error.what());
        return 1;
    }
}
