#include "hcs/service/service.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>

#include "base/filetime.h"
#include "base/hresult.h"
#include "base/log.h"
#include "hcs/vm/qemu_command.h"

namespace hc::hcs::service {

using nlohmann::json;
using protocol::Method;
namespace fs = std::filesystem;

const char* const kServiceVersion = "0.1.0";

namespace {

constexpr size_t kMaxIdBytes = 256;

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

std::string pipeDirectory(const ServiceOptions& options)
{
    return options.stateDirectory + "/pipes";
}

std::string systemsDirectory(const ServiceOptions& options)
{
    return options.stateDirectory + "/systems";
}

void writeFileAtomically(const std::string& path, const std::string& text)
{
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
        if (!out) {
            HC_LOG(Warn, "hcsd", "cannot write " + tmp);
            return;
        }
    }
    std::rename(tmp.c_str(), path.c_str());
}

}  // namespace

Service::Service(EventLoop& loop, ServiceOptions options, vm::AcceleratorChoice accelerator)
    : loop_(loop), options_(std::move(options)), accelerator_(std::move(accelerator))
{
    std::error_code ec;
    fs::create_directories(systemsDirectory(options_), ec);
    fs::create_directories(pipeDirectory(options_), ec);
}

Service::~Service()
{
    // QEMU processes keep running: a later hcsd re-adopts them.
    for (auto& [id, system] : systems_) {
        if (system->killTimer) loop_.cancelTimer(system->killTimer);
        system->vm.reset();
    }
}

// ---------------------------------------------------------------------------------------- replies

void Service::reply(uint64_t session, uint64_t requestId, const json& result)
{
    auto it = sessions_.find(session);
    if (it != sessions_.end()) it->second.send(protocol::encodeResult(requestId, result));
}

void Service::replyError(uint64_t session, uint64_t requestId, HRESULT hr, const std::string& message)
{
    HC_LOG(Info, "hcsd", "request " + std::to_string(requestId) + " failed: " + hresultName(hr) + ": " + message);
    auto it = sessions_.find(session);
    if (it != sessions_.end()) it->second.send(protocol::encodeError(requestId, hr, message));
}

void Service::replyResult(uint64_t session, uint64_t requestId, const Result<json>& result)
{
    if (result) {
        reply(session, requestId, *result);
    } else {
        replyError(session, requestId, result.error().hr, result.error().message);
    }
}

// --------------------------------------------------------------------------------------- sessions

uint64_t Service::openSession(Sender sender)
{
    uint64_t id = nextSession_++;
    sessions_[id] = Session{std::move(sender), {}};
    return id;
}

void Service::closeSession(uint64_t session)
{
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return;
    auto handles = std::move(it->second.handles);
    sessions_.erase(it);
    for (auto& [id, system] : systems_) {
        auto& waiters = system->exitWaiters;
        for (auto w = waiters.begin(); w != waiters.end();) {
            if (w->session == session) {
                if (w->timer) loop_.cancelTimer(w->timer);
                w = waiters.erase(w);
            } else {
                ++w;
            }
        }
    }
    // A client that vanished closes its handles; this is what terminates a system configured with
    // ShouldTerminateOnLastHandleClosed when its creator is killed.
    for (auto& [handle, system] : handles)
        releaseHandle(system);
}

Service::SystemPtr Service::systemForHandle(uint64_t session, uint64_t handle, uint64_t requestId)
{
    auto& handles = sessions_.at(session).handles;
    auto it = handles.find(handle);
    if (it == handles.end()) {
        replyError(session, requestId, E_HANDLE,
                   "handle " + std::to_string(handle) + " is not open on this connection");
        return nullptr;
    }
    if (it->second->removed) {
        replyError(session, requestId, HCS_E_SYSTEM_NOT_FOUND,
                   "compute system \"" + it->second->id + "\" no longer exists (its creation failed)");
        return nullptr;
    }
    return it->second;
}

