// HcsModifyComputeSystem and the Memory property. A ModifySettingRequest (schema/modify_request.h) is
// applied to the system's configuration document first, and the result read again like a Create
// document, so Settings are checked exactly as at Create and nothing reaches QEMU unchecked. Then the
// change's QMP steps (vm/hotplug.h) run one after another while the call is in flight on the system's
// queue; a step that fails undoes the ones before it. Only when QEMU has carried out every step does
// the system take the new document (kept in memory and in config.json, so properties and a restarted
// hcsd see every change). docs/hcsd.md, "Modify", lists the paths and what each does.
#include <algorithm>
#include <cstdlib>

#include "base/hresult.h"
#include "base/log.h"
#include "hcs/schema/json_limits.h"
#include "hcs/schema/modify_request.h"
#include "hcs/service/file_identity.h"
#include "hcs/service/service.h"
#include "hcs/vm/host_files.h"

namespace hc::hcs::service {

using nlohmann::json;
using schema::ModifyRequestType;
using schema::ModifyResource;

namespace {

// How long a removal waits for the guest to release the device (ACPI eject of a PCI adapter, the SCSI
// hot-unplug event): generous, because guests run under TCG on shared machines.
constexpr std::chrono::milliseconds kDeviceRemovalTimeout{30000};
constexpr uint64_t kMiB = 1024 * 1024;

std::string pathOf(const schema::ModifyRequest& r)
{
    return "ResourcePath \"" + r.resourcePath + "\"";
}

// A balloon statistic, or nullopt when the guest has not reported it (QEMU says UINT64_MAX).
std::optional<uint64_t> guestStat(const Result<json>& stats, const char* name)
{
    if (!stats || !stats->is_object()) return std::nullopt;
    auto s = stats->find("stats");
    if (s == stats->end() || !s->is_object()) return std::nullopt;
    auto v = s->find(name);
    if (v == s->end() || !v->is_number_unsigned() || v->get<uint64_t>() == UINT64_MAX) return std::nullopt;
    return v->get<uint64_t>();
}

// Windows' MemoryInformationForVm (sizes in MB), with what the balloon says under hostcompute's own name.
json memoryInformation(const schema::VirtualMachineConfig& vm, const Result<json>& balloon, const Result<json>& stats)
{
    const uint64_t target = vm.memorySizeInMB;
    std::optional<uint64_t> actual;
    if (balloon && balloon->is_object() && balloon->contains("actual") && (*balloon)["actual"].is_number_unsigned()) {
        actual = (*balloon)["actual"].get<uint64_t>();
    }
    json memory{{"AssignedMemory", actual ? *actual / kMiB : target},
                {"ReservedMemory", 0},
                {"BalancingEnabled", false},
                {"SlpActive", false},
                {"DmOperationInProgress", actual && *actual / kMiB != target}};
    auto available = guestStat(stats, "stat-available-memory");
    if (available) memory["AvailableMemory"] = static_cast<int32_t>(std::min<uint64_t>(*available / kMiB, INT32_MAX));
    json balloonInfo{{"TargetSizeInMB", target}};
    if (actual) balloonInfo["ActualBytes"] = *actual;
    json guest = json::object();
    for (auto [field, stat] : {std::pair{"TotalBytes", "stat-total-memory"},
                               {"FreeBytes", "stat-free-memory"},
                               {"AvailableBytes", "stat-available-memory"}}) {
        if (auto v = guestStat(stats, stat)) guest[field] = *v;
    }
    if (!guest.empty()) balloonInfo["GuestStats"] = guest;
    return json{{"VirtualNodeCount", 1}, {"VirtualMachineMemory", memory}, {"Balloon", balloonInfo}};
}

}  // namespace

bool Service::stillInFlight(const ComputeSystem& system, const QueuedCall& call) const
{
    return system.inFlight && !system.inFlight->call.internal && system.inFlight->call.session == call.session &&
           system.inFlight->call.requestId == call.requestId;
}

void Service::runModify(const SystemPtr& system, const QueuedCall& call)
{
    auto fail = [&](const Error& e) { replyError(call.session, call.requestId, e); };
    if (auto next = checkCall(system->state(), call.method); !next) return fail(next.error());
    if (system->config.container) {
        return fail(
            makeError(E_NOTIMPL, "ModifyComputeSystem of a container is not supported (virtual machines only)"));
    }
    auto request = schema::parseModifySettingRequest(call.document);
    if (!request) return fail(request.error());
    const std::string where = pathOf(*request);
    // Unplugging a PCI device (an adapter, a share's virtio-9p device) is an ACPI eject the guest carries
    // out; a guest that never ran would leave the call waiting for nothing.
    const bool pciRemoval = request->type == ModifyRequestType::Remove &&
                            (request->resource == ModifyResource::NetworkAdapter ||
                             request->resource == ModifyResource::Plan9Shares);
    if (pciRemoval && system->state() == SystemState::Created) {
        return fail(makeError(HCS_E_INVALID_STATE, where + ": removing a PCI device needs the guest to release it "
                                                           "(ACPI eject); Start the compute system first"));
    }
    auto current =
        schema::parseJson(system->configText, schema::kDocumentLimits, "the configuration", HCS_E_INVALID_JSON);
    if (!current) return fail(current.error());
    auto document = schema::applyModifyRequest(*current, *request);
    if (!document) return fail(document.error());
    auto updated = schema::parseComputeSystem(document->dump());
    if (!updated) return fail(makeError(updated.error().hr, where + " Settings: " + updated.error().message));

    system->inFlight = InFlightCall{call, 0};
    auto finish = [this, system, call, doc = std::move(*document), config = *updated](Status outcome) mutable {
        applyModified(system, call, std::move(doc), std::move(config), outcome);
    };
    const auto& vmConfig = updated->virtualMachine;
    switch (request->resource) {
        case ModifyResource::ScsiAttachment: {
            const auto& controllers =
                request->type == ModifyRequestType::Add ? vmConfig.scsi : system->config.virtualMachine.scsi;
            size_t index = *vm::scsiControllerIndex(updated->virtualMachine, request->controller);
            if (request->type == ModifyRequestType::Remove) {
                return runSteps(system, call, vm::scsiDetachSteps(index, request->lun), 0, std::move(finish));
            }
            const auto& disk = controllers.at(request->controller).attachments.at(request->lun);
            // Opened with the owner's rights, as at Create.
            FileIdentity asOwner(system->ownerUid);
            if (!asOwner.status()) {
                system->inFlight.reset();
                return fail(asOwner.status().error());
            }
            auto facts = vm::inspectDisk(disk);
            if (!facts) {
                system->inFlight.reset();
                return fail(makeError(facts.error().hr, where + " Settings.Path: " + facts.error().message));
            }
            return runSteps(system, call, vm::scsiAttachSteps(index, request->lun, disk, *facts), 0, std::move(finish));
        }
        case ModifyResource::NetworkAdapter: {
            if (request->type == ModifyRequestType::Remove) {
                return runSteps(system, call, vm::networkRemoveSteps(request->adapter), 0, std::move(finish));
            }
            const auto adapter = vmConfig.networkAdapters.at(request->adapter);
            const std::string name = request->adapter;
            return findFreeRootPort(
                system, call,
                [this, system, call, name, adapter, finish = std::move(finish),
                 where](Result<std::string> port) mutable {
                    if (!port) return finish(makeError(port.error().hr, where + ": " + port.error().message));
                    runSteps(system, call, vm::networkAddSteps(name, adapter, *port), 0, std::move(finish));
                });
        }
        case ModifyResource::MemorySize: {
            // A balloon gives memory back and takes it again, up to what the VM booted with.
            const uint64_t sizeMB = request->memoryMB;
            uint64_t command = system->vm->execute(
                "query-memory-size-summary", json::object(),
                [this, system, call, sizeMB, where, finish = std::move(finish)](Result<json> r) mutable {
                    if (!stillInFlight(*system, call)) return;
                    if (!r) return finish(r.error());
                    const uint64_t bootMB = r->value("base-memory", uint64_t{0}) / kMiB;
                    if (sizeMB > bootMB) {
                        return finish(makeError(E_INVALIDARG, where + " Settings: " + std::to_string(sizeMB) +
                                                                  " MB is more than the " + std::to_string(bootMB) +
                                                                  " MB the VM was created with (a balloon can only "
                                                                  "give back memory the VM has)"));
                    }
                    runSteps(system, call, {{"balloon", json{{"value", sizeMB * kMiB}}, "", std::nullopt}}, 0,
                             std::move(finish));
                });
            if (stillInFlight(*system, call)) system->inFlight->command = command;
            return;
        }
        case ModifyResource::Plan9Shares: {
            // The share that went from the document (applyModifyRequest found exactly one).
            const auto& before = system->config.virtualMachine.plan9Shares;
            const auto& after = vmConfig.plan9Shares;
            for (const auto& share : before) {
                auto kept = std::find_if(after.begin(), after.end(),
                                         [&](const schema::Plan9Share& s) { return s.mountTag() == share.mountTag(); });
                if (kept == after.end()) {
                    return runSteps(system, call, vm::plan9RemoveSteps(share.mountTag()), 0, std::move(finish));
                }
            }
            break;
        }
    }
    system->inFlight.reset();
    fail(makeError(E_NOTIMPL, where + ": not supported"));
}

void Service::applyModified(const SystemPtr& system, const QueuedCall& call, json document,
                            schema::ComputeSystemConfig config, Status outcome)
{
    if (!stillInFlight(*system, call)) return;
    if (!outcome) {
        replyError(call.session, call.requestId, outcome.error());
        return finishInFlight(system);
    }
    system->configText = document.dump();
    system->config = std::move(config);
    if (Status st = store_.writeConfig(system->directory, system->configText); !st) {
        HC_LOG(Warn, "hcsd",
               "cannot record the modified configuration of \"" + system->id + "\": " + st.error().message);
    }
    reply(call.session, call.requestId, json::object());
    finishInFlight(system);
}

void Service::runSteps(const SystemPtr& system, const QueuedCall& call, std::vector<vm::QmpStep> steps, size_t next,
                       std::function<void(Status)> done)
{
    if (next == steps.size()) return done({});
    const vm::QmpStep step = steps[next];
    auto shared = std::make_shared<std::vector<vm::QmpStep>>(std::move(steps));
    auto doneShared = std::make_shared<std::function<void(Status)>>(std::move(done));
    auto failAt = [this, system, shared, doneShared, next, step](const Error& e) {
        undoSteps(system, *shared, next);
        (*doneShared)(makeError(e.hr, "QEMU's " + step.command + " failed: " + e.message));
    };
    if (!step.awaitDeleted.empty()) {
        // Registered before device_del is sent: a SCSI disk's event comes before the command's reply.
        awaitDeviceDeleted(system, step.awaitDeleted, [this, system, call, shared, doneShared, next](Status st) {
            if (!stillInFlight(*system, call)) return;
            if (!st) return (*doneShared)(st);
            runSteps(system, call, std::move(*shared), next + 1, std::move(*doneShared));
        });
    }
    uint64_t command = system->vm->execute(
        step.command, step.arguments, [this, system, call, shared, doneShared, next, step, failAt](Result<json> r) {
            if (!stillInFlight(*system, call)) return;
            if (!r) {
                if (!step.awaitDeleted.empty()) {
                    auto waiting = system->deviceRemovals.find(step.awaitDeleted);
                    if (waiting != system->deviceRemovals.end()) {
                        if (waiting->second.timer) loop_.cancelTimer(waiting->second.timer);
                        system->deviceRemovals.erase(waiting);
                    }
                }
                return failAt(r.error());
            }
            if (step.awaitDeleted.empty()) runSteps(system, call, std::move(*shared), next + 1, std::move(*doneShared));
        });
    if (stillInFlight(*system, call)) system->inFlight->command = command;
}

void Service::undoSteps(const SystemPtr& system, std::vector<vm::QmpStep> steps, size_t count)
{
    if (!system->vm || system->vm->exited()) return;
    for (size_t i = count; i-- > 0;) {
        if (!steps[i].undo) continue;
        system->vm->execute(steps[i].undo->first, steps[i].undo->second, [system, i, steps](Result<json> r) {
            if (!r) {
                HC_LOG(Warn, "hcsd",
                       "cannot undo " + steps[i].command + " on \"" + system->id + "\": " + r.error().message);
            }
        });
    }
}

void Service::awaitDeviceDeleted(const SystemPtr& system, const std::string& device, std::function<void(Status)> done)
{
    ComputeSystem::DeviceRemoval removal;
    removal.done = std::move(done);
    removal.timer = loop_.addTimer(kDeviceRemovalTimeout, [system, device] {
        auto it = system->deviceRemovals.find(device);
        if (it == system->deviceRemovals.end()) return;
        auto handler = std::move(it->second.done);
        system->deviceRemovals.erase(it);
        handler(makeError(HCS_E_OPERATION_TIMEOUT,
                          "the guest did not release device " + device + " within " +
                              std::to_string(kDeviceRemovalTimeout.count() / 1000) +
                              " s; it stays attached (QEMU removes it if the guest releases it later)"));
    });
    system->deviceRemovals[device] = std::move(removal);
}

void Service::failDeviceRemovals(const SystemPtr& system, const Error& error)
{
    auto removals = std::move(system->deviceRemovals);
    system->deviceRemovals.clear();
    for (auto& [device, removal] : removals) {
        if (removal.timer) loop_.cancelTimer(removal.timer);
        removal.done(error);
    }
}

void Service::findFreeRootPort(const SystemPtr& system, const QueuedCall& call,
                               std::function<void(Result<std::string>)> done)
{
    uint64_t command = system->vm->execute(
        "qom-list", json{{"path", "/machine/peripheral"}},
        [this, system, call, done = std::move(done)](Result<json> r) mutable {
            if (!stillInFlight(*system, call)) return;
            if (!r || !r->is_array()) return done(r ? makeError(E_FAIL, "unexpected qom-list reply") : r.error());
            std::vector<std::pair<size_t, std::string>> ports;
            for (const auto& child : *r) {
                const std::string name = child.value("name", std::string());
                if (name.rfind("hcs-rp", 0) != 0 || child.value("type", std::string()) != "child<pcie-root-port>") {
                    continue;
                }
                ports.emplace_back(std::strtoul(name.c_str() + 6, nullptr, 10), name);
            }
            std::sort(ports.begin(), ports.end());
            std::vector<std::string> names;
            for (auto& [index, name] : ports)
                names.push_back(name);
            checkRootPorts(system, call, std::move(names), 0, std::move(done));
        });
    if (stillInFlight(*system, call)) system->inFlight->command = command;
}

void Service::checkRootPorts(const SystemPtr& system, const QueuedCall& call, std::vector<std::string> ports,
                             size_t next, std::function<void(Result<std::string>)> done)
{
    if (next == ports.size()) {
        return done(makeError(HRESULT_FROM_WIN32(ERROR_BUSY),
                              "every PCIe root port for network adapters is in use (a VM has one per adapter "
                              "of its Create document and " +
                                  std::to_string(vm::kSpareRootPorts) + " more)"));
    }
    const std::string port = ports[next];
    uint64_t command = system->vm->execute(
        "qom-list", json{{"path", "/machine/peripheral/" + port + "/" + port}},
        [this, system, call, ports = std::move(ports), next, done = std::move(done)](Result<json> r) mutable {
            if (!stillInFlight(*system, call)) return;
            if (!r || !r->is_array()) return done(r ? makeError(E_FAIL, "unexpected qom-list reply") : r.error());
            for (const auto& property : *r) {
                if (property.value("name", std::string()).rfind("child[", 0) == 0) {
                    return checkRootPorts(system, call, std::move(ports), next + 1, std::move(done));
                }
            }
            done(ports[next]);
        });
    if (stillInFlight(*system, call)) system->inFlight->command = command;
}

void Service::runPropertiesWithMemory(const SystemPtr& system, const QueuedCall& call,
                                      const schema::PropertyQuery& query)
{
    if (system->config.container) {
        return replyError(call.session, call.requestId,
                          makeError(E_NOTIMPL,
                                    "PropertyTypes: \"Memory\" is not supported for containers (virtual "
                                    "machines only; see Statistics)"));
    }
    if (!system->vm || !isActive(system->state())) {
        json p = properties(*system, query);
        p["Memory"] =
            memoryInformation(system->config.virtualMachine, makeError(E_FAIL, "no VM"), makeError(E_FAIL, "no VM"));
        return reply(call.session, call.requestId, p);
    }
    system->inFlight = InFlightCall{call, 0};
    uint64_t command =
        system->vm->execute("query-balloon", json::object(), [this, system, call, query](Result<json> balloon) {
            if (!stillInFlight(*system, call)) return;
            uint64_t next = system->vm->execute(
                "qom-get",
                json{{"path", std::string("/machine/peripheral/") + vm::kBalloonId}, {"property", "guest-stats"}},
                [this, system, call, query, balloon](Result<json> stats) {
                    if (!stillInFlight(*system, call)) return;
                    json p = properties(*system, query);
                    p["Memory"] = memoryInformation(system->config.virtualMachine, balloon, stats);
                    reply(call.session, call.requestId, p);
                    finishInFlight(system);
                });
            if (stillInFlight(*system, call)) system->inFlight->command = next;
        });
    if (stillInFlight(*system, call)) system->inFlight->command = command;
}

}  // namespace hc::hcs::service
