// The process calls (CreateProcess .. WaitForProcessExit), the ProcessExited event, and the guest
// agent's channel of a system: opened with the VM, closed when the VM exits (every process then ends
// with an error and every wait ends). docs/hcsd.md, "Processes", describes the behaviour.
//
// Stdio: for each stream CreateProcess asks for, hcsd makes a pipe, gives its own end to the channel
// (nonblocking: the channel runs on this loop) and sends the client's end with the CreateProcess
// reply — once: hcsd keeps no copy (a kept stdin write end would hide EOF from the guest process), so
// GetProcessInfo, for any handle, answers the process id with null stdio.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "base/filetime.h"
#include "base/hresult.h"
#include "base/log.h"
#include "hcs/guest/wire.h"
#include "hcs/service/service.h"

namespace hc::hcs::service {

using nlohmann::json;
using protocol::Method;

namespace {

// One pipe: `hostEnd` is hcsd's (nonblocking), the other end the client's. `hostReads` says which.
Status makePipe(bool hostReads, UniqueFd& hostEnd, UniqueFd& clientEnd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return makeError(HRESULT_FROM_WIN32(ERROR_TOO_MANY_OPEN_FILES),
                         std::string("cannot create a stdio pipe: ") + strerror(errno));
    }
    hostEnd.reset(hostReads ? fds[0] : fds[1]);
    clientEnd.reset(hostReads ? fds[1] : fds[0]);
    fcntl(hostEnd.get(), F_SETFL, fcntl(hostEnd.get(), F_GETFL) | O_NONBLOCK);
    // Room for a whole credit window: with the default 64 KiB, hcsd wakes and grants credit four times
    // per window, and the agent stalls between grants. Best effort (capped by /proc/sys/fs/pipe-max-size).
    (void)fcntl(hostEnd.get(), F_SETPIPE_SZ, static_cast<int>(guest::wire::kStreamWindow));
    return {};
}

Status makeStdio(const schema::ProcessParameters& p, GuestProcess& process)
{
    if (p.createStdIn) {
        if (Status st = makePipe(true, process.hostEnds.stdinSource, process.clientEnds.stdIn); !st) return st;
    }
    if (p.createStdOut) {
        if (Status st = makePipe(false, process.hostEnds.stdoutSink, process.clientEnds.stdOut); !st) return st;
    }
    // A console process has one output stream (the pty's): no stderr pipe.
    if (p.createStdErr && !p.emulateConsole) {
        if (Status st = makePipe(false, process.hostEnds.stderrSink, process.clientEnds.stdErr); !st) return st;
    }
    return {};
}

guest::ProcessSpec specOf(schema::ProcessParameters p)
{
    guest::ProcessSpec spec;
    spec.argv = std::move(p.argv);
    spec.workingDirectory = std::move(p.workingDirectory);
    spec.environment = std::move(p.environment);
    spec.user = std::move(p.user);
    spec.console = p.emulateConsole;
    spec.consoleRows = p.consoleHeight;
    spec.consoleColumns = p.consoleWidth;
    return spec;
}

uint64_t processHandleOf(const protocol::Request& request)
{
    if (const auto* h = std::get_if<protocol::HandleParams>(&request.params)) return h->handle;
    return std::get<protocol::SystemCallParams>(request.params).handle;
}

const std::string& documentOf(const protocol::Request& request)
{
    static const std::string kNone;
    const auto* call = std::get_if<protocol::SystemCallParams>(&request.params);
    return call ? call->document : kNone;
}

// Parses the call's document; the error a malformed one gets, before the call waits for anything.
Status validateProcessCall(const protocol::Request& request)
{
    const std::string& doc = documentOf(request);
    switch (request.method) {
        case Method::TerminateProcess:
            return schema::parseTerminateOptions(doc);
        case Method::SignalProcess: {
            auto signal = schema::parseSignalOptions(doc);
            return signal ? Status{} : Status{signal.error()};
        }
        case Method::GetProcessProperties:
            return schema::parseProcessQuery(doc);
        case Method::ModifyProcess: {
            auto modify = schema::parseProcessModifyRequest(doc);
            return modify ? Status{} : Status{modify.error()};
        }
        default:
            return {};
    }
}

Error notConfigured(const ComputeSystem& system)
{
    return makeError(HCS_E_SYSTEM_NOT_CONFIGURED_FOR_OPERATION,
                     "compute system \"" + system.id +
                         "\" has no guest connection (VirtualMachine.GuestConnection): processes need the guest agent");
}

}  // namespace