void Service::handle(uint64_t session, const protocol::Request& request)
{
    if (!sessions_.count(session)) return;
    const uint64_t id = request.id;
    switch (request.method) {
        case Method::Hello:
            replyError(session, id, HCS_E_PROTOCOL_ERROR, "Hello was already negotiated");
            return;
        case Method::Cancel:
            cancel(session, id, std::get<protocol::CancelParams>(request.params).requestId);
            return;
        case Method::CreateComputeSystem:
            create(session, request, std::get<protocol::CreateParams>(request.params));
            return;
        case Method::OpenComputeSystem:
            open(session, request, std::get<protocol::OpenParams>(request.params));
            return;
        case Method::EnumerateComputeSystems:
            enumerate(session, request, std::get<protocol::QueryParams>(request.params).query);
            return;
        case Method::GetServiceProperties:
            serviceProperties(session, request);
            return;
        case Method::WaitForComputeSystemExit:
            waitForExit(session, request, std::get<protocol::WaitExitParams>(request.params));
            return;
        case Method::CloseComputeSystem: {
            uint64_t handle = std::get<protocol::HandleParams>(request.params).handle;
            auto& handles = sessions_.at(session).handles;
            auto it = handles.find(handle);
            if (it == handles.end()) {
                replyError(session, id, E_HANDLE,
                           "handle " + std::to_string(handle) + " is not open on this connection");
                return;
            }
            SystemPtr system = it->second;
            handles.erase(it);  // later requests naming it fail at once; the release waits its turn
            enqueue(system, QueuedCall{session, id, request.method, {}, false});
            return;
        }
        default:
            break;
    }
    const auto& params = std::get<protocol::SystemCallParams>(request.params);
    SystemPtr system = systemForHandle(session, params.handle, id);
    if (!system) return;
    enqueue(system, QueuedCall{session, id, request.method, params.document, false});
}

// ------------------------------------------------------------------------- requests not queued

void Service::create(uint64_t session, const protocol::Request& request, const protocol::CreateParams& params)
{
    const uint64_t rid = request.id;
    auto& sessionHandles = sessions_.at(session).handles;
    if (params.handle == 0 || sessionHandles.count(params.handle)) {
        replyError(session, rid, E_INVALIDARG,
                   "handle number " + std::to_string(params.handle) + " is already in use or 0");
        return;
    }
    if (Status st = validateSystemId(params.id); !st) return replyError(session, rid, st.hr(), st.error().message);
    if (systems_.count(params.id)) {
        replyError(session, rid, HCS_E_SYSTEM_ALREADY_EXISTS,
                   "a compute system with id \"" + params.id + "\" already exists");
        return;
    }
    auto config = schema::parseComputeSystem(params.configuration);
    if (!config) return replyError(session, rid, config.error().hr, config.error().message);
    if (const auto& lkd = config->virtualMachine.linuxKernelDirect) {
        for (const auto& [field, path] :
             {std::pair{"KernelFilePath", lkd->kernelFilePath}, {"InitRdPath", lkd->initRdPath}}) {
            if (!path.empty() && access(path.c_str(), R_OK) != 0) {
                replyError(session, rid, HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND),
                           std::string("VirtualMachine.Chipset.LinuxKernelDirect.") + field + ": cannot read \"" +
                               path + "\"");
                return;
            }
        }
    }
    auto system = std::make_shared<ComputeSystem>();
    system->id = params.id;
    system->configText = params.configuration;
    system->config = std::move(*config);
    system->runtimeId = newGuid();
    system->createTime = filetimeNow();
    // A short directory name keeps socket paths below the 108-byte sun_path limit.
    system->directory = systemsDirectory(options_) + "/" + formatGuid(system->runtimeId).substr(0, 8);
    std::error_code ec;
    if (!fs::create_directory(system->directory, ec)) {
        replyError(session, rid, E_FAIL,
                   "cannot create the state directory " + system->directory + ": " + ec.message());
        return;
    }
    writeFileAtomically(system->directory + "/config.json", system->configText);
    if (Status st = launchVm(system); !st) {
        fs::remove_all(system->directory, ec);
        replyError(session, rid, st.hr(), st.error().message);
        return;
    }
    systems_[system->id] = system;
    sessionHandles[params.handle] = system;
    system->openHandles = 1;
    system->busy = true;  // calls queue behind the creation
    pendingCreates_[system.get()] = {session, rid};
    HC_LOG(Info, "hcsd", "creating compute system \"" + system->id + "\" in " + system->directory);
}

