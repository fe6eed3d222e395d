#include "hcs/service/service.h"

#include <fcntl.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <set>

#include "base/filetime.h"
#include "base/hresult.h"
#include "base/log.h"
#include "hcs/ipc/stale_socket.h"
#include "hcs/schema/json_limits.h"
#include "hcs/service/file_acl.h"
#include "hcs/service/file_identity.h"
#include "hcs/vm/host_files.h"
#include "hcs/vm/qemu_command.h"
#include "hcs/vm/qemu_process.h"
#include "hcs/vm/state_files.h"

namespace hc::hcs::service {

using nlohmann::json;
using protocol::Method;
namespace fs = std::filesystem;

const char* const kServiceVersion = "0.1.0";

namespace {

constexpr size_t kMaxIdBytes = 256;

}  // namespace

// "2026-11-22T03:30:00.1234567Z" (what Windows puts in Statistics timestamps).
std::string rfc3339(int64_t filetime)
{
    int64_t unix100ns = filetime - kFiletimeUnixEpoch;
    time_t seconds = static_cast<time_t>(unix100ns / 10000000);
    tm utc{};
    gmtime_r(&seconds, &utc);
    char text[64];
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%07lldZ", utc.tm_year + 1900, utc.tm_mon + 1,
             utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<long long>(unix100ns % 10000000));
    return text;
}

namespace {

Status validateSystemId(const std::string& id)
{
    if (id.empty()) return makeError(E_INVALIDARG, "the compute system id is empty");
    if (id.size() > kMaxIdBytes) return makeError(E_INVALIDARG, "the compute system id is longer than 256 bytes");
    for (unsigned char c : id) {
        if (c < 0x20 || c == 0x7f) return makeError(E_INVALIDARG, "the compute system id contains a control character");
    }
    return {};
}

bool contains(const std::vector<std::string>& list, const std::string& value)
{
    for (const auto& item : list) {
        if (item == value) return true;
    }
    return false;
}

Status checkKernelFiles(const schema::ComputeSystemConfig& config)
{
    const auto& lkd = config.virtualMachine.linuxKernelDirect;
    if (!lkd) return {};
    for (const auto& [field, path] :
         {std::pair{"KernelFilePath", lkd->kernelFilePath}, {"InitRdPath", lkd->initRdPath}}) {
        // AT_EACCESS: judged with the file-system identity (the owner's, in the system instance).
        if (!path.empty() && faccessat(AT_FDCWD, path.c_str(), R_OK, AT_EACCESS) != 0) {
            return makeError(
                HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND),
                std::string("VirtualMachine.Chipset.LinuxKernelDirect.") + field + ": cannot read \"" + path + "\"");
        }
    }
    return {};
}

// A Unix socket the document asks for: a ComPort or a VirtioSerial port.
struct PipePort {
    std::string field;  // the NamedPipe's path in the document
    std::string namedPipe;
    uint32_t port;
    bool comPort;
};

std::vector<PipePort> pipePorts(const schema::VirtualMachineConfig& vm)
{
    std::vector<PipePort> ports;
    for (const auto& [port, com] : vm.comPorts) {
        ports.push_back(
            {"VirtualMachine.Devices.ComPorts." + std::to_string(port) + ".NamedPipe", com.namedPipe, port, true});
    }
    for (const auto& [port, serial] : vm.virtioSerialPorts) {
        ports.push_back({"VirtualMachine.Devices.VirtioSerial.Ports." + std::to_string(port) + ".NamedPipe",
                         serial.namedPipe, port, false});
    }
    return ports;
}

}  // namespace

Status Service::claimPipes(const ComputeSystem& system, vm::QemuLaunchSettings& settings)
{
    std::set<std::string> pipesInUse;
    for (const auto& [id, other] : systems_) {
        for (const auto& pipe : pipePorts(other->config.virtualMachine)) {
            if (auto p = vm::namedPipeSocketPath(pipe.namedPipe, store_.pipeDirectory())) pipesInUse.insert(*p);
        }
    }
    for (const auto& pipe : pipePorts(system.config.virtualMachine)) {
        auto path = vm::namedPipeSocketPath(pipe.namedPipe, store_.pipeDirectory());
        if (!path) return makeError(path.error().hr, pipe.field + ": " + path.error().message);
        // hcsd and QEMU create the socket with hcsd's rights: for another user (the system instance)
        // only inside hcsd's own pipe directory, never where that user points.
        if (system.ownerUid != 0 && system.ownerUid != geteuid() && path->rfind(store_.pipeDirectory() + "/", 0) != 0) {
            return makeError(E_ACCESSDENIED, pipe.field + ": \"" + pipe.namedPipe +
                                                 "\" is outside hcsd's pipe directory; in the system instance a "
                                                 "port's NamedPipe must be a plain name");
        }
        if (!pipesInUse.insert(*path).second) {
            return makeError(HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS),
                             pipe.field + ": \"" + pipe.namedPipe + "\" is used by another port or compute system");
        }
        // Only a stale socket of this user is replaced: a file, link or live socket refuses the Create.
        if (Status st = claimSocketPath(*path); !st) return makeError(st.hr(), pipe.field + ": " + st.error().message);
        (pipe.comPort ? settings.comPortSockets : settings.virtioSerialSockets)[pipe.port] = *path;
    }
    return {};
}

Status Service::checkHostFiles(const schema::VirtualMachineConfig& vm, vm::QemuLaunchSettings& settings)
{
    if (vm.hvSocket) {
        return makeError(E_NOTIMPL, vm::hostHasVhostVsock()
                                        ? "VirtualMachine.Devices.HvSocket: Hyper-V sockets (vhost-vsock) are not "
                                          "implemented yet"
                                        : "VirtualMachine.Devices.HvSocket: Hyper-V sockets need vhost-vsock, and "
                                          "this host has no /dev/vhost-vsock (modprobe vhost_vsock)");
    }
    for (const auto& [name, controller] : vm.scsi) {
        for (const auto& [lun, disk] : controller.attachments) {
            auto facts = vm::inspectDisk(disk);
            if (!facts) {
                return makeError(facts.error().hr, "VirtualMachine.Devices.Scsi." + name + ".Attachments." +
                                                       std::to_string(lun) + ".Path: " + facts.error().message);
            }
            settings.disks[{name, lun}] = *facts;
        }
    }
    for (size_t i = 0; i < vm.plan9Shares.size(); ++i) {
        const auto& share = vm.plan9Shares[i];
        if (Status st = vm::checkShareDirectory(share.path, share.readOnly()); !st) {
            return makeError(
                st.hr(), "VirtualMachine.Devices.Plan9.Shares[" + std::to_string(i) + "].Path: " + st.error().message);
        }
    }
    return {};
}