// ------------------------------------------------------------------------------------- requests

void Service::createProcess(uint64_t session, uint64_t rid, const protocol::CreateProcessParams& params)
{
    SystemPtr system = systemForHandle(session, params.handle, rid);
    if (!system) return;
    if (!system->config.hasGuestAgent()) return replyError(session, rid, notConfigured(*system));
    auto parameters = schema::parseProcessParameters(params.parameters);
    if (!parameters) return replyError(session, rid, parameters.error());
    auto added = system->processes.add(system);
    if (!added) return replyError(session, rid, added.error());
    ProcessPtr process = *added;
    auto undo = [&](const Error& error) {
        process->state = ProcessState::Exited;
        process->startError = error;
        system->processes.removeIfUnused(process);
        replyError(session, rid, error);
    };
    if (Status st = makeStdio(*parameters, *process); !st) return undo(st.error());
    if (Status st = sessions_.addProcessHandle(session, params.process, process); !st) return undo(st.error());
    process->handles = 1;
    process->imageName = parameters->argv[0];
    process->console = parameters->emulateConsole;
    process->createTime = filetimeNow();
    process->spec = specOf(std::move(*parameters));
    process->createSession = session;
    process->createRequest = rid;
    // Through the system's queue, so a CreateProcess sent right after Start runs after it.
    QueuedCall call{session, rid, params.handle, Method::CreateProcess, {}, false, process};
    enqueue(system, std::move(call));
}

void Service::runCreateProcess(const SystemPtr& system, const QueuedCall& call)
{
    const ProcessPtr& process = call.process;
    if (process->state != ProcessState::Starting || process->launched) return;  // already answered
    if (process->handles == 0) {
        return failProcessStart(process, makeError(HCS_E_OPERATION_ALREADY_CANCELLED,
                                                   "every handle of the process was closed before it started"));
    }
    if (system->state() != SystemState::Running) {
        return failProcessStart(
            process, makeError(HCS_E_INVALID_STATE, std::string("CreateProcess needs a running compute system; \"") +
                                                        system->id + "\" is " + stateName(system->state())));
    }
    if (!system->guest) {
        return failProcessStart(process, makeError(HCS_E_CONNECTION_CLOSED, "the guest channel is gone"));
    }
    process->launched = true;
    guest::ProcessCallbacks callbacks;
    callbacks.started = [this, process](Result<uint32_t> pid) { onProcessStarted(process, std::move(pid)); };
    callbacks.exited = [this, process](const guest::ProcessExit& exit) { onProcessExited(process, exit); };
    system->guest->createProcess(std::move(process->spec), std::move(process->hostEnds), std::move(callbacks));
}

void Service::openProcess(uint64_t session, uint64_t rid, const protocol::OpenProcessParams& params)
{
    SystemPtr system = systemForHandle(session, params.handle, rid);
    if (!system) return;
    if (!system->config.hasGuestAgent()) return replyError(session, rid, notConfigured(*system));
    ProcessPtr process = system->processes.findByPid(params.processId);
    if (!process) {
        return replyError(session, rid,
                          makeError(E_INVALIDARG, "no process with id " + std::to_string(params.processId) +
                                                      " in compute system \"" + system->id + "\""));
    }
    if (Status st = sessions_.addProcessHandle(session, params.process, process); !st) {
        return replyError(session, rid, st.error());
    }
    process->handles++;
    reply(session, rid, json::object());
}

void Service::closeProcess(uint64_t session, uint64_t rid, uint64_t handle)
{
    auto process = sessions_.removeProcessHandle(session, handle);
    if (!process) return replyError(session, rid, process.error());
    if (auto system = (*process)->system.lock()) {
        for (auto& waiter : system->processes.takeWaitersOfHandle(session, handle)) {
            replyError(waiter.session, waiter.requestId,
                       makeError(E_HANDLE, "process handle " + std::to_string(handle) + " was closed during the wait"));
        }
    }
    reply(session, rid, json::object());
    releaseProcessHandle(*process);
}

