// hcs_bench — what the HCS layer costs next to driving QEMU directly, measured in the same run:
//   hcs_bench props [N]         GetComputeSystemProperties round trip on a running VM vs QMP query-status
//   hcs_bench create-start [N]  create+start of the seed's empty VM vs launching its QEMU until QMP answers
//   hcs_bench memory [N]        RSS of hcsd + N idle empty VMs vs the same N QEMU processes launched directly
//   hcs_bench agent [N]         guest processes through hcs-guest vs qemu-ga (guest_agent_bench.h)
//   hcs_bench agent-profile [N] N 64 MiB streams with every party's CPU time (guest_agent_bench.h)
//   hcs_bench save-restore [N]  Save of a paused 256 MiB guest + restore (Create with RestoreState, Start) vs
//                               the same QMP migrate into a file / -incoming defer + migrate-incoming by hand
//   hcs_bench container [N [IDLE]]  container create->start->process exit vs runc run; IDLE idle containers' cost
//   hcs_bench hot-add [N]       HcsModifyComputeSystem adding a SCSI disk vs QMP blockdev-add + device_add by hand
// Starts its own private hcsd (like the integration tests). Not run in CI; docs/performance-hcs.md
// records results. Prints ours next to the reference and the ratio.
#include <computecore.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/strings.h"
#include "bench_vm.h"
#include "container_bench.h"
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

// The by-hand reference: the QMP a program driving QEMU itself sends to save into a file it opened, and
// the file flushed at the end (a Save through hcsd is durable when it answers: the same work).
std::chrono::nanoseconds referenceSave(QmpConnection& qmp, const std::string& file)
{
    auto start = Clock::now();
    qmp.execute("migrate-set-capabilities", {{"capabilities", {{{"capability", "events"}, {"state", true}}}}});
    qmp.execute("migrate-set-parameters", {{"max-bandwidth", int64_t{1} << 40}});
    int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + file);
    qmp.executeWithDescriptor("getfd", {{"fdname", "save"}}, fd);
    qmp.execute("migrate", {{"uri", "fd:save"}});
    for (;;) {
        std::string status = qmp.execute("query-migrate").value("status", std::string());
        if (status == "completed") break;
        if (status == "failed" || status == "cancelled") {
            close(fd);
            throw std::runtime_error("reference save " + status);
        }
        std::this_thread::sleep_for(1ms);
    }
    const int synced = fsync(fd);
    close(fd);
    if (synced != 0) throw std::runtime_error("cannot flush " + file);
    return Clock::now() - start;
}

// Spawn with -incoming defer, load the file, "cont": what Create with RestoreState + Start do.
std::chrono::nanoseconds referenceRestore(ReferenceLaunch launch, const std::string& file)
{
    auto start = Clock::now();
    auto process = hcs_test::ChildProcess::spawn(launch.argv, {{}, "/dev/null", launch.directory + "/qemu.err"});
    std::chrono::nanoseconds took{};
    try {
        QmpConnection qmp;
        qmp.open(launch.qmpSocket, 30s);
        qmp.execute("migrate-set-capabilities", {{"capabilities", {{{"capability", "events"}, {"state", true}}}}});
        int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw std::runtime_error("cannot open " + file);
        qmp.executeWithDescriptor("getfd", {{"fdname", "restore"}}, fd);
        close(fd);
        qmp.execute("migrate-incoming", {{"uri", "fd:restore"}});
        for (;;) {
            std::string status = qmp.execute("query-migrate").value("status", std::string());
            if (status == "completed") break;
            if (status == "failed") throw std::runtime_error("reference restore failed");
            std::this_thread::sleep_for(1ms);
        }
        qmp.execute("cont");
        took = Clock::now() - start;
    } catch (const std::exception& error) {
        process.signal(SIGKILL);
        process.wait(5s);
        throw std::runtime_error(std::string(error.what()) +
                                 "; QEMU said: " + hcs_test::readFile(launch.directory + "/qemu.err"));
    }
    process.signal(SIGKILL);
    process.wait(5s);
    std::error_code ignored;
    std::filesystem::remove_all(launch.directory, ignored);
    return took;
}