Service::Service(EventLoop& loop, ServiceOptions options, vm::AcceleratorChoice accelerator, vm::VmLauncher& launcher)
    : loop_(loop),
      options_(std::move(options)),
      accelerator_(std::move(accelerator)),
      launcher_(launcher),
      store_(options_.stateDirectory),
      containers_(loop, {options_.stateDirectory,
                         options_.containerInit,
                         options_.ociRuntime,
                         {options_.stateDirectory, options_.socketPath}})
{
}

Service::~Service()
{
    for (auto& [id, system] : systems_) {
        system->guest.reset();  // the agent sees its host end close; a later hcsd's channel reconnects
        if (system->agentWait) loop_.cancelTimer(system->agentWait->timer);
        if (system->state() == SystemState::Creating && system->vm) {
            // Nobody will ever get this Create's reply: the VM must not outlive it unlisted.
            HC_LOG(Info, "hcsd", "stopping: killing \"" + id + "\", whose creation had not finished");
            system->vm->kill();
            store_.removeSystemDirectory(system->directory);
        }
        system->vm.reset();  // the others keep running: a later hcsd re-adopts them
    }
}

// ---------------------------------------------------------------------------------------- replies

void Service::reply(uint64_t session, uint64_t requestId, const json& result)
{
    sessions_.send(session, protocol::encodeResult(requestId, result));
}

void Service::replyError(uint64_t session, uint64_t requestId, const Error& error)
{
    HC_LOG(Info, "hcsd",
           "request " + std::to_string(requestId) + " failed: " + hresultName(error.hr) + ": " + error.message);
    sessions_.send(session, protocol::encodeError(requestId, error.hr, error.message));
}

// --------------------------------------------------------------------------------------- sessions

uint64_t Service::openSession(Sender sender, uid_t uid)
{
    return sessions_.open(std::move(sender), uid);
}

bool Service::mayAccess(uint64_t session, const ComputeSystem& system) const
{
    uid_t uid = sessions_.uid(session);
    return uid == 0 || uid == geteuid() || uid == system.ownerUid;
}

void Service::closeSession(uint64_t session)
{
    if (!sessions_.exists(session)) return;
    auto closed = sessions_.close(session);
    for (auto& [id, system] : systems_) {
        system->exitWaiters.dropSession(session);
        system->processes.dropSession(session);
    }
    std::erase_if(waitingEnumerations_, [session](const WaitingEnumeration& w) { return w.session == session; });
    // A client that vanished closes its handles; this is what terminates a system configured with
    // ShouldTerminateOnLastHandleClosed when its creator is killed.
    for (auto& process : closed.processes)
        releaseProcessHandle(process);
    for (auto& system : closed.systems)
        releaseHandle(system);
}

SystemPtr Service::systemForHandle(uint64_t session, uint64_t handle, uint64_t requestId)
{
    auto system = sessions_.find(session, handle);
    if (!system) {
        replyError(session, requestId, system.error());
        return nullptr;
    }
    if ((*system)->state() == SystemState::Removed) {
        replyError(session, requestId,
                   makeError(HCS_E_SYSTEM_NOT_FOUND,
                             "compute system \"" + (*system)->id + "\" no longer exists (its creation failed)"));
        return nullptr;
    }
    return *system;
}

void Service::handle(uint64_t session, const protocol::Request& request)
{
    if (!sessions_.exists(session)) return;
    const uint64_t id = request.id;
    switch (request.method) {
        case Method::Hello:
            break;  // the Server negotiates it and never passes it on
        case Method::Cancel:
            return cancel(session, id, std::get<protocol::CancelParams>(request.params).requestId);
        case Method::CreateComputeSystem:
            return create(session, id, std::get<protocol::CreateParams>(request.params));
        case Method::OpenComputeSystem:
            return open(session, id, std::get<protocol::OpenParams>(request.params));
        case Method::EnumerateComputeSystems:
            return enumerate(session, id, std::get<protocol::QueryParams>(request.params).query);
        case Method::GetServiceProperties:
            return serviceProperties(session, id, std::get<protocol::QueryParams>(request.params).query);
        case Method::WaitForComputeSystemExit:
            return waitForExit(session, id, std::get<protocol::WaitExitParams>(request.params));
        case Method::CloseComputeSystem: {
            // Later requests naming the handle fail at once; the release waits its turn.
            const uint64_t handle = std::get<protocol::HandleParams>(request.params).handle;
            auto system = sessions_.beginClose(session, handle);
            if (!system) return replyError(session, id, system.error());
            return enqueue(*system, QueuedCall{session, id, handle, request.method, {}, false});
        }
        case Method::TerminateComputeSystem: {
            // Terminate pre-empts the queue: a call stuck waiting for QEMU must not hold it back.
            const auto& params = std::get<protocol::SystemCallParams>(request.params);
            SystemPtr system = systemForHandle(session, params.handle, id);
            if (!system) return;
            QueuedCall call{session, id, params.handle, request.method, params.document, false};
            if (!system->queueRuns() && system->state() != SystemState::Stopping) return enqueue(system, call);
            return runTerminate(system, call);
        }
        case Method::StartComputeSystem:
        case Method::ShutDownComputeSystem:
        case Method::CrashComputeSystem:
        case Method::PauseComputeSystem:
        case Method::ResumeComputeSystem:
        case Method::SaveComputeSystem:
        case Method::GetComputeSystemProperties:
        case Method::ModifyComputeSystem: {
            const auto& params = std::get<protocol::SystemCallParams>(request.params);
            SystemPtr system = systemForHandle(session, params.handle, id);
            if (!system) return;
            return enqueue(system, QueuedCall{session, id, params.handle, request.method, params.document, false});
        }
        case Method::CreateProcess:
            return createProcess(session, id, std::get<protocol::CreateProcessParams>(request.params));
        case Method::OpenProcess:
            return openProcess(session, id, std::get<protocol::OpenProcessParams>(request.params));
        case Method::CloseProcess:
            return closeProcess(session, id, std::get<protocol::HandleParams>(request.params).handle);
        case Method::WaitForProcessExit:
            return waitForProcessExit(session, id, std::get<protocol::WaitExitParams>(request.params));
        case Method::GrantVmAccess:
        case Method::RevokeVmAccess:
            return vmAccess(session, id, std::get<protocol::VmAccessParams>(request.params),
                            request.method == Method::GrantVmAccess);
        case Method::TerminateProcess:
        case Method::SignalProcess:
        case Method::GetProcessInfo:
        case Method::GetProcessProperties:
        case Method::ModifyProcess:
            return processCall(session, request);
    }
    replyError(session, id,
               makeError(HCS_E_UNKNOWN_MESSAGE,
                         std::string(protocol::methodName(request.method)) + " is not a call the service handles"));
}