Status Service::launchVm(const SystemPtr& system)
{
    const auto& vmConfig = system->config.virtualMachine;
    vm::QemuLaunchSettings settings;
    settings.qemuBinary = options_.qemuBinary;
    settings.accelerator = accelerator_.accelerator;
    settings.name = system->id;
    settings.qmpListenFd = 3;
    std::set<std::string> pipesInUse;
    for (const auto& [id, other] : systems_) {
        for (const auto& [port, com] : other->config.virtualMachine.comPorts) {
            if (auto p = vm::namedPipeSocketPath(com.namedPipe, pipeDirectory(options_))) pipesInUse.insert(*p);
        }
    }
    for (const auto& [port, com] : vmConfig.comPorts) {
        auto path = vm::namedPipeSocketPath(com.namedPipe, pipeDirectory(options_));
        if (!path) {
            return makeError(path.error().hr, "VirtualMachine.Devices.ComPorts." + std::to_string(port) +
                                                  ".NamedPipe: " + path.error().message);
        }
        if (pipesInUse.count(*path)) {
            return makeError(HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS),
                             "VirtualMachine.Devices.ComPorts." + std::to_string(port) + ".NamedPipe: \"" +
                                 com.namedPipe + "\" is used by another compute system");
        }
        unlink(path->c_str());  // a stale socket left by a VM that is gone
        settings.comPortSockets[port] = *path;
    }
    if (vmConfig.uefi) {
        settings.ovmfCodePath = vm::kOvmfCode;
        settings.ovmfVarsPath = system->directory + "/OVMF_VARS.fd";
        std::error_code ec;
        if (access(vm::kOvmfCode, R_OK) != 0 ||
            !fs::copy_file(vm::kOvmfVarsTemplate, settings.ovmfVarsPath, fs::copy_options::overwrite_existing, ec)) {
            return makeError(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND),
                             "VirtualMachine.Chipset.Uefi: the OVMF firmware (" + std::string(vm::kOvmfCode) + ", " +
                                 vm::kOvmfVarsTemplate + ") is missing; install the ovmf package");
        }
    }
    auto args = vm::buildQemuCommand(vmConfig, settings);
    args.insert(args.end(), {"-pidfile", system->directory + "/qemu.pid"});
    auto qemu = QemuVm::launch(loop_, args, system->directory + "/qmp.sock", system->directory + "/qemu.log",
                               vmCallbacks(system));
    if (!qemu) return qemu.error();
    system->vm = std::move(*qemu);
    return {};
}

