// Re-adoption: when hcsd restarts, the QEMU processes of its compute systems are still running
// (they live in their own sessions and hold their own monitor sockets). Each system directory
// records what is needed to attach again: system.json (id, runtime id, pid, state, times) and
// config.json; the monitor socket is QEMU's, still listening at qmp.sock.
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "base/guid.h"
#include "base/log.h"
#include "hcs/service/service.h"

namespace hc::hcs::service {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The pid must still be the QEMU we started: its command line names this directory's pid file.
bool isOurQemu(pid_t pid, const std::string& directory)
{
    std::string cmdline = readFile("/proc/" + std::to_string(pid) + "/cmdline");
    return cmdline.find(directory + "/qemu.pid") != std::string::npos;
}

}  // namespace

void Service::readoptSystems()
{
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(options_.stateDirectory + "/systems", ec)) {
        if (entry.is_directory(ec)) adoptSystem(entry.path().string());
    }
}

void Service::adoptSystem(const std::string& directory)
{
    std::error_code ec;
    json record = json::parse(readFile(directory + "/system.json"), nullptr, false);
    auto config = schema::parseComputeSystem(readFile(directory + "/config.json"));
    pid_t pid = record.is_object() ? record.value("Pid", -1) : -1;
    if (!record.is_object() || !config || pid <= 0 || !isOurQemu(pid, directory)) {
        HC_LOG(Info, "hcsd", "removing stale state directory " + directory);
        fs::remove_all(directory, ec);
        return;
    }
    auto system = std::make_shared<ComputeSystem>();
    system->id = record.value("Id", std::string());
    system->configText = readFile(directory + "/config.json");
    system->config = std::move(*config);
    system->directory = directory;
    system->createTime = record.value("CreateTime", int64_t{0});
    system->startTime = record.value("StartTime", int64_t{0});
    auto runtimeId = parseGuid(record.value("RuntimeId", std::string()));
    system->runtimeId = runtimeId ? *runtimeId : newGuid();
    if (system->id.empty() || systems_.count(system->id)) {
        HC_LOG(Warn, "hcsd", "state directory " + directory + " has no usable id; killing its QEMU");
        kill(pid, SIGKILL);
        fs::remove_all(directory, ec);
        return;
    }
    system->adopting = true;
    system->busy = true;
    systems_[system->id] = system;
    auto qemu = QemuVm::adopt(loop_, pid, directory + "/qmp.sock", vmCallbacks(system));
    if (!qemu) {
        HC_LOG(Warn, "hcsd", "cannot re-adopt \"" + system->id + "\": " + qemu.error().message + "; killing its QEMU");
        systems_.erase(system->id);
        kill(pid, SIGKILL);
        fs::remove_all(directory, ec);
        return;
    }
    system->vm = std::move(*qemu);
    HC_LOG(Info, "hcsd", "re-adopting compute system \"" + system->id + "\" (QEMU pid " + std::to_string(pid) + ")");
}

void Service::finishAdoption(const SystemPtr& system)
{
    // The real state comes from QEMU, not from the record (it may have changed while hcsd was away).
    system->vm->execute("query-status", json::object(), [this, system](Result<json> r) {
        system->adopting = false;
        if (!r) {
            if (system->vm) system->vm->kill();  // the exit path cleans up
            return;
        }
        std::string status = r->value("status", std::string());
        if (status == "running") {
            system->state = SystemState::Running;
        } else {
            system->state = system->startTime ? SystemState::Paused : SystemState::Created;
        }
        system->createComplete = true;
        persist(*system);
        HC_LOG(Info, "hcsd", "re-adopted \"" + system->id + "\" in state " + stateName(system->state));
        // Every handle died with the previous hcsd (its clients saw ServiceDisconnect), so a system that
        // lives only as long as its handles has outlived them: terminate it rather than leak the VM.
        if (system->openHandles == 0 && system->config.shouldTerminateOnLastHandleClosed) {
            HC_LOG(Info, "hcsd", "\"" + system->id + "\" had ShouldTerminateOnLastHandleClosed: terminating it");
            beginTerminate(system, schema::ExitInitiator::Client);
        }
        loop_.post([this, system] { finishCall(system); });
    });
}

}  // namespace hc::hcs::service