// ------------------------------------------------------------------------- requests not queued

void Service::create(uint64_t session, uint64_t rid, const protocol::CreateParams& params)
{
    if (Status st = validateSystemId(params.id); !st) return replyError(session, rid, st.error());
    if (systems_.count(params.id)) {
        return replyError(
            session, rid,
            makeError(HCS_E_SYSTEM_ALREADY_EXISTS, "a compute system with id \"" + params.id + "\" already exists"));
    }
    auto config = schema::parseComputeSystem(params.configuration);
    if (!config) return replyError(session, rid, config.error());
    const uid_t owner = sessions_.uid(session);
    {
        FileIdentity asOwner(owner);
        if (!asOwner.status()) return replyError(session, rid, asOwner.status().error());
        if (Status st = checkKernelFiles(*config); !st) return replyError(session, rid, st.error());
    }
    // A container's root is the host's root (no user namespace yet: docs/containers.md), so only a
    // client who is root or hcsd's own user already may create one.
    if (config->container && owner != 0 && owner != geteuid()) {
        return replyError(session, rid,
                          makeError(E_ACCESSDENIED,
                                    "Container: process-isolated containers run as root on this host; "
                                    "only root or hcsd's own user may create them (uid " +
                                        std::to_string(owner) + " may not)"));
    }

    auto system =
        std::make_shared<ComputeSystem>(loop_, params.id, SystemState::Creating, options_.maxProcessesPerSystem);
    system->configText = params.configuration;
    system->config = std::move(*config);
    {
        FileIdentity asOwner(owner);  // the save file is read with the caller's rights
        if (Status st = openRestoreFile(*system); !st) return replyError(session, rid, st.error());
    }
    system->runtimeId = newGuid();
    system->createTime = filetimeNow();
    system->ownerUid = owner;
    if (Status st = sessions_.addHandle(session, params.handle, system); !st) {
        return replyError(session, rid, st.error());
    }
    auto undo = [&](const Error& error) {
        sessions_.finishClose(session, params.handle);
        if (!system->directory.empty()) store_.removeSystemDirectory(system->directory);
        replyError(session, rid, error);
    };
    auto directory = store_.createSystemDirectory(formatGuid(system->runtimeId));
    if (!directory) return undo(directory.error());
    system->directory = *directory;
    const bool isContainer = system->config.container.has_value();
    auto launch = isContainer ? Result<vm::LaunchRequest>(vm::LaunchRequest{}) : prepareLaunch(*system);
    if (!launch) return undo(launch.error());
    // Durably recorded before QEMU exists: whatever happens next, a later hcsd finds this VM.
    if (Status st = store_.writeConfig(system->directory, system->configText); !st) return undo(st.error());
    if (Status st = writeRecord(*system); !st) return undo(st.error());
    auto vm =
        isContainer
            ? VmSupervisor::supervise(loop_, vmCallbacks(system), options_.timeouts, system->id,
                                      [&](vm::VmCallbacks callbacks) {
                                          return containers_.launch(containerIdentity(*system),
                                                                    *system->config.container, std::move(callbacks));
                                      })
            : VmSupervisor::launch(loop_, launcher_, *launch, vmCallbacks(system), options_.timeouts, system->id);
    if (!vm) return undo(vm.error());
    system->vm = std::move(*vm);
    persist(*system);  // now with the pid
    systems_[system->id] = system;
    openGuestChannel(system);
    system->openHandles = 1;
    system->createReply = std::pair{session, rid};
    HC_LOG(Info, "hcsd", "creating compute system \"" + system->id + "\" in " + system->directory);
}