QemuVm::Callbacks Service::vmCallbacks(const SystemPtr& system)
{
    // Raw pointer: the QemuVm (and so these callbacks) never outlives its ComputeSystem.
    ComputeSystem* raw = system.get();
    auto find = [this, raw]() -> SystemPtr {
        auto it = systems_.find(raw->id);
        return (it != systems_.end() && it->second.get() == raw) ? it->second : nullptr;
    };
    QemuVm::Callbacks callbacks;
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

void Service::open(uint64_t session, const protocol::Request& request, const protocol::OpenParams& params)
{
    auto& handles = sessions_.at(session).handles;
    if (params.handle == 0 || handles.count(params.handle)) {
        replyError(session, request.id, E_INVALIDARG,
                   "handle number " + std::to_string(params.handle) + " is already in use or 0");
        return;
    }
    auto it = systems_.find(params.id);
    if (it == systems_.end()) {
        replyError(session, request.id, HCS_E_SYSTEM_NOT_FOUND, "no compute system with id \"" + params.id + "\"");
        return;
    }
    handles[params.handle] = it->second;
    it->second->openHandles++;
    reply(session, request.id, json::object());
}

void Service::enumerate(uint64_t session, const protocol::Request& request, const std::string& queryText)
{
    auto query = schema::parseEnumerateQuery(queryText);
    if (!query) return replyError(session, request.id, query.error().hr, query.error().message);
    json list = json::array();
    for (const auto& [id, system] : systems_) {
        if (!system->createComplete) continue;
        if (!query->ids.empty() && !contains(query->ids, id)) continue;
        if (!query->names.empty() && !contains(query->names, id)) continue;
        if (!query->types.empty() && !contains(query->types, "VirtualMachine")) continue;
        if (!query->owners.empty() && !contains(query->owners, system->config.owner)) continue;
        list.push_back(properties(*system, {}));
    }
    reply(session, request.id, list);
}

void Service::serviceProperties(uint64_t session, const protocol::Request& request)
{
    json versions = json::array();
    for (uint32_t minor = schema::kMinSchemaMinor; minor <= schema::kMaxSchemaMinor; ++minor) {
        versions.push_back({{"Major", schema::kSchemaMajor}, {"Minor", minor}});
    }
    reply(session, request.id,
          json{{"Version", kServiceVersion},
               {"ProtocolVersion", protocol::kProtocolVersion},
               {"Accelerator", vm::acceleratorName(accelerator_.accelerator)},
               {"AcceleratorDetail", accelerator_.reason},
               {"SupportedSchemaVersions", versions},
               {"QemuBinary", options_.qemuBinary},
               {"StateDirectory", options_.stateDirectory},
               {"PipeDirectory", pipeDirectory(options_)},
               {"ComputeSystemCount", systems_.size()},
               {"ProcessId", getpid()}});
}

void Service::waitForExit(uint64_t session, const protocol::Request& request, const protocol::WaitExitParams& params)
{
    SystemPtr system = systemForHandle(session, params.handle, request.id);
    if (!system) return;
    if (system->exitStatus) return reply(session, request.id, schema::toJson(*system->exitStatus));
    if (params.timeoutMs == 0) {
        return replyError(session, request.id, HCS_E_OPERATION_TIMEOUT, "the compute system has not exited");
    }
    ExitWaiter waiter;
    waiter.session = session;
    waiter.requestId = request.id;
    waiter.onExit = [this, session, rid = request.id](const schema::SystemExitStatus& status) {
        reply(session, rid, schema::toJson(status));
    };
    if (params.timeoutMs != 0xFFFFFFFFu) {
        ComputeSystem* raw = system.get();
        waiter.timer =
            loop_.addTimer(std::chrono::milliseconds(params.timeoutMs), [this, raw, session, rid = request.id] {
                auto& waiters = raw->exitWaiters;
                for (auto w = waiters.begin(); w != waiters.end(); ++w) {
                    if (w->session == session && w->requestId == rid) {
                        waiters.erase(w);
                        replyError(session, rid, HCS_E_OPERATION_TIMEOUT, "the compute system did not exit in time");
                        return;
                    }
                }
            });
    }
    system->exitWaiters.push_back(std::move(waiter));
}

void Service::cancel(uint64_t session, uint64_t requestId, uint64_t target)
{
    // Only what has not started can be abandoned: a queued call, or a wait for the exit (a
    // WaitForComputeSystemExit, or a ShutDown waiting for the guest to power off).
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
        auto& waiters = system->exitWaiters;
        for (auto w = waiters.begin(); !cancelled && w != waiters.end(); ++w) {
            if (w->session == session && w->requestId == target) {
                if (w->timer) loop_.cancelTimer(w->timer);
                waiters.erase(w);
                cancelled = true;
                break;
            }
        }
        if (cancelled) break;
    }
    if (cancelled) {
        replyError(session, target, HCS_E_OPERATION_ALREADY_CANCELLED, "the request was cancelled before it completed");
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
    while (!system->busy && !system->queue.empty()) {
        QueuedCall call = std::move(system->queue.front());
        system->queue.pop_front();
        run(system, call);
    }
    removeIfUnused(system);
}

void Service::finishCall(const SystemPtr& system)
{
    system->busy = false;
    pump(system);
}

void Service::run(const SystemPtr& system, const QueuedCall& call)
{
    auto fail = [&](const Error& e) {
        if (!call.internal) replyError(call.session, call.requestId, e.hr, e.message);
    };
    auto refuse = [&](SystemCall what) -> bool {
        auto next = checkCall(system->state, what);
        if (!next) fail(next.error());
        return !next;
    };
    switch (call.method) {
        case Method::CloseComputeSystem:
            reply(call.session, call.requestId, json::object());
            releaseHandle(system);
            return;
        case Method::StartComputeSystem:
            return runStateChange(system, call, SystemCall::Start, "cont");
        case Method::PauseComputeSystem:
            return runStateChange(system, call, SystemCall::Pause, "stop");
        case Method::ResumeComputeSystem:
            return runStateChange(system, call, SystemCall::Resume, "cont");
        case Method::ShutDownComputeSystem:
            return runShutDown(system, call);
        case Method::TerminateComputeSystem:
            return runTerminate(system, call);
        case Method::GetComputeSystemProperties: {
            auto query = schema::parsePropertyQuery(call.document);
            if (!query) return fail(query.error());
            reply(call.session, call.requestId, properties(*system, *query));
            return;
        }
        case Method::SaveComputeSystem:
            if (refuse(SystemCall::Save)) return;
            return fail(makeError(E_NOTIMPL,
                                  "SaveComputeSystem is not supported: the QEMU backend cannot save a "
                                  "compute system's state to a file yet"));
        case Method::CrashComputeSystem:
            if (refuse(SystemCall::Crash)) return;
            return fail(makeError(E_NOTIMPL,
                                  "CrashComputeSystem is not supported: the QEMU backend cannot inject a "
                                  "guest crash yet"));
        case Method::ModifyComputeSystem: {
            if (refuse(SystemCall::Modify)) return;
            json doc = json::parse(call.document, nullptr, false);
            std::string resource = doc.is_object() && doc.contains("ResourcePath") && doc["ResourcePath"].is_string()
                                       ? doc["ResourcePath"].get<std::string>()
                                       : std::string("(none)");
            return fail(makeError(E_NOTIMPL,
                                  "ModifyComputeSystem is not supported: no resource can be changed on a "
                                  "created compute system yet (ResourcePath \"" +
                                      resource + "\")"));
        }
        default:
            return fail(makeError(HCS_E_UNKNOWN_MESSAGE, "not a compute system call"));
    }
}

void Service::runStateChange(const SystemPtr& system, const QueuedCall& call, SystemCall what, const char* qmpCommand)
{
    auto next = checkCall(system->state, what);
    if (!next) return replyError(call.session, call.requestId, next.error().hr, next.error().message);
    system->busy = true;
    SystemState target = *next;
    system->vm->execute(qmpCommand, json::object(), [this, system, call, what, target](Result<json> r) {
        if (r && system->state != SystemState::Stopped) {
            system->state = target;
            if (what == SystemCall::Start) system->startTime = filetimeNow();
            persist(*system);
            reply(call.session, call.requestId, json::object());
        } else {
            HRESULT hr = what == SystemCall::Start ? HCS_E_TERMINATED_DURING_START : HCS_E_UNEXPECTED_EXIT;
            replyError(
                call.session, call.requestId, hr,
                std::string(callName(what)) + " failed: " + (r ? "the compute system stopped" : r.error().message));
        }
        // Let the QMP reply handler unwind before the next call runs.
        loop_.post([this, system] { finishCall(system); });
    });
}

void Service::runShutDown(const SystemPtr& system, const QueuedCall& call)
{
    auto next = checkCall(system->state, SystemCall::ShutDown);
    if (!next) return replyError(call.session, call.requestId, next.error().hr, next.error().message);
    if (system->stopRequest == StopRequest::None) system->stopRequest = StopRequest::ShutDown;
    ExitWaiter waiter;
    waiter.session = call.session;
    waiter.requestId = call.requestId;
    waiter.onExit = [this, call](const schema::SystemExitStatus& status) {
        if (status.type == schema::ExitType::GracefulExit) return reply(call.session, call.requestId, json::object());
        replyError(
            call.session, call.requestId,
            status.type == schema::ExitType::ForcedExit ? HCS_E_TERMINATED : HCS_E_UNEXPECTED_EXIT,
            std::string("the compute system stopped before shutting down: ") + schema::exitTypeName(status.type));
    };
    system->exitWaiters.push_back(std::move(waiter));
    // ACPI power button; the reply comes when the guest has powered off (or the call is cancelled).
    system->vm->execute("system_powerdown", json::object(), [this, system, call](Result<json> r) {
        if (r) return;
        auto& waiters = system->exitWaiters;
        for (auto w = waiters.begin(); w != waiters.end(); ++w) {
            if (w->session == call.session && w->requestId == call.requestId) {
                waiters.erase(w);
                replyError(call.session, call.requestId, HCS_E_UNEXPECTED_EXIT,
                           "ShutDown failed: " + r.error().message);
                return;
            }
        }
    });
}

void Service::runTerminate(const SystemPtr& system, const QueuedCall& call)
{
    auto next = checkCall(system->state, SystemCall::Terminate);
    if (!next) {
        if (!call.internal) replyError(call.session, call.requestId, next.error().hr, next.error().message);
        return;
    }
    if (!call.internal) {
        ExitWaiter waiter;
        waiter.session = call.session;
        waiter.requestId = call.requestId;
        waiter.onExit = [this, call](const schema::SystemExitStatus&) {
            reply(call.session, call.requestId, json::object());
        };
        system->exitWaiters.push_back(std::move(waiter));
    }
    system->busy = true;  // later calls see the Stopped state
    beginTerminate(system, schema::ExitInitiator::Client);
}

void Service::beginTerminate(const SystemPtr& system, schema::ExitInitiator initiator)
{
    if (system->stopRequest == StopRequest::Terminate || !system->vm || system->vm->exited()) return;
    system->stopRequest = StopRequest::Terminate;
    system->terminateInitiator = initiator;
    ComputeSystem* raw = system.get();
    system->vm->execute("quit", json::object(), [](Result<json>) {});
    // QEMU normally exits within milliseconds of "quit"; a wedged one is killed.
    system->killTimer = loop_.addTimer(options_.terminateGrace, [raw] {
        raw->killTimer = 0;
        if (raw->vm) raw->vm->kill();
    });
}

void Service::releaseHandle(const SystemPtr& system)
{
    if (system->openHandles > 0) system->openHandles--;
    if (system->openHandles == 0 && system->createComplete && system->state != SystemState::Stopped &&
        system->config.shouldTerminateOnLastHandleClosed) {
        HC_LOG(Info, "hcsd", "last handle of \"" + system->id + "\" closed: terminating it");
        beginTerminate(system, schema::ExitInitiator::Client);
    }
    removeIfUnused(system);
}

void Service::removeIfUnused(const SystemPtr& system)
{
    if (system->removed || system->openHandles > 0 || system->busy || !system->queue.empty()) return;
    if (system->state != SystemState::Stopped) return;
    system->removed = true;
    auto it = systems_.find(system->id);
    if (it != systems_.end() && it->second == system) systems_.erase(it);
    std::error_code ec;
    fs::remove_all(system->directory, ec);
    HC_LOG(Info, "hcsd", "compute system \"" + system->id + "\" removed");
}

// ------------------------------------------------------------------------------------ QEMU side

void Service::onVmReady(const SystemPtr& system, Status status)
{
    if (!status) {
        HC_LOG(Warn, "hcsd", "QEMU monitor of \"" + system->id + "\" failed: " + status.error().message);
        if (system->vm) system->vm->kill();  // the exit path reports the failure
        return;
    }
    if (system->adopting) return finishAdoption(system);
    auto pending = pendingCreates_.find(system.get());
    if (pending == pendingCreates_.end()) return;
    auto [session, rid] = pending->second;
    pendingCreates_.erase(pending);
    system->createComplete = true;
    persist(*system);
    reply(session, rid, json::object());
    HC_LOG(Info, "hcsd", "compute system \"" + system->id + "\" created");
    if (system->openHandles == 0 && system->config.shouldTerminateOnLastHandleClosed) {
        beginTerminate(system, schema::ExitInitiator::Client);
    }
    finishCall(system);
}

void Service::onVmEvent(const SystemPtr& system, const std::string& event, const json& data)
{
    HC_LOG(Debug, "hcsd", "QMP event " + event + " from \"" + system->id + "\": " + data.dump());
    if (event == "SHUTDOWN" && data.value("guest", false)) system->guestPoweredOff = true;
}

void Service::onVmExit(const SystemPtr& system, const std::string& description)
{
    if (system->killTimer) {
        loop_.cancelTimer(system->killTimer);
        system->killTimer = 0;
    }
    // Destroy the QemuVm after its callback has returned.
    std::shared_ptr<QemuVm> dead(system->vm.release());
    loop_.post([dead] {});
    std::string how = description.empty() ? std::string("exited") : description;

    if (auto pending = pendingCreates_.find(system.get()); pending != pendingCreates_.end()) {
        auto [session, rid] = pending->second;
        pendingCreates_.erase(pending);
        std::string log = vm::tailOfFile(system->directory + "/qemu.log");
        replyError(session, rid, HCS_E_TERMINATED_DURING_START,
                   "QEMU stopped while the compute system was being created (" + how + ")" +
                       (log.empty() ? std::string() : ": " + log));
        system->state = SystemState::Stopped;
        system->removed = true;
        systems_.erase(system->id);
        std::error_code ec;
        fs::remove_all(system->directory, ec);
        for (auto& call : system->queue) {
            if (!call.internal && call.method != Method::CloseComputeSystem) {
                replyError(call.session, call.requestId, HCS_E_SYSTEM_NOT_FOUND,
                           "the compute system's creation failed");
            } else if (!call.internal) {
                reply(call.session, call.requestId, json::object());
            }
        }
        system->queue.clear();
        for (auto& w : system->exitWaiters) {
            if (w.timer) loop_.cancelTimer(w.timer);
            replyError(w.session, w.requestId, HCS_E_SYSTEM_NOT_FOUND, "the compute system's creation failed");
        }
        system->exitWaiters.clear();
        return;
    }

    schema::SystemExitStatus status;
    if (system->stopRequest == StopRequest::Terminate) {
        status = {S_OK, schema::ExitType::ForcedExit, schema::ExitDetail::Terminate, system->terminateInitiator};
    } else if (system->guestPoweredOff) {
        status = {S_OK, schema::ExitType::GracefulExit, schema::ExitDetail::Shutdown,
                  system->stopRequest == StopRequest::ShutDown ? schema::ExitInitiator::Client
                                                               : schema::ExitInitiator::GuestOS};
    } else {
        status = {HCS_E_UNEXPECTED_EXIT, schema::ExitType::UnexpectedExit, schema::ExitDetail::UnexpectedExit,
                  schema::ExitInitiator::Unknown};
    }
    HC_LOG(
        Info, "hcsd",
        "compute system \"" + system->id + "\" stopped: " + schema::exitTypeName(status.type) + " (QEMU " + how + ")");
    system->state = SystemState::Stopped;
    system->exitStatus = status;
    system->busy = false;
    const json data = schema::toJson(status);
    for (auto& [sessionId, session] : sessions_) {
        for (auto& [handle, target] : session.handles) {
            if (target == system) session.send(protocol::encodeEvent("SystemExited", handle, data));
        }
    }
    auto waiters = std::move(system->exitWaiters);
    system->exitWaiters.clear();
    for (auto& w : waiters) {
        if (w.timer) loop_.cancelTimer(w.timer);
        w.onExit(status);
    }
    pump(system);
}

void Service::persist(const ComputeSystem& system)
{
    if (!system.vm) return;
    json record{{"Id", system.id},
                {"RuntimeId", formatGuid(system.runtimeId)},
                {"Pid", system.vm->pid()},
                {"State", stateName(system.state)},
                {"CreateTime", system.createTime},
                {"StartTime", system.startTime}};
    writeFileAtomically(system.directory + "/system.json", record.dump(2));
}

json Service::properties(const ComputeSystem& system, const schema::PropertyQuery& query) const
{
    json p{{"Id", system.id},
           {"SystemType", "VirtualMachine"},
           {"Name", system.id},
           {"Owner", system.config.owner},
           {"RuntimeId", formatGuid(system.runtimeId)},
           {"State", stateName(system.state)},
           {"Stopped", system.state == SystemState::Stopped}};
    if (system.exitStatus) p["ExitType"] = schema::exitTypeName(system.exitStatus->type);
    if (query.terminateOnLastHandleClosed) {
        p["TerminateOnLastHandleClosed"] = system.config.shouldTerminateOnLastHandleClosed;
    }
    if (query.statistics) {
        int64_t now = filetimeNow();
        int64_t since = system.startTime ? system.startTime : system.createTime;
        json stats{
            {"Timestamp", rfc3339(now)},
            {"ContainerStartTime", rfc3339(since)},
            {"Uptime100ns", system.startTime && system.state != SystemState::Stopped ? now - system.startTime : 0}};
        vm::ProcessStats usage;
        if (system.vm) {
            if (auto s = vm::readProcessStats(system.vm->pid())) usage = *s;
        }
        stats["Processor"] = {{"TotalRuntime100ns", usage.userTime100ns + usage.kernelTime100ns},
                              {"RuntimeUser100ns", usage.userTime100ns},
                              {"RuntimeKernel100ns", usage.kernelTime100ns}};
        stats["Memory"] = {{"MemoryUsageCommitBytes", usage.residentBytes},
                           {"MemoryUsageCommitPeakBytes", usage.peakResidentBytes},
                           {"MemoryUsagePrivateWorkingSetBytes", usage.anonymousBytes}};
        p["Statistics"] = stats;
    }
    return p;
}

}  // namespace hc::hcs::service
