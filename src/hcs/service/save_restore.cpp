// Save, restore and crash (docs/hcsd.md, "Save and restore" and "Crash").
//
// Save writes QEMU's migration stream into the file the caller names: hcsd opens it with the caller's
// rights (vm/state_files.h: never through a symbolic link, never anything but a regular file), hands
// QEMU the descriptor (QMP getfd) and migrates into it ("migrate" to fd:). QEMU never opens a path
// itself, and 7.2 has no file: URI anyway. A Create with RestoreState starts QEMU with -incoming defer
// and loads the file the same way (migrate-incoming); the system is Created once the state is in,
// paused where it was saved, and Start resumes the guest. Each migration's end is QEMU's MIGRATION
// event (capability "events"), bounded by ServiceOptions::migrationTimeout. A Save answers S_OK only
// once its file is flushed to disk (fsync on a thread of its own, base/off_loop.h), so a saved state
// survives a host crash.
//
// Crash injects an NMI (QMP inject-nmi): a Linux guest booted with unknown_nmi_panic panics on it, as
// Windows with NMICrashDump bugchecks on Hyper-V's crash NMI. With Devices.GuestCrashReporting the
// guest's pvpanic device tells QEMU (GUEST_PANICKED): the handles get SystemCrashInitiated, then
// SystemCrashReport and SystemExited (UnexpectedExit). A guest that ignores the NMI is killed after
// ServiceOptions::crashTimeout; its exit is UnexpectedExit too, without a crash report.
#include <unistd.h>

#include <cstdint>
#include <utility>

#include "base/guid.h"
#include "base/hresult.h"
#include "base/off_loop.h"
#include "base/log.h"
#include "hcs/schema/save_options.h"
#include "hcs/service/file_identity.h"
#include "hcs/service/service.h"
#include "hcs/vm/state_files.h"