Result<vm::LaunchRequest> Service::prepareLaunch(const ComputeSystem& system)
{
    const auto& vmConfig = system.config.virtualMachine;
    vm::QemuLaunchSettings settings;
    settings.qemuBinary = options_.qemuBinary;
    settings.accelerator = accelerator_.accelerator;
    settings.name = system.id;
    settings.qmpListenFd = 3;
    if (Status st = claimPipes(system, settings); !st) return st.error();
    {
        FileIdentity asOwner(system.ownerUid);
        if (!asOwner.status()) return asOwner.status().error();
        if (Status st = checkHostFiles(vmConfig, settings); !st) return st.error();
        // The caller's guest state file is the UEFI variable store itself (vm/state_files.h).
        if (vmConfig.uefi && !vmConfig.guestState.guestStateFilePath.empty()) {
            if (Status st = vm::checkGuestStateFile(vmConfig.guestState.guestStateFilePath); !st) {
                return makeError(st.hr(), "VirtualMachine.GuestState.GuestStateFilePath: " + st.error().message);
            }
        }
    }
    settings.restoring = system.restoreFile.valid();
    if (vmConfig.uefi && !vmConfig.guestState.guestStateFilePath.empty()) {
        settings.ovmfCodePath = vm::kOvmfCode;
        settings.ovmfVarsPath = vmConfig.guestState.guestStateFilePath;
    } else if (vmConfig.uefi) {
        settings.ovmfCodePath = vm::kOvmfCode;
        settings.ovmfVarsPath = system.directory + "/OVMF_VARS.fd";
        std::error_code ec;
        if (access(vm::kOvmfCode, R_OK) != 0 ||
            !fs::copy_file(vm::kOvmfVarsTemplate, settings.ovmfVarsPath, fs::copy_options::overwrite_existing, ec)) {
            return makeError(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND),
                             "VirtualMachine.Chipset.Uefi: the OVMF firmware (" + std::string(vm::kOvmfCode) + ", " +
                                 vm::kOvmfVarsTemplate + ") is missing; install the ovmf package");
        }
    }
    vm::LaunchRequest request;
    request.args = vm::buildQemuCommand(vmConfig, settings);
    if (vmConfig.guestConnection) {
        if (!options_.guestChannels) {
            return makeError(E_NOTIMPL, "VirtualMachine.GuestConnection: this hcsd has no guest agent channel");
        }
        // QEMU listens on the agent's port like on its monitor; the path must fit a sockaddr_un.
        std::string agentSocket = SystemStore::agentSocketPath(system.directory);
        if (agentSocket.size() >= sizeof(sockaddr_un{}.sun_path)) {
            return makeError(E_INVALIDARG, "VirtualMachine.GuestConnection: the agent socket path " + agentSocket +
                                               " is longer than a Unix socket path may be (use a shorter "
                                               "state directory)");
        }
        auto agentArgs = guest::qemuAgentArguments(agentSocket);
        request.args.insert(request.args.end(), agentArgs.begin(), agentArgs.end());
    }
    // The pid file's path is the spawn token: unique to this directory, so a restarted hcsd finds
    // the process in /proc even if it never learnt the pid.
    request.args.insert(request.args.end(), {"-pidfile", SystemStore::spawnToken(system.directory)});
    request.qmpPath = SystemStore::monitorPath(system.directory);
    request.logPath = SystemStore::logPath(system.directory);
    return request;
}

vm::VmCallbacks Service::vmCallbacks(const SystemPtr& system)
{
    // Raw pointer: the VM (and so these callbacks) never outlives its ComputeSystem.
    ComputeSystem* raw = system.get();
    auto find = [this, raw]() -> SystemPtr {
        auto it = systems_.find(raw->id);
        return (it != systems_.end() && it->second.get() == raw) ? it->second : nullptr;
    };
    vm::VmCallbacks callbacks;
    callbacks.onReady = [this, find](Status st) {
        if (auto s = find()) onVmReady(s, st);
    };
    callbacks.onEvent = [this, find](const std::string& event, const json& data) {
        if (auto s = find()) onVmEvent(s, event, data);
    };
    callbacks.onExit = [this, find](const std::string& description) {
        if (auto s = find()) onVmExit(s, description);
    };
    return callbacks;
}

void Service::open(uint64_t session, uint64_t requestId, const protocol::OpenParams& params)
{
    auto it = systems_.find(params.id);
    // A system this user may not access is not there for it (the same answer as a missing one).
    if (it == systems_.end() || !it->second->listed() || !mayAccess(session, *it->second)) {
        return replyError(session, requestId,
                          makeError(HCS_E_SYSTEM_NOT_FOUND, "no compute system with id \"" + params.id + "\""));
    }
    if (Status st = sessions_.addHandle(session, params.handle, it->second); !st) {
        return replyError(session, requestId, st.error());
    }
    it->second->openHandles++;
    reply(session, requestId, json::object());
}

void Service::enumerate(uint64_t session, uint64_t requestId, const std::string& queryText)
{
    auto query = schema::parseEnumerateQuery(queryText);
    if (!query) return replyError(session, requestId, query.error());
    for (const auto& [id, system] : systems_) {
        if (system->state() == SystemState::Adopting) {
            waitingEnumerations_.push_back({session, requestId, queryText});
            return;
        }
    }
    json list = json::array();
    for (const auto& [id, system] : systems_) {
        if (!system->listed() || !mayAccess(session, *system)) continue;
        if (!query->ids.empty() && !contains(query->ids, id)) continue;
        if (!query->names.empty() && !contains(query->names, id)) continue;
        if (!query->types.empty() && !contains(query->types, system->config.systemType())) continue;
        if (!query->owners.empty() && !contains(query->owners, system->config.owner)) continue;
        list.push_back(properties(*system, {}));
    }
    reply(session, requestId, list);
}

// The identity a system's VM uses for host files is its owner's (docs/hcsd.md): the entry is for that
// uid. The caller need not see the system (a file's owner grants a VM it does not control), but the
// change is made with the caller's rights, so only the file's owner or root can make it.
void Service::vmAccess(uint64_t session, uint64_t requestId, const protocol::VmAccessParams& params, bool grant)
{
    const char* field = grant ? "HcsGrantVmAccess" : "HcsRevokeVmAccess";
    if (params.path.empty() || params.path[0] != '/') {
        return replyError(
            session, requestId,
            makeError(E_INVALIDARG, std::string(field) + ": filePath must be absolute, not \"" + params.path + "\""));
    }
    auto it = systems_.find(params.id);
    if (it == systems_.end() || !it->second->listed()) {
        return replyError(session, requestId,
                          makeError(HCS_E_SYSTEM_NOT_FOUND, "no compute system with id \"" + params.id + "\""));
    }
    FileIdentity asCaller(sessions_.uid(session));
    if (!asCaller.status()) return replyError(session, requestId, asCaller.status().error());
    uid_t vmIdentity = it->second->ownerUid;
    Status done = grant ? grantUserAccess(params.path, vmIdentity) : revokeUserAccess(params.path, vmIdentity);
    if (!done)
        return replyError(session, requestId, makeError(done.hr(), std::string(field) + ": " + done.error().message));
    HC_LOG(Info, "hcsd",
           std::string(grant ? "granted" : "revoked") + " uid " + std::to_string(vmIdentity) + " (system " + params.id +
               ") access to " + params.path + " for uid " + std::to_string(sessions_.uid(session)));
    reply(session, requestId, json::object());
}

