// Re-adoption: when hcsd restarts, the QEMU processes of its compute systems are still running
// (they live in their own sessions and hold their own monitor sockets). Each system directory
// holds what is needed to attach again (service/system_store.h). A directory whose Create never
// finished (record "Creating", or no record at all) had a QEMU nobody was told about: it is killed,
// found by its spawn token even if its pid was never recorded, and the directory removed. A container
// is found by asking the OCI runtime for its init (container/container_backend.h); one that cannot be
// re-adopted is killed and its cgroups, runtime state and root file system mount freed.
#include <unistd.h>

#include <algorithm>

#include "base/guid.h"
#include "base/log.h"
#include "hcs/service/service.h"

namespace hc::hcs::service {

using nlohmann::json;

void Service::readoptSystems()
{
    for (const std::string& directory : store_.systemDirectories())
        adoptSystem(directory);
}

void Service::adoptSystem(const std::string& directory)
{
    auto record = store_.readRecord(directory);
    std::string configText = store_.readConfig(directory);
    auto config = schema::parseComputeSystem(configText);
    const bool isContainer = config && config->container && record;
    std::optional<container::ContainerBackend::Found> init;
    if (isContainer) init = containers_.find(record->runtimeId);
    std::vector<pid_t> running =
        isContainer ? std::vector<pid_t>() : launcher_.findByArgument(SystemStore::spawnToken(directory));
    if (init) running.push_back(init->pid);
    auto discard = [&](const std::string& why) {
        if (isContainer) containers_.discard(record->runtimeId);
        for (pid_t pid : isContainer ? std::vector<pid_t>() : running) {
            HC_LOG(Info, "hcsd", "killing QEMU pid " + std::to_string(pid) + " of " + directory + ": " + why);
            launcher_.killProcess(pid);
        }
        HC_LOG(Info, "hcsd", "removing state directory " + directory + " (" + why + ")");
        store_.removeSystemDirectory(directory);
    };
    if (!record) return discard("no record: its Create never got as far as writing one");
    if (record->state == stateName(SystemState::Creating)) return discard("its Create never finished");
    if (!config) return discard("its configuration is unreadable: " + config.error().message);
    if (record->id.empty() || systems_.count(record->id)) return discard("no usable compute system id");
    if (running.empty()) return discard(isContainer ? "its container is gone" : "its QEMU is gone");
    // The recorded pid when it is still ours; a process naming the spawn token otherwise.
    pid_t pid = std::count(running.begin(), running.end(), record->pid) ? record->pid : running.front();

    auto system =
        std::make_shared<ComputeSystem>(loop_, record->id, SystemState::Adopting, options_.maxProcessesPerSystem);
    system->configText = configText;
    system->config = std::move(*config);
    system->directory = directory;
    system->createTime = record->createTime;
    system->ownerUid = record->ownerUid.value_or(geteuid());
    system->startTime = record->startTime;
    auto runtimeId = parseGuid(record->runtimeId);
    system->runtimeId = runtimeId ? *runtimeId : newGuid();
    systems_[system->id] = system;
    auto vm = isContainer ? VmSupervisor::supervise(loop_, vmCallbacks(system), options_.timeouts, system->id,
                                                    [&](vm::VmCallbacks callbacks) {
                                                        return containers_.adopt(containerIdentity(*system), *init,
                                                                                 std::move(callbacks));
                                                    })
                          : VmSupervisor::adopt(loop_, launcher_, pid, SystemStore::monitorPath(directory),
                                                vmCallbacks(system), options_.timeouts, system->id);
    if (!vm) {
        systems_.erase(system->id);
        return discard("cannot re-attach: " + vm.error().message);
    }
    system->vm = std::move(*vm);
    openGuestChannel(system);  // the agent's port is still QEMU's: the agent says hello again
    HC_LOG(Info, "hcsd", "re-adopting compute system \"" + system->id + "\" (QEMU pid " + std::to_string(pid) + ")");
}

void Service::finishAdoption(const SystemPtr& system)
{
    // The real state comes from QEMU, not from the record (it may have changed while hcsd was away).
    system->vm->execute("query-status", json::object(), [this, system](Result<json> r) {
        if (system->state() != SystemState::Adopting) return;  // it exited meanwhile
        if (!r) {
            HC_LOG(Warn, "hcsd", "cannot query re-adopted \"" + system->id + "\": " + r.error().message);
            system->vm->kill();  // the exit path reports and cleans up
            return;
        }
        system->setState(stateFromQemuStatus(r->value("status", std::string()), system->startTime != 0), "re-adopted");
        persist(*system);
        answerWaitingEnumerations();
        // Every handle died with the previous hcsd (its clients saw ServiceDisconnect), so a system that
        // lives only as long as its handles has outlived them: terminate it rather than leak the VM.
        if (system->openHandles == 0 && system->config.shouldTerminateOnLastHandleClosed) {
            HC_LOG(Info, "hcsd", "\"" + system->id + "\" had ShouldTerminateOnLastHandleClosed: terminating it");
            beginTerminate(system, schema::ExitInitiator::Client);
        }
        loop_.post([this, system] { pump(system); });
    });
}

void Service::answerWaitingEnumerations()
{
    for (const auto& [id, system] : systems_) {
        if (system->state() == SystemState::Adopting) return;
    }
    auto waiting = std::move(waitingEnumerations_);
    waitingEnumerations_.clear();
    for (const auto& w : waiting)
        enumerate(w.session, w.requestId, w.query);
}

}  // namespace hc::hcs::service