// A 256 MiB kernel-direct guest, booted for a while so that its memory holds a running system.
int benchSaveRestore(hcs_test::PrivateHcsd& hcsd, int rounds)
{
    const std::string document = kernelDirectVm(hcsd.root());
    SystemHandle source;
    createAndStart("bench-save-source", document, source);
    auto qemu = newQemu(hcsd, {});
    if (qemu.size() != 1) throw std::runtime_error("cannot find the VM's QEMU process");
    std::vector<ReferenceLaunch> restores;
    for (int i = 0; i < rounds; ++i)
        restores.push_back(prepareReference(qemu.front(), hcsd.root(), 1 + i, {"-incoming", "defer"}));
    ReferenceVm direct(prepareReference(qemu.front(), hcsd.root(), 0));
    std::this_thread::sleep_for(10s);  // both guests boot
    check(runOperation(c_TimeoutMs, [&](HCS_OPERATION op) { return HcsPauseComputeSystem(source.get(), op, nullptr); }),
          "pause");
    direct.qmp.execute("stop");

    std::vector<std::chrono::nanoseconds> ourSave, ourRestore, refSave, refRestore;
    uint64_t ourBytes = 0, refBytes = 0;
    for (int i = 0; i < rounds; ++i) {
        const std::string ours = hcsd.root() + "/ours-" + std::to_string(i) + ".save";
        const std::string options = nlohmann::json{{"SaveType", "ToFile"}, {"SaveStateFilePath", ours}}.dump();
        auto start = Clock::now();
        check(runOperation(
                  c_TimeoutMs,
                  [&](HCS_OPERATION op) { return HcsSaveComputeSystem(source.get(), op, wide(options).c_str()); }),
              "save");
        ourSave.push_back(Clock::now() - start);
        ourBytes = std::filesystem::file_size(ours);

        // The restored system: the same document, its own console socket, RestoreState.
        auto restored = nlohmann::json::parse(document);
        restored["VirtualMachine"]["Devices"]["ComPorts"]["0"]["NamedPipe"] =
            hcsd.root() + "/restored-" + std::to_string(i) + ".sock";
        restored["VirtualMachine"]["RestoreState"] = {{"SaveStateFilePath", ours}};
        SystemHandle copy;
        start = Clock::now();
        createAndStart("bench-restored-" + std::to_string(i), restored.dump(), copy);
        ourRestore.push_back(Clock::now() - start);
        terminate(copy);

        const std::string reference = hcsd.root() + "-reference-" + std::to_string(i) + ".save";
        refSave.push_back(referenceSave(direct.qmp, reference));
        refBytes = std::filesystem::file_size(reference);
        refRestore.push_back(referenceRestore(std::move(restores[i]), reference));
        std::filesystem::remove(ours);
        std::filesystem::remove(reference);
        // QEMU migrates a VM once per run: both sources run again before the next round's save.
        check(runOperation(c_TimeoutMs,
                           [&](HCS_OPERATION op) { return HcsResumeComputeSystem(source.get(), op, nullptr); }),
              "resume");
        check(runOperation(c_TimeoutMs,
                           [&](HCS_OPERATION op) { return HcsPauseComputeSystem(source.get(), op, nullptr); }),
              "pause");
        direct.qmp.execute("cont");
        direct.qmp.execute("stop");
    }
    terminate(source);
    std::printf(
        "save of a paused 256 MiB guest (files: ours %.1f MiB, reference %.1f MiB) and restore to "
        "running, %d rounds\n",
        ourBytes / 1048576.0, refBytes / 1048576.0, rounds);
    printComparison("save p50", hcs_bench::percentileMicros(ourSave, 50) / 1000,
                    hcs_bench::percentileMicros(refSave, 50) / 1000, "ms");
    printComparison("restore p50", hcs_bench::percentileMicros(ourRestore, 50) / 1000,
                    hcs_bench::percentileMicros(refRestore, 50) / 1000, "ms");
    return 0;
}