void Service::serviceProperties(uint64_t session, uint64_t requestId, const std::string& queryText)
{
    auto query = schema::parseServicePropertyQuery(queryText);
    if (!query) return replyError(session, requestId, query.error());
    json properties = json::array();
    for (auto type : *query) {
        switch (type) {
            case schema::ServicePropertyType::Basic: {
                json versions = json::array();
                for (uint32_t minor = schema::kMinSchemaMinor; minor <= schema::kMaxSchemaMinor; ++minor) {
                    versions.push_back({{"Major", schema::kSchemaMajor}, {"Minor", minor}});
                }
                properties.push_back({{"SupportedSchemaVersions", versions}});
                break;
            }
            case schema::ServicePropertyType::HostCompute:
                properties.push_back({{"Version", kServiceVersion},
                                      {"ProtocolVersion", protocol::kProtocolVersion},
                                      {"Accelerator", vm::acceleratorName(accelerator_.accelerator)},
                                      {"AcceleratorDetail", accelerator_.reason},
                                      {"QemuBinary", options_.qemuBinary},
                                      {"StateDirectory", options_.stateDirectory},
                                      {"PipeDirectory", store_.pipeDirectory()},
                                      {"ComputeSystemCount", systems_.size()},
                                      {"Containers", containers_.properties()},
                                      {"ProcessId", getpid()}});
                break;
        }
    }
    reply(session, requestId, json{{"Properties", properties}});
}

void Service::waitForExit(uint64_t session, uint64_t requestId, const protocol::WaitExitParams& params)
{
    SystemPtr system = systemForHandle(session, params.handle, requestId);
    if (!system) return;
    if (system->exitStatus) return reply(session, requestId, schema::toJson(*system->exitStatus));
    if (params.timeoutMs == 0) {
        return replyError(session, requestId, makeError(HCS_E_OPERATION_TIMEOUT, "the compute system has not exited"));
    }
    ExitWaiter waiter;
    waiter.session = session;
    waiter.requestId = requestId;
    waiter.onExit = [this, session, requestId](const schema::SystemExitStatus& status) {
        reply(session, requestId, schema::toJson(status));
    };
    waiter.onTimeout = [this, session, requestId] {
        replyError(session, requestId, makeError(HCS_E_OPERATION_TIMEOUT, "the compute system did not exit in time"));
    };
    auto timeout =
        params.timeoutMs == 0xFFFFFFFFu ? std::chrono::milliseconds(0) : std::chrono::milliseconds(params.timeoutMs);
    system->exitWaiters.add(std::move(waiter), timeout);
}

void Service::cancel(uint64_t session, uint64_t requestId, uint64_t target)
{
    // What can be abandoned: a queued call, a wait for the exit (a WaitForComputeSystemExit, or a
    // ShutDown waiting for the guest to power off), or a call waiting for QEMU's answer.
    bool cancelled = false;
    for (auto& [id, system] : systems_) {
        auto& queue = system->queue;
        for (auto c = queue.begin(); c != queue.end(); ++c) {
            if (!c->internal && c->session == session && c->requestId == target &&
                c->method != Method::CloseComputeSystem) {
                queue.erase(c);
                cancelled = true;
                break;
            }
        }
        if (!cancelled) cancelled = system->exitWaiters.take(session, target).has_value();
        if (!cancelled) cancelled = system->processes.takeWaiter(session, target).has_value();
        const auto& inFlight = system->inFlight;
        if (!cancelled && system->agentWait && system->agentWait->call.session == session &&
            system->agentWait->call.requestId == target) {
            // A Start waiting for the agent: QEMU already runs the guest; stop waiting only.
            loop_.cancelTimer(system->agentWait->timer);
            system->agentWait.reset();
            cancelled = true;
            finishInFlight(system);
            break;
        }
        if (!cancelled && inFlight && !inFlight->call.internal && inFlight->call.session == session &&
            inFlight->call.requestId == target) {
            system->vm->abandon(inFlight->command);
            system->inFlight.reset();
            cancelled = true;
            if (system->migration) {  // a Save writing its file: QEMU stops writing
                loop_.cancelTimer(system->migration->timer);
                system->migration.reset();
                system->vm->execute("migrate_cancel", json::object(), [](Result<json>) {});
            }
            // QEMU may still carry the command out: ask it where the system stands now.
            resynchronise(system);
        }
        if (cancelled) break;
    }
    if (cancelled) {
        replyError(session, target,
                   makeError(HCS_E_OPERATION_ALREADY_CANCELLED, "the request was cancelled before it completed"));
    }
    reply(session, requestId, json{{"cancelled", cancelled}});
}

// ---------------------------------------------------------------------------- per-system queue

void Service::enqueue(const SystemPtr& system, QueuedCall call)
{
    system->queue.push_back(std::move(call));
    pump(system);
}

void Service::pump(const SystemPtr& system)
{
    while (!system->inFlight && system->queueRuns() && !system->queue.empty()) {
        QueuedCall call = std::move(system->queue.front());
        system->queue.pop_front();
        run(system, call);
    }
    removeIfUnused(system);
}

void Service::finishInFlight(const SystemPtr& system)
{
    system->inFlight.reset();
    // Let the VM's reply handler unwind before the next call runs.
    loop_.post([this, system] { pump(system); });
}