void Service::releaseProcessHandle(const ProcessPtr& process)
{
    if (process->handles > 0) process->handles--;
    if (auto system = process->system.lock()) system->processes.removeIfUnused(process);
}

void Service::waitForProcessExit(uint64_t session, uint64_t rid, const protocol::WaitExitParams& params)
{
    auto process = sessions_.findProcess(session, params.handle);
    if (!process) return replyError(session, rid, process.error());
    const ProcessPtr& p = *process;
    if (p->state == ProcessState::Exited) {
        if (p->startError) return replyError(session, rid, *p->startError);
        return reply(session, rid, schema::toJson(p->status()));
    }
    if (params.timeoutMs == 0) {
        return replyError(session, rid, makeError(HCS_E_OPERATION_TIMEOUT, "the process has not exited"));
    }
    auto system = p->system.lock();
    if (!system) return replyError(session, rid, makeError(HCS_E_SYSTEM_NOT_FOUND, "the compute system is gone"));
    ProcessWaiter waiter;
    waiter.session = session;
    waiter.requestId = rid;
    waiter.handle = params.handle;
    waiter.onTimeout = [this, session, rid] {
        replyError(session, rid, makeError(HCS_E_OPERATION_TIMEOUT, "the process did not exit in time"));
    };
    auto timeout =
        params.timeoutMs == 0xFFFFFFFFu ? std::chrono::milliseconds(0) : std::chrono::milliseconds(params.timeoutMs);
    system->processes.addWaiter(p, std::move(waiter), timeout);
}

void Service::processCall(uint64_t session, const protocol::Request& request)
{
    auto process = sessions_.findProcess(session, processHandleOf(request));
    if (!process) return replyError(session, request.id, process.error());
    if (Status st = validateProcessCall(request); !st) return replyError(session, request.id, st.error());
    if ((*process)->state == ProcessState::Starting) {
        (*process)->afterStart.push_back(
            [this, p = *process, session, request] { runProcessCall(p, session, request); });
        return;
    }
    runProcessCall(*process, session, request);
}

void Service::runProcessCall(const ProcessPtr& process, uint64_t session, const protocol::Request& request)
{
    const uint64_t rid = request.id;
    if (process->startError) return replyError(session, rid, *process->startError);
    const std::string& doc = documentOf(request);
    switch (request.method) {
        case Method::GetProcessInfo:
            // The stdio descriptors went with the CreateProcess reply (see the top of this file).
            return reply(
                session, rid,
                json{
                    {"ProcessId", process->pid}, {"StdInput", nullptr}, {"StdOutput", nullptr}, {"StdError", nullptr}});
        case Method::GetProcessProperties:
            return reply(session, rid, schema::toJson(process->status()));
        default:
            break;
    }
    auto system = process->system.lock();
    if (process->state == ProcessState::Exited || !system || !system->guest) {
        return replyError(
            session, rid,
            makeError(HCS_E_PROCESS_ALREADY_STOPPED, "process " + std::to_string(process->pid) + " has exited"));
    }
    const uint32_t pid = process->pid;
    guest::GuestChannel* channel = system->guest.get();
    switch (request.method) {
        case Method::TerminateProcess:
            return callGuest(system, session, rid,
                             [=](guest::CompletionHandler done) { channel->signalProcess(pid, SIGKILL, done); });
        case Method::SignalProcess: {
            int signal = *schema::parseSignalOptions(doc);
            return callGuest(system, session, rid,
                             [=](guest::CompletionHandler done) { channel->signalProcess(pid, signal, done); });
        }
        case Method::ModifyProcess: {
            auto modify = *schema::parseProcessModifyRequest(doc);
            using Modify = schema::ProcessModifyRequest;
            if (modify.operation == Modify::Operation::ConsoleSize) {
                if (!process->console) {
                    return replyError(session, rid,
                                      makeError(E_INVALIDARG,
                                                "ConsoleSize: the process has no console "
                                                "(it was created without EmulateConsole)"));
                }
                return callGuest(system, session, rid, [=](guest::CompletionHandler done) {
                    channel->resizeConsole(pid, modify.height, modify.width, done);
                });
            }
            if (modify.handle == Modify::Handle::StdOut || modify.handle == Modify::Handle::StdErr) {
                return replyError(session, rid,
                                  makeError(E_NOTIMPL,
                                            "CloseHandle.Handle: hcsd holds only the stdin side; close "
                                            "the StdOut/StdErr descriptor you received instead"));
            }
            // StdIn, or All (the output ends are the client's own descriptors).
            return callGuest(system, session, rid,
                             [=](guest::CompletionHandler done) { channel->closeStdin(pid, done); });
        }
        default:
            return replyError(session, rid, makeError(HCS_E_UNKNOWN_MESSAGE, "not a process call"));
    }
}