// A disk hot-added with HcsModifyComputeSystem (request checked, image opened and probed, blockdev-add
// twice, device_add, document stored) vs the same three QMP commands sent by hand to a copy of the VM.
// Each round adds a new LUN on both sides, so that no removal runs between the timed calls.
int benchHotAdd(hcs_test::PrivateHcsd& hcsd, int rounds)
{
    rounds = std::min(rounds, 63);  // LUNs 1..63
    auto document = nlohmann::json::parse(kernelDirectVm(hcsd.root()));
    document["VirtualMachine"]["Devices"]["Scsi"]["main"]["Attachments"] = nlohmann::json::object();
    SystemHandle system;
    createAndStart("bench-hot-add", document.dump(), system);
    auto qemu = newQemu(hcsd, {});
    if (qemu.size() != 1) throw std::runtime_error("cannot find the VM's QEMU process");
    ReferenceVm direct(prepareReference(qemu.front(), hcsd.root(), 0));
    std::this_thread::sleep_for(5s);  // both guests boot

    std::vector<std::chrono::nanoseconds> ours, reference;
    for (int lun = 1; lun <= rounds; ++lun) {
        // Two images: QEMU locks an image it writes to, so the two VMs cannot share one.
        const std::string disk = hcsd.root() + "/hot-" + std::to_string(lun) + ".img", refDisk = disk + ".ref";
        for (const auto& image : {disk, refDisk}) {
            std::ofstream(image).close();
            std::filesystem::resize_file(image, 8 << 20);
        }
        const std::string request =
            nlohmann::json{{"ResourcePath", "VirtualMachine/Devices/Scsi/main/Attachments/" + std::to_string(lun)},
                           {"RequestType", "Add"},
                           {"Settings", {{"Type", "VirtualDisk"}, {"Path", disk}}}}
                .dump();
        auto start = Clock::now();
        check(runOperation(c_TimeoutMs,
                           [&](HCS_OPERATION op) {
                               return HcsModifyComputeSystem(system.get(), op, wide(request).c_str(), nullptr);
                           }),
              "modify");
        ours.push_back(Clock::now() - start);

        const std::string id = "ref-lun" + std::to_string(lun);
        start = Clock::now();
        direct.qmp.execute("blockdev-add",
                           {{"driver", "file"}, {"filename", refDisk}, {"node-name", id + "-file"}, {"read-only", false}});
        direct.qmp.execute("blockdev-add", {{"driver", "raw"}, {"file", id + "-file"}, {"node-name", id}});
        direct.qmp.execute("device_add", {{"driver", "scsi-hd"},
                                          {"id", id},
                                          {"bus", "hcs-scsi0.0"},
                                          {"channel", 0},
                                          {"scsi-id", 0},
                                          {"lun", lun},
                                          {"drive", id}});
        reference.push_back(Clock::now() - start);
    }
    terminate(system);
    std::printf("hot-add of an 8 MiB raw disk to a running 256 MiB guest, %d rounds\n", rounds);
    printComparison("hot-add p50", hcs_bench::percentileMicros(ours, 50) / 1000,
                    hcs_bench::percentileMicros(reference, 50) / 1000, "ms");
    printComparison("hot-add p90", hcs_bench::percentileMicros(ours, 90) / 1000,
                    hcs_bench::percentileMicros(reference, 90) / 1000, "ms");
    return 0;
}

}  // namespace

constexpr const char* c_Usage =
    "usage: hcs_bench props [ROUNDS=2000] | create-start [ROUNDS=10] | memory [VMS=4] | agent [ROUNDS=50]\n"
    "                 | agent-profile [STREAMS=3] | save-restore [ROUNDS=3] | container [ROUNDS=10 [IDLE=50]]\n"
    "                 | hot-add [ROUNDS=20]\n";

int main(int argc, char** argv)
{
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "--version") {
        std::printf("hcs_bench (hostcompute) %s\n", HOSTCOMPUTE_VERSION);
        return 0;
    }
    if (mode == "--help" || mode == "-h") {
        std::printf(
            "%s"
            "  props          GetComputeSystemProperties round trip on a running VM vs QMP query-status\n"
            "  create-start   create+start of the seed's empty VM vs launching its QEMU until QMP answers\n"
            "  memory         RSS of hcsd + N idle empty VMs vs the same N QEMU processes launched directly\n"
            "  agent          guest processes through hcs-guest vs qemu-ga\n"
            "  agent-profile  N 64 MiB streams through hcs-guest with every party's CPU time\n"
            "  save-restore   Save + restore of a 256 MiB guest vs QMP migrate to a file / migrate-incoming by hand\n"
            "  container      container create+start+first process exit vs runc run; IDLE idle containers' cost "
            "(root)\n"
            "  hot-add        HcsModifyComputeSystem adding a SCSI disk vs QMP blockdev-add + device_add by hand\n"
            "Starts a private hcsd; figures go in docs/performance-hcs.md.\n",
            c_Usage);
        return 0;
    }
    int n = argc > 2 ? std::atoi(argv[2]) : 0;
    if (mode != "props" && mode != "create-start" && mode != "memory" && mode != "agent" && mode != "agent-profile" &&
        mode != "save-restore" && mode != "container" && mode != "hot-add") {
        std::fputs(c_Usage, stderr);
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
        if (mode == "save-restore") {
            return benchSaveRestore(hcsd, n > 0 ? n : 3);
        }
        if (mode == "hot-add") {
            return benchHotAdd(hcsd, n > 0 ? n : 20);
        }
        if (mode == "container") {
            return benchContainers(hcsd, n > 0 ? n : 10, argc > 3 ? std::atoi(argv[3]) : 50);
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