void Service::run(const SystemPtr& system, const QueuedCall& call)
{
    auto fail = [&](const Error& e) {
        if (!call.internal) replyError(call.session, call.requestId, e);
    };
    auto allowed = [&]() -> bool {
        auto next = checkCall(system->state(), call.method);
        if (!next) fail(next.error());
        return next.ok();
    };
    switch (call.method) {
        case Method::CloseComputeSystem:
            reply(call.session, call.requestId, json::object());
            sessions_.finishClose(call.session, call.handle);
            return releaseHandle(system);
        case Method::StartComputeSystem:
        case Method::ResumeComputeSystem:
            return runStateChange(system, call, "cont");
        case Method::PauseComputeSystem:
            return runStateChange(system, call, "stop");
        case Method::ShutDownComputeSystem:
            return runShutDown(system, call);
        case Method::TerminateComputeSystem:
            return runTerminate(system, call);
        case Method::CreateProcess:
            return runCreateProcess(system, call);
        case Method::GetComputeSystemProperties: {
            if (!allowed()) return;
            auto query = schema::parsePropertyQuery(call.document);
            if (!query) return fail(query.error());
            if (query->memory) return runPropertiesWithMemory(system, call, *query);
            return reply(call.session, call.requestId, properties(*system, *query));
        }
        case Method::SaveComputeSystem:
            return runSave(system, call);
        case Method::CrashComputeSystem:
            return runCrash(system, call);
        case Method::ModifyComputeSystem:
            return runModify(system, call);
        default:
            return fail(makeError(HCS_E_UNKNOWN_MESSAGE, "not a compute system call"));
    }
}

void Service::runStateChange(const SystemPtr& system, const QueuedCall& call, const char* qmpCommand)
{
    const SystemState from = system->state();
    auto next = checkCall(from, call.method);
    if (!next) return replyError(call.session, call.requestId, next.error());
    const SystemState target = *next;
    system->inFlight = InFlightCall{call, 0};
    uint64_t command =
        system->vm->execute(qmpCommand, json::object(), [this, system, call, from, target](Result<json> r) {
            const bool applied = r && system->state() == from && system->setState(target, callName(call.method));
            if (applied) {
                if (call.method == Method::StartComputeSystem) system->startTime = filetimeNow();
                if (target == SystemState::Running) system->runs++;  // a Save is possible again
                persist(*system);
                // With a GuestConnection, Start completes when the agent says hello (bounded).
                if (call.method == Method::StartComputeSystem && system->config.hasGuestAgent() &&
                    !(system->guest && system->guest->agent())) {
                    return waitForAgent(system, call);
                }
                reply(call.session, call.requestId, json::object());
            } else {
                HRESULT hr = call.method == Method::StartComputeSystem       ? HCS_E_TERMINATED_DURING_START
                             : !r && r.error().hr == HCS_E_OPERATION_TIMEOUT ? HCS_E_OPERATION_TIMEOUT
                                                                             : HCS_E_UNEXPECTED_EXIT;
                std::string why =
                    r ? std::string("the compute system is ") + stateName(system->state()) : r.error().message;
                replyError(call.session, call.requestId,
                           makeError(hr, std::string(callName(call.method)) + " failed: " + why));
            }
            finishInFlight(system);
        });
    if (system->inFlight) system->inFlight->command = command;
}

void Service::runShutDown(const SystemPtr& system, const QueuedCall& call)
{
    auto next = checkCall(system->state(), call.method);
    if (!next) return replyError(call.session, call.requestId, next.error());
    if (system->stopRequest == StopRequest::None) system->stopRequest = StopRequest::ShutDown;
    ExitWaiter waiter;
    waiter.session = call.session;
    waiter.requestId = call.requestId;
    waiter.onExit = [this, call](const schema::SystemExitStatus& status) {
        if (status.type == schema::ExitType::GracefulExit) return reply(call.session, call.requestId, json::object());
        replyError(call.session, call.requestId,
                   makeError(status.type == schema::ExitType::ForcedExit ? HCS_E_TERMINATED : HCS_E_UNEXPECTED_EXIT,
                             std::string("the compute system stopped before shutting down: ") +
                                 schema::exitTypeName(status.type)));
    };
    system->exitWaiters.add(std::move(waiter));
    // ACPI power button; the reply comes when the guest has powered off (or the call is cancelled).
    system->vm->execute("system_powerdown", json::object(), [this, system, call](Result<json> r) {
        if (r) return;
        if (system->exitWaiters.take(call.session, call.requestId)) {
            replyError(call.session, call.requestId,
                       makeError(HCS_E_UNEXPECTED_EXIT, "ShutDown failed: " + r.error().message));
        }
    });
}

void Service::runTerminate(const SystemPtr& system, const QueuedCall& call)
{
    auto next = checkCall(system->state(), call.method);
    if (!next) {
        if (!call.internal) replyError(call.session, call.requestId, next.error());
        return;
    }
    if (!call.internal) replyOnExit(system, call);
    beginTerminate(system, schema::ExitInitiator::Client);
}

void Service::replyOnExit(const SystemPtr& system, const QueuedCall& call)
{
    ExitWaiter waiter;
    waiter.session = call.session;
    waiter.requestId = call.requestId;
    waiter.onExit = [this, call](const schema::SystemExitStatus&) {
        reply(call.session, call.requestId, json::object());
    };
    system->exitWaiters.add(std::move(waiter));
}

void Service::resynchronise(const SystemPtr& system)
{
    QueuedCall internal{0, 0, 0, Method::GetComputeSystemProperties, {}, true};
    system->inFlight = InFlightCall{internal, 0};
    uint64_t command = system->vm->execute("query-status", json::object(), [this, system](Result<json> r) {
        if (r && isActive(system->state())) {
            system->setState(stateFromQemuStatus(r->value("status", std::string()), system->startTime != 0),
                             "QEMU's status after a cancelled call");
        }
        finishInFlight(system);
    });
    if (system->inFlight) system->inFlight->command = command;
}

void Service::beginTerminate(const SystemPtr& system, schema::ExitInitiator initiator)
{
    if (system->stopRequest == StopRequest::Terminate || !system->vm || system->vm->exited()) return;
    if (system->state() != SystemState::Stopping && !system->setState(SystemState::Stopping, "terminate")) return;
    system->stopRequest = StopRequest::Terminate;
    system->terminateInitiator = initiator;
    system->vm->terminate();
}