void Service::callGuest(const SystemPtr& system, uint64_t session, uint64_t rid,
                        const std::function<void(guest::CompletionHandler)>& start)
{
    const uint64_t id = system->nextGuestCall++;
    system->guestCalls[id] = {session, rid};
    std::weak_ptr<ComputeSystem> weak = system;
    start([this, weak, id](Status status) {
        auto s = weak.lock();
        if (!s) return;
        auto it = s->guestCalls.find(id);
        if (it == s->guestCalls.end()) return;  // answered when the channel went away
        auto call = it->second;
        s->guestCalls.erase(it);
        if (status) return reply(call.session, call.requestId, json::object());
        replyError(call.session, call.requestId, status.error());
    });
}

// --------------------------------------------------------------------------- process lifecycle

void Service::onProcessStarted(const ProcessPtr& process, Result<uint32_t> pid)
{
    if (process->state != ProcessState::Starting) return;
    if (!pid) return failProcessStart(process, pid.error());
    process->state = ProcessState::Running;
    process->pid = *pid;
    HC_LOG(Debug, "hcsd", "process " + std::to_string(*pid) + " (" + process->imageName + ") started");
    json info{{"ProcessId", *pid}, {"StdInput", nullptr}, {"StdOutput", nullptr}, {"StdError", nullptr}};
    std::vector<UniqueFd> fds;
    for (auto [field, fd] : {std::pair{"StdInput", &process->clientEnds.stdIn},
                             {"StdOutput", &process->clientEnds.stdOut},
                             {"StdError", &process->clientEnds.stdErr}}) {
        if (!fd->valid()) continue;
        info[field] = fds.size();
        fds.push_back(std::move(*fd));
    }
    const uint32_t count = static_cast<uint32_t>(fds.size());
    sessions_.send(process->createSession, protocol::encodeResult(process->createRequest, info, count), std::move(fds));
    auto deferred = std::move(process->afterStart);
    process->afterStart.clear();
    for (auto& call : deferred)
        call();
}

void Service::failProcessStart(const ProcessPtr& process, const Error& error)
{
    if (process->state != ProcessState::Starting) return;
    process->state = ProcessState::Exited;
    process->startError = error;
    process->hostEnds = {};
    process->clientEnds = {};
    replyError(process->createSession, process->createRequest, error);
    auto system = process->system.lock();
    if (system) {
        for (auto& waiter : system->processes.takeWaiters(process))
            replyError(waiter.session, waiter.requestId, error);
    }
    auto deferred = std::move(process->afterStart);
    process->afterStart.clear();
    for (auto& call : deferred)
        call();
    if (system) system->processes.removeIfUnused(process);
}

void Service::onProcessExited(const ProcessPtr& process, const guest::ProcessExit& exit)
{
    if (process->state == ProcessState::Exited) return;
    process->state = ProcessState::Exited;
    process->exit = exit;
    const json data = schema::toJson(process->status());
    HC_LOG(Debug, "hcsd", "process " + std::to_string(process->pid) + " exited: " + data.dump());
    sessions_.forEachHandleOf(process.get(), [this, &data](uint64_t session, uint64_t handle) {
        sessions_.send(session, protocol::encodeEvent("ProcessExited", handle, data));
    });
    auto system = process->system.lock();
    if (!system) return;
    for (auto& waiter : system->processes.takeWaiters(process))
        reply(waiter.session, waiter.requestId, data);
    system->processes.removeIfUnused(process);
}

