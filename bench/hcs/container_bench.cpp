#include "container_bench.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench_vm.h"
#include "hcs_session.h"
#include "qmp_reference.h"

namespace hcs_bench {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

hcs_test::ProgramResult mustRun(const std::vector<std::string>& argv)
{
    hcs_test::ProgramResult r = hcs_test::runProgram(argv, 120s);
    if (r.exitCode != 0) throw std::runtime_error(argv[0] + " " + argv[1] + " failed: " + r.err);
    return r;
}

// busybox-static and its applets: the one layer both sides run.
std::string busyboxLayer(const std::string& root)
{
    const std::string layer = root + "/bench-layer";
    fs::create_directories(layer + "/bin");
    fs::create_directories(layer + "/etc");
    fs::copy_file("/bin/busybox", layer + "/bin/busybox", fs::copy_options::overwrite_existing);
    std::istringstream applets(mustRun({"/bin/busybox", "--list"}).out);
    for (std::string applet; std::getline(applets, applet);) {
        if (!applet.empty() && applet != "busybox") fs::create_symlink("busybox", layer + "/bin/" + applet);
    }
    std::ofstream(layer + "/etc/passwd") << "root:x:0:0:root:/:/bin/sh\n";
    return layer;
}

std::string containerDocument(const std::string& layer, const std::string& scratch)
{
    return json{{"SchemaVersion", {{"Major", 2}, {"Minor", 1}}},
                {"ShouldTerminateOnLastHandleClosed", true},
                {"Container", {{"Storage", {{"Layers", {{{"Id", "busybox"}, {"Path", layer}}}}, {"Path", scratch}}}}}}
        .dump();
}

std::string freshDirectory(const std::string& path)
{
    fs::remove_all(path);
    fs::create_directories(path);
    return path;
}

// Create -> Start -> /bin/true -> its exit, through hcsd.
std::chrono::nanoseconds oursOnce(const std::string& id, const std::string& layer, const std::string& scratch)
{
    hcsctl::SystemHandle system;
    auto start = Clock::now();
    createAndStart(id, containerDocument(layer, scratch), system);
    HCS_PROCESS process = nullptr;
    const json parameters = {{"CommandArgs", {"/bin/true"}}};
    check(hcsctl::runOperation(c_TimeoutMs,
                               [&](HCS_OPERATION op) {
                                   return HcsCreateProcess(system.get(), wide(parameters.dump()).c_str(), op, nullptr,
                                                           &process);
                               }),
          "HcsCreateProcess");
    PWSTR status = nullptr;
    HRESULT waited = HcsWaitForProcessExit(process, c_TimeoutMs, &status);
    auto elapsed = Clock::now() - start;
    std::string text = hcsctl::takeResultString(status);
    HcsCloseProcess(process);
    if (FAILED(waited) || json::parse(text, nullptr, false).value("ExitCode", -1) != 0) {
        throw std::runtime_error("the container's /bin/true did not exit 0: " + text);
    }
    terminate(system);
    return elapsed;
}

// The same layer as an overlay mounted by hand, `runc spec` edited to run /bin/true, `runc run` timed.
std::chrono::nanoseconds referenceOnce(const std::string& root, const std::string& layer, int index)
{
    const std::string dir = freshDirectory(root + "/ref-" + std::to_string(index));
    for (const char* sub : {"/upper", "/work", "/rootfs", "/bundle"})
        fs::create_directories(dir + sub);
    std::string options = "lowerdir=" + layer + ",upperdir=" + dir + "/upper,workdir=" + dir + "/work";
    if (mount("overlay", (dir + "/rootfs").c_str(), "overlay", MS_NODEV, options.c_str()) != 0) {
        throw std::runtime_error("cannot mount the reference overlay (run as root)");
    }
    mustRun({"runc", "spec", "--bundle", dir + "/bundle"});
    json spec = json::parse(hcs_test::readFile(dir + "/bundle/config.json"));
    spec["root"] = {{"path", dir + "/rootfs"}, {"readonly", false}};
    spec["process"]["args"] = {"/bin/true"};
    spec["process"]["terminal"] = false;
    spec["linux"]["cgroupsPath"] = "/hostcompute-bench/ref-" + std::to_string(getpid()) + "-" + std::to_string(index);
    std::ofstream(dir + "/bundle/config.json") << spec.dump();
    const std::string id = "bench-ref-" + std::to_string(getpid()) + "-" + std::to_string(index);
    auto start = Clock::now();
    mustRun({"runc", "--root", root + "/runc-ref", "run", "--bundle", dir + "/bundle", id});
    auto elapsed = Clock::now() - start;
    umount2((dir + "/rootfs").c_str(), MNT_DETACH);
    return elapsed;
}

double medianMillis(std::vector<std::chrono::nanoseconds> samples)
{
    return percentileMicros(std::move(samples), 50) / 1000.0;
}

}  // namespace

int benchContainers(hcs_test::PrivateHcsd& hcsd, int rounds, int idle)
{
    if (geteuid() != 0) throw std::runtime_error("containers need root");
    const std::string root = hcsd.root();
    const std::string layer = busyboxLayer(root);
    std::vector<std::chrono::nanoseconds> ours, reference;
    oursOnce("bench-warm", layer, freshDirectory(root + "/scratch-warm"));  // probes the runtime once
    for (int i = 0; i < rounds; ++i) {  // alternating, so load drifts hit both sides alike
        ours.push_back(
            oursOnce("bench-" + std::to_string(i), layer, freshDirectory(root + "/scratch-" + std::to_string(i))));
        reference.push_back(referenceOnce(root, layer, i));
    }
    std::printf("create -> start -> first process exit (median of %d)\n", rounds);
    printComparison("hcsd container vs runc run", medianMillis(ours), medianMillis(reference), "ms");

    const uint64_t before = residentBytes(hcsd.pid());
    std::vector<std::unique_ptr<hcsctl::SystemHandle>> systems;
    for (int i = 0; i < idle; ++i) {
        systems.push_back(std::make_unique<hcsctl::SystemHandle>());
        createAndStart("idle-" + std::to_string(i),
                       containerDocument(layer, freshDirectory(root + "/idle-" + std::to_string(i))), *systems.back());
    }
    std::this_thread::sleep_for(1s);
    const uint64_t after = residentBytes(hcsd.pid());
    uint64_t cgroupBytes = 0;
    for (auto& system : systems) {
        hcsctl::CallOutcome props = hcsctl::runOperation(c_TimeoutMs, [&](HCS_OPERATION op) {
            return HcsGetComputeSystemProperties(system->get(), op, LR"({"PropertyTypes":["Statistics"]})");
        });
        check(props, "HcsGetComputeSystemProperties");
        json p = json::parse(props.document, nullptr, false);
        cgroupBytes += p["Statistics"]["Memory"].value("MemoryUsageCommitBytes", uint64_t{0});
    }
    constexpr double MiB = 1024.0 * 1024.0;
    const double perContainerKiB =
        idle ? (static_cast<double>(after) - static_cast<double>(before)) / 1024.0 / idle : 0;
    std::printf(
        "%d idle containers: hcsd RSS %.1f -> %.1f MiB (%.0f KiB per container in hcsd); each container's "
        "cgroup (its init + agent, page cache included) %.0f KiB on average\n",
        idle, before / MiB, after / MiB, perContainerKiB, idle ? cgroupBytes / 1024.0 / idle : 0.0);
    // Terminated and waited for: hcsd leaves running systems behind when it stops.
    for (auto& system : systems)
        terminate(*system);
    systems.clear();
    return 0;
}

}  // namespace hcs_bench