void Service::releaseHandle(const SystemPtr& system)
{
    if (system->openHandles > 0) system->openHandles--;
    if (system->openHandles == 0 && system->config.shouldTerminateOnLastHandleClosed && isActive(system->state())) {
        HC_LOG(Info, "hcsd", "last handle of \"" + system->id + "\" closed: terminating it");
        beginTerminate(system, schema::ExitInitiator::Client);
    }
    removeIfUnused(system);
}

void Service::removeIfUnused(const SystemPtr& system)
{
    if (system->state() != SystemState::Stopped || system->openHandles > 0 || system->inFlight ||
        !system->queue.empty()) {
        return;
    }
    system->setState(SystemState::Removed, "no handle names it any more");
    auto it = systems_.find(system->id);
    if (it != systems_.end() && it->second == system) systems_.erase(it);
    store_.removeSystemDirectory(system->directory);
}

// ------------------------------------------------------------------------------------- VM side

void Service::onVmReady(const SystemPtr& system, Status status)
{
    if (!status) {
        HC_LOG(Warn, "hcsd", "QEMU monitor of \"" + system->id + "\" failed: " + status.error().message);
        system->vm->kill();  // the exit path reports the failure
        return;
    }
    if (system->state() == SystemState::Adopting) return finishAdoption(system);
    if (system->state() != SystemState::Creating) return;
    if (system->restoreFile.valid()) return beginRestore(system);
    finishCreate(system);
}

void Service::finishCreate(const SystemPtr& system)
{
    system->setState(SystemState::Created, system->config.virtualMachine.restoreState ? "its saved state is loaded"
                                                                                      : "QEMU's monitor is ready");
    persist(*system);
    // The guest's memory statistics (the Memory property) are collected every 2 s from now on.
    system->vm->execute("qom-set",
                        json{{"path", std::string("/machine/peripheral/") + vm::kBalloonId},
                             {"property", "guest-stats-polling-interval"},
                             {"value", 2}},
                        [](Result<json>) {});
    auto [session, rid] = *system->createReply;
    system->createReply.reset();
    reply(session, rid, json::object());
    if (system->openHandles == 0 && system->config.shouldTerminateOnLastHandleClosed) {
        beginTerminate(system, schema::ExitInitiator::Client);
    }
    pump(system);
}

void Service::onVmEvent(const SystemPtr& system, const std::string& event, const json& data)
{
    HC_LOG(Debug, "hcsd", "QMP event " + event + " from \"" + system->id + "\": " + data.dump());
    if (event == "DEVICE_DELETED" && data.contains("device") && data["device"].is_string()) {
        auto removal = system->deviceRemovals.find(data["device"].get<std::string>());
        if (removal != system->deviceRemovals.end()) {
            auto done = std::move(removal->second.done);
            if (removal->second.timer) loop_.cancelTimer(removal->second.timer);
            system->deviceRemovals.erase(removal);
            done({});
        }
        return;
    }
    if (event == "MIGRATION" && system->migration) {
        const std::string status = data.value("status", std::string());
        if (status == "completed") return endMigration(system, {});
        if (status == "failed" || status == "cancelled") {
            return endMigration(system, makeError(E_FAIL, "QEMU's migration stream " + status));
        }
        return;
    }
    if (event == "GUEST_PANICKED") return onGuestPanicked(system, data);
    if (event == "SHUTDOWN" && data.value("reason", std::string()) == "guest-panic") return;
    if (event == "SHUTDOWN" && data.value("guest", false) && isActive(system->state())) {
        system->setState(SystemState::Stopping, "the guest powered off");
    }
}

container::SystemIdentity Service::containerIdentity(const ComputeSystem& system) const
{
    return {system.id, system.directory, formatGuid(system.runtimeId), SystemStore::logPath(system.directory)};
}

schema::SystemExitStatus Service::exitStatusOf(const ComputeSystem& system) const
{
    if (system.crashReport || system.stopRequest == StopRequest::Crash) {  // the guest crashed
        return {
            HCS_E_UNEXPECTED_EXIT, schema::ExitType::UnexpectedExit, schema::ExitDetail::UnexpectedExit,
            system.stopRequest == StopRequest::Crash ? schema::ExitInitiator::Client : schema::ExitInitiator::GuestOS};
    }
    if (system.stopRequest == StopRequest::Terminate) {
        return {S_OK, schema::ExitType::ForcedExit, schema::ExitDetail::Terminate, system.terminateInitiator};
    }
    if (system.state() == SystemState::Stopping) {  // the guest powered off
        return {S_OK, schema::ExitType::GracefulExit, schema::ExitDetail::Shutdown,
                system.stopRequest == StopRequest::ShutDown ? schema::ExitInitiator::Client
                                                            : schema::ExitInitiator::GuestOS};
    }
    return {HCS_E_UNEXPECTED_EXIT, schema::ExitType::UnexpectedExit, schema::ExitDetail::UnexpectedExit,
            schema::ExitInitiator::Unknown};
}

void Service::onVmExit(const SystemPtr& system, const std::string& description)
{
    // Destroy the supervisor after its callback has returned.
    std::shared_ptr<VmSupervisor> dead(system->vm.release());
    loop_.post([dead] {});
    std::string how = description.empty() ? std::string("exited") : description;
    if (system->migration) endMigration(system, makeError(HCS_E_UNEXPECTED_EXIT, "QEMU " + how));
    if (system->crashTimer) loop_.cancelTimer(std::exchange(system->crashTimer, 0));
    if (system->state() == SystemState::Creating) {
        return failCreation(system, system->failureReason.empty() ? how : system->failureReason + "; QEMU " + how);
    }

    if (system->crashReport) sendSystemEvent(*system, "SystemCrashReport", *system->crashReport);
    schema::SystemExitStatus status = exitStatusOf(*system);
    HC_LOG(
        Info, "hcsd",
        "compute system \"" + system->id + "\" stopped: " + schema::exitTypeName(status.type) + " (QEMU " + how + ")");
    const bool wasAdopting = system->state() == SystemState::Adopting;
    system->setState(SystemState::Stopped, "QEMU " + how);
    system->exitStatus = status;
    closeGuestChannel(system, makeError(HCS_E_CONNECTION_CLOSED, std::string("the compute system stopped (") +
                                                                     schema::exitTypeName(status.type) + ")"));
    if (system->agentWait) {
        loop_.cancelTimer(system->agentWait->timer);
        replyError(system->agentWait->call.session, system->agentWait->call.requestId,
                   makeError(HCS_E_TERMINATED_DURING_START,
                             "the compute system stopped while Start waited for the "
                             "guest agent (QEMU " +
                                 how + ")"));
        system->agentWait.reset();
    }
    failDeviceRemovals(system, makeError(HCS_E_CONNECTION_CLOSED, "the compute system stopped (QEMU " + how + ")"));
    system->inFlight.reset();  // its handler has run (the VM fails pending commands before onExit)
    sendSystemEvent(*system, "SystemExited", schema::toJson(status));
    for (auto& waiter : system->exitWaiters.takeAll())
        waiter.onExit(status);
    if (wasAdopting) answerWaitingEnumerations();
    pump(system);
}