// ------------------------------------------------------------------------------ guest channel

void Service::openGuestChannel(const SystemPtr& system)
{
    if (!system->config.hasGuestAgent() || !options_.guestChannels) return;
    ComputeSystem* raw = system.get();
    auto find = [this, raw]() -> SystemPtr {
        auto it = systems_.find(raw->id);
        return (it != systems_.end() && it->second.get() == raw) ? it->second : nullptr;
    };
    guest::ChannelCallbacks callbacks;
    callbacks.onConnected = [this, find](const guest::AgentInfo& info) {
        if (auto s = find()) onAgentConnected(s, info);
    };
    callbacks.onDisconnected = [find](const Error& error) {
        if (auto s = find()) HC_LOG(Warn, "hcsd", "guest agent of \"" + s->id + "\" disconnected: " + error.message);
    };
    guest::ChannelOptions channelOptions;
    channelOptions.socketPath = SystemStore::agentSocketPath(system->directory);
    channelOptions.connectTimeout = options_.agentTimeout;
    system->guest = options_.guestChannels->open(loop_, channelOptions, std::move(callbacks));
}

void Service::closeGuestChannel(const SystemPtr& system, const Error& error)
{
    system->guest.reset();
    auto calls = std::move(system->guestCalls);
    system->guestCalls.clear();
    for (const auto& [id, call] : calls)
        replyError(call.session, call.requestId, error);
    for (auto& process : system->processes.all()) {
        if (process->state == ProcessState::Starting) {
            failProcessStart(process, error);
        } else if (process->state == ProcessState::Running) {
            onProcessExited(process, guest::ProcessExit{-1, std::nullopt, error});
        }
    }
}

void Service::waitForAgent(const SystemPtr& system, const QueuedCall& start)
{
    const auto timeout = options_.agentTimeout;
    uint64_t timer = loop_.addTimer(timeout, [this, system, timeout] {
        if (!system->agentWait) return;
        QueuedCall call = system->agentWait->call;
        system->agentWait.reset();
        replyError(call.session, call.requestId,
                   makeError(HCS_E_CONNECTION_TIMEOUT,
                             "Start: the guest agent did not connect within " + std::to_string(timeout.count()) +
                                 " ms (the compute system is running; its processes cannot start until it does)"));
        finishInFlight(system);
    });
    system->agentWait = ComputeSystem::AgentWait{start, timer};
}

void Service::onAgentConnected(const SystemPtr& system, const guest::AgentInfo& info)
{
    HC_LOG(Info, "hcsd",
           "guest agent of \"" + system->id + "\" connected (protocol " + std::to_string(info.protocolVersion) +
               ", version " + info.agentVersion + ")");
    if (!system->agentWait) return;
    loop_.cancelTimer(system->agentWait->timer);
    QueuedCall call = system->agentWait->call;
    system->agentWait.reset();
    reply(call.session, call.requestId, json::object());
    finishInFlight(system);
}

json Service::processList(const ComputeSystem& system) const
{
    json list = json::array();
    for (const auto& process : system.processes.all()) {
        if (process->state != ProcessState::Running) continue;
        list.push_back(json{{"ProcessId", process->pid},
                            {"ImageName", process->imageName},
                            {"CreateTimestamp", rfc3339(process->createTime)}});
    }
    return list;
}

json Service::guestConnectionProperties(const ComputeSystem& system) const
{
    json g{{"Configured", system.config.hasGuestAgent()}, {"Connected", false}};
    if (system.guest) {
        if (auto agent = system.guest->agent()) {
            g["Connected"] = true;
            g["ProtocolVersion"] = agent->protocolVersion;
            g["AgentVersion"] = agent->agentVersion;
            g["GuestDefinedCapabilities"] = agent->capabilities;
        }
    }
    return g;
}

}  // namespace hc::hcs::service