namespace hc::hcs::service {

using nlohmann::json;

namespace {

constexpr const char* kSaveFdName = "hcs-save";
constexpr const char* kRestoreFdName = "hcs-restore";

json migrationEvents()
{
    return {{"capabilities", json::array({{{"capability", "events"}, {"state", true}}})}};
}

// The stream goes to a local file: QEMU's default cap (128 MiB/s, meant for networks) would only slow it.
json unlimitedBandwidth()
{
    return {{"max-bandwidth", int64_t{1} << 40}};
}

}  // namespace

void Service::sendSystemEvent(const ComputeSystem& system, const char* event, const json& data)
{
    sessions_.forEachHandleOf(&system, [this, event, &data](uint64_t session, uint64_t handle) {
        sessions_.send(session, protocol::encodeEvent(event, handle, data));
    });
}

// ------------------------------------------------------------------------------------- migration

void Service::awaitMigration(const SystemPtr& system, std::function<void(Status)> onDone)
{
    MigrationWait wait;
    wait.onDone = std::move(onDone);
    wait.timer = loop_.addTimer(options_.migrationTimeout, [this, system] {
        if (!system->migration) return;
        system->migration->timer = 0;
        if (system->vm) system->vm->execute("migrate_cancel", json::object(), [](Result<json>) {});
        endMigration(system,
                     makeError(HCS_E_OPERATION_TIMEOUT, "QEMU did not finish the state file within " +
                                                            std::to_string(options_.migrationTimeout.count()) + " ms"));
    });
    system->migration = std::move(wait);
}

void Service::endMigration(const SystemPtr& system, Status status)
{
    if (!system->migration) return;
    MigrationWait wait = std::move(*system->migration);
    system->migration.reset();
    if (wait.timer) loop_.cancelTimer(wait.timer);
    wait.onDone(std::move(status));
}

// ------------------------------------------------------------------------------------------ save

void Service::runSave(const SystemPtr& system, const QueuedCall& call)
{
    auto fail = [&](const Error& e) { replyError(call.session, call.requestId, e); };
    auto next = checkCall(system->state(), call.method);
    if (!next) return fail(next.error());
    if (system->config.container) {
        return fail(makeError(E_NOTIMPL, "Save: a process-isolated container has no machine state to save"));
    }
    auto options = schema::parseSaveOptions(call.document);
    if (!options) return fail(options.error());
    if (system->savedInRun == system->runs) {
        return fail(makeError(HCS_E_INVALID_STATE,
                              "Save: the compute system was saved and has not run since; "
                              "Resume it before saving again (QEMU migrates a VM once per run)"));
    }
    std::string field = "SaveOptions.SaveStateFilePath";
    std::string path = options->saveStateFilePath;
    if (path.empty()) {
        field = "VirtualMachine.GuestState.RuntimeStateFilePath";
        path = system->config.virtualMachine.guestState.runtimeStateFilePath;
    }
    if (path.empty()) {
        return fail(makeError(E_INVALIDARG,
                              "SaveOptions.SaveStateFilePath: required (the compute system's "
                              "GuestState names no RuntimeStateFilePath)"));
    }
    auto file = [&]() -> Result<UniqueFd> {
        FileIdentity asCaller(sessions_.uid(call.session));  // written with the caller's rights
        if (!asCaller.status()) return asCaller.status().error();
        return vm::openSaveFileForWriting(path);
    }();
    if (!file) return fail(makeError(file.error().hr, field + ": " + file.error().message));

    const bool asTemplate = options->type == schema::SaveType::AsTemplate;
    system->inFlight = InFlightCall{call, 0};
    // Runs once; a cancelled Save (inFlight taken by cancel()) has been answered already.
    auto finish = [this, system, call, path, asTemplate](Status st) {
        const bool current = system->inFlight && system->inFlight->call.session == call.session &&
                             system->inFlight->call.requestId == call.requestId;
        if (!current) return;
        if (st) {
            system->savedStatePath = path;
            system->savedInRun = system->runs;
            if (asTemplate) system->setState(SystemState::SavedAsTemplate, "saved as a template");
            persist(*system);
            HC_LOG(Info, "hcsd", "compute system \"" + system->id + "\" saved to " + path);
            reply(call.session, call.requestId, json::object());
        } else {
            HRESULT hr = st.hr() == HCS_E_OPERATION_TIMEOUT ? HCS_E_OPERATION_TIMEOUT : st.hr();
            replyError(call.session, call.requestId, makeError(hr, "Save failed: " + st.error().message));
        }
        finishInFlight(system);
    };
    auto track = [system](uint64_t command) {
        if (system->inFlight) system->inFlight->command = command;
    };
    auto descriptor = std::make_shared<UniqueFd>(std::move(*file));
    track(system->vm->execute("migrate-set-capabilities", migrationEvents(), [=, this](Result<json> r) {
        if (!r) return finish(r.error());
        track(system->vm->execute("migrate-set-parameters", unlimitedBandwidth(), [=, this](Result<json> r) {
            if (!r) return finish(r.error());
            track(system->vm->executeWithDescriptor(
                "getfd", {{"fdname", kSaveFdName}}, descriptor->get(), [=, this](Result<json> r) {
                    if (!r) return finish(r.error());
                    // A Save that succeeded survives a host crash: the file is flushed (off the loop, it
                    // takes ~100 ms for a 256 MiB guest) before the record names it and the caller hears.
                    awaitMigration(system, [this, descriptor, path, finish](Status st) {
                        if (!st) return finish(st);
                        runOffLoop(
                            loop_,
                            [descriptor, path]() -> Status {
                                if (fsync(descriptor->get()) != 0) return lastErrnoError("cannot flush " + path);
                                return {};
                            },
                            finish);
                    });
                    track(system->vm->execute("migrate", {{"uri", std::string("fd:") + kSaveFdName}},
                                              [this, system](Result<json> r) {
                                                  if (!r) endMigration(system, r.error());
                                              }));
                }));
        }));
    }));
}

// --------------------------------------------------------------------------------------- restore

Status Service::openRestoreFile(ComputeSystem& system)
{
    const auto& restore = system.config.virtualMachine.restoreState;
    if (!restore) return {};
    std::string field = "VirtualMachine.RestoreState.SaveStateFilePath";
    std::string path = restore->saveStateFilePath;
    if (!restore->templateSystemId.empty()) {
        field = "VirtualMachine.RestoreState.TemplateSystemId";
        auto it = systems_.find(restore->templateSystemId);
        if (it == systems_.end() || it->second->state() != SystemState::SavedAsTemplate) {
            return makeError(HCS_E_SYSTEM_NOT_FOUND,
                             field + ": no compute system \"" + restore->templateSystemId + "\" is SavedAsTemplate");
        }
        path = it->second->savedStatePath;
    }
    auto file = vm::openSaveFileForReading(path);
    if (!file) return makeError(file.error().hr, field + ": " + file.error().message);
    system.restoreFile = std::move(*file);
    return {};
}

void Service::beginRestore(const SystemPtr& system)
{
    auto fail = [this, system](const Error& e) {
        HC_LOG(Warn, "hcsd", "restoring \"" + system->id + "\" failed: " + e.message);
        if (system->failureReason.empty()) system->failureReason = "its saved state could not be loaded: " + e.message;
        if (system->vm) system->vm->kill();  // the exit path answers the Create
    };
    system->vm->execute("migrate-set-capabilities", migrationEvents(), [this, system, fail](Result<json> r) {
        if (!r) return fail(r.error());
        system->vm->executeWithDescriptor(
            "getfd", {{"fdname", kRestoreFdName}}, system->restoreFile.get(), [this, system, fail](Result<json> r) {
                if (!r) return fail(r.error());
                awaitMigration(system, [this, system, fail](Status st) {
                    if (!st) return fail(st.error());
                    if (system->state() == SystemState::Creating) finishCreate(system);
                });
                system->vm->execute("migrate-incoming", {{"uri", std::string("fd:") + kRestoreFdName}},
                                    [this, system](Result<json> r) {
                                        if (!r) endMigration(system, r.error());
                                    });
            });
        system->restoreFile.reset();
    });
}

// ----------------------------------------------------------------------------------------- crash

void Service::runCrash(const SystemPtr& system, const QueuedCall& call)
{
    auto next = checkCall(system->state(), call.method);
    if (!next) return replyError(call.session, call.requestId, next.error());
    if (Status st = schema::parseCrashOptions(call.document); !st) {
        return replyError(call.session, call.requestId, st.error());
    }
    if (system->config.container) {
        return replyError(call.session, call.requestId,
                          makeError(E_NOTIMPL,
                                    "Crash: a process-isolated container has no guest kernel to crash "
                                    "(Terminate it)"));
    }
    if (system->stopRequest == StopRequest::None) system->stopRequest = StopRequest::Crash;
    replyOnExit(system, call);
    if (!system->crashTimer) {
        system->crashTimer = loop_.addTimer(options_.crashTimeout, [this, system] {
            system->crashTimer = 0;
            if (!system->vm) return;
            HC_LOG(Warn, "hcsd",
                   "the guest of \"" + system->id +
                       "\" did not crash on the NMI (is it booted with "
                       "unknown_nmi_panic?): killing it");
            system->vm->kill();
        });
    }
    system->vm->execute("inject-nmi", json::object(), [this, system, call](Result<json> r) {
        if (r) return;
        if (system->crashTimer) loop_.cancelTimer(std::exchange(system->crashTimer, 0));
        if (system->stopRequest == StopRequest::Crash) system->stopRequest = StopRequest::None;
        if (system->exitWaiters.take(call.session, call.requestId)) {
            replyError(call.session, call.requestId,
                       makeError(HCS_E_UNEXPECTED_EXIT, "Crash failed: " + r.error().message));
        }
    });
}

// GUEST_PANICKED {"action": "pause"|"poweroff"|"run", "info": {...}}: Windows' CrashReport, with the
// parameters the guest reported when there are any (Hyper-V crash MSRs: "info" of type "hyper-v").
void Service::onGuestPanicked(const SystemPtr& system, const json& data)
{
    if (system->crashReport) return;  // one report per crash
    json report{{"SystemId", system->id}, {"ActivityId", formatGuid(newGuid())}, {"Status", 0}};
    const json info = data.value("info", json::object());
    if (info.value("type", std::string()) == "hyper-v") {
        json parameters = json::array();
        for (const char* arg : {"arg1", "arg2", "arg3", "arg4", "arg5"}) {
            parameters.push_back(static_cast<int64_t>(info.value(arg, uint64_t{0})));
        }
        report["CrashParameters"] = parameters;
    }
    system->crashReport = report;
    HC_LOG(Info, "hcsd", "the guest of \"" + system->id + "\" panicked: " + data.dump());
    sendSystemEvent(*system, "SystemCrashInitiated", report);
    // QEMU powers off after a panic by default; under any other panic action the VM is stopped here.
    if (data.value("action", std::string()) != "poweroff" && system->vm) system->vm->kill();
}

}  // namespace hc::hcs::service