void Service::failCreation(const SystemPtr& system, const std::string& how)
{
    std::string log = vm::tailOfFile(SystemStore::logPath(system->directory));
    auto [session, rid] = *system->createReply;
    system->createReply.reset();
    replyError(
        session, rid,
        makeError(HCS_E_TERMINATED_DURING_START, std::string(system->config.container ? "the container" : "QEMU") +
                                                     " stopped while the compute system was being created (" + how +
                                                     ")" + (log.empty() ? std::string() : ": " + log)));
    system->setState(SystemState::Removed, "its creation failed");
    systems_.erase(system->id);
    store_.removeSystemDirectory(system->directory);
    const Error gone = makeError(HCS_E_SYSTEM_NOT_FOUND, "the compute system's creation failed");
    closeGuestChannel(system, gone);  // answers queued CreateProcess calls
    for (auto& call : system->queue) {
        if (call.internal || call.method == Method::CreateProcess) continue;
        if (call.method == Method::CloseComputeSystem) {
            reply(call.session, call.requestId, json::object());
        } else {
            replyError(call.session, call.requestId, gone);
        }
    }
    system->queue.clear();
    for (auto& waiter : system->exitWaiters.takeAll())
        replyError(waiter.session, waiter.requestId, gone);
}

Status Service::writeRecord(const ComputeSystem& system)
{
    SystemRecord record;
    record.id = system.id;
    record.runtimeId = formatGuid(system.runtimeId);
    record.pid = system.vm ? system.vm->pid() : 0;
    record.state = stateName(system.state());
    record.createTime = system.createTime;
    record.startTime = system.startTime;
    record.ownerUid = system.ownerUid;
    return store_.writeRecord(system.directory, record);
}

void Service::persist(const ComputeSystem& system)
{
    if (Status st = writeRecord(system); !st) {
        HC_LOG(Warn, "hcsd", "cannot record \"" + system.id + "\": " + st.error().message);
    }
}

json Service::properties(const ComputeSystem& system, const schema::PropertyQuery& query) const
{
    json p{{"Id", system.id},
           {"SystemType", system.config.systemType()},
           {"Name", system.id},
           {"Owner", system.config.owner},
           {"RuntimeId", formatGuid(system.runtimeId)},
           {"State", stateName(system.state())},
           {"Stopped", system.state() == SystemState::Stopped}};
    if (system.exitStatus) p["ExitType"] = schema::exitTypeName(system.exitStatus->type);
    if (system.crashReport) p["CrashReport"] = *system.crashReport;  // hostcompute's own: the last crash
    if (query.terminateOnLastHandleClosed) {
        p["TerminateOnLastHandleClosed"] = system.config.shouldTerminateOnLastHandleClosed;
    }
    if (query.processList) p["ProcessList"] = processList(system);
    if (query.configuration) {
        auto document =
            schema::parseJson(system.configText, schema::kDocumentLimits, "the configuration", HCS_E_INVALID_JSON);
        p["Configuration"] = document ? *document : json(system.configText);
    }
    if (query.guestConnection) p["GuestConnection"] = guestConnectionProperties(system);
    if (query.statistics) {
        int64_t now = filetimeNow();
        int64_t since = system.startTime ? system.startTime : system.createTime;
        json stats{
            {"Timestamp", rfc3339(now)},
            {"ContainerStartTime", rfc3339(since)},
            {"Uptime100ns", system.startTime && system.state() != SystemState::Stopped ? now - system.startTime : 0}};
        vm::ProcessStats usage;
        std::optional<uint64_t> oomKills;
        if (system.config.container && system.vm) {
            // A container's use is its cgroups' (every process), not one process's.
            if (auto s = containers_.statistics(formatGuid(system.runtimeId))) {
                usage = {s->userRuntime100ns, s->kernelRuntime100ns, s->memoryUsageBytes,
                         s->memoryPeakBytes,  s->memoryPrivateBytes, 0};
                if (s->totalRuntime100ns > usage.userTime100ns + usage.kernelTime100ns) {
                    usage.kernelTime100ns = s->totalRuntime100ns - usage.userTime100ns;
                }
                oomKills = s->oomKills;
            }
        } else if (system.vm) {
            if (auto s = vm::readProcessStats(system.vm->pid())) usage = *s;
        }
        stats["Processor"] = {{"TotalRuntime100ns", usage.userTime100ns + usage.kernelTime100ns},
                              {"RuntimeUser100ns", usage.userTime100ns},
                              {"RuntimeKernel100ns", usage.kernelTime100ns}};
        stats["Memory"] = {{"MemoryUsageCommitBytes", usage.residentBytes},
                           {"MemoryUsageCommitPeakBytes", usage.peakResidentBytes},
                           {"MemoryUsagePrivateWorkingSetBytes", usage.anonymousBytes}};
        // hostcompute's: processes of the container the kernel's OOM killer ended (its memory limit).
        if (oomKills) stats["Memory"]["OomKillCount"] = *oomKills;
        p["Statistics"] = stats;
    }
    return p;
}

}  // namespace hc::hcs::service
