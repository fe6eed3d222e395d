// hcs_local_hcsd: an hcsd stand-in that speaks the real wire protocol (protocol/messages.h) and whose
// one "compute system" is this machine: the process calls run local processes, their stdio ends travel
// to the client as SCM_RIGHTS descriptors exactly as hcsd sends them, and ProcessExited follows the
// child's exit. It lets the client library's descriptor path and hcsctl exec be tested without QEMU or
// a guest agent. Everything else is refused with E_NOTIMPL.
//
//   hcs_local_hcsd --socket PATH      (exits when its parent test kills it, or after 120 s)
//
// Single-threaded: one poll loop over the listening socket, the clients and a SIGCHLD self-pipe.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "hcs/ipc/descriptor_passing.h"
#include "hcs/protocol/messages.h"

using hc::UniqueFd;
using nlohmann::json;
namespace protocol = hc::hcs::protocol;

namespace {

int g_childPipe = -1;

void onChild(int)
{
    const int saved = errno;
    char byte = 0;
    (void)!write(g_childPipe, &byte, 1);
    errno = saved;
}

struct LocalProcess {
    bool exited = false;
    int exitCode = 0;
    int signal = 0;
    UniqueFd console;  // the pty master of an EmulateConsole process
};

struct Client {
    UniqueFd fd;
    std::string input;
    std::map<uint64_t, pid_t> processes;  // process handle number -> pid
};

struct PendingWait {
    int client;
    uint64_t requestId;
    pid_t pid;
};

std::map<pid_t, LocalProcess> g_processes;
std::map<int, Client> g_clients;
std::vector<PendingWait> g_waits;

void send(int client, const std::string& line, std::vector<UniqueFd> fds = {})
{
    std::vector<int> raw;
    for (auto& fd : fds)
        raw.push_back(fd.get());
    (void)hc::hcs::sendAllWithDescriptors(client, line, raw);
}  // our copies of the descriptors close here: the client holds the only ones

json statusOf(pid_t pid)
{
    const LocalProcess& p = g_processes[pid];
    json status{{"ProcessId", pid}, {"Exited", p.exited}, {"ExitCode", p.exitCode}, {"LastWaitResult", 0}};
    if (p.signal != 0) status["Signal"] = p.signal;
    return status;
}

std::string fail(uint64_t id, HRESULT hr, const std::string& message)
{
    return protocol::encodeError(id, hr, message);
}

// Runs ProcessParameters locally; replies with the descriptors the parameters ask for.
void createProcess(int client, uint64_t id, const protocol::CreateProcessParams& params)
{
    json parameters = json::parse(params.parameters, nullptr, false);
    std::vector<std::string> argv;
    if (parameters.contains("CommandArgs"))
        argv = parameters["CommandArgs"].get<std::vector<std::string>>();
    else if (parameters.contains("CommandLine"))
        argv = {"/bin/sh", "-c", parameters["CommandLine"].get<std::string>()};
    if (argv.empty()) return send(client, fail(id, HCS_E_INVALID_JSON, "CommandArgs: no command"));
    // A broken hcsd for the client's sake: the reply announces a descriptor it does not send.
    if (argv[0] == "__lose_descriptors__")
        return send(client, protocol::encodeResult(id, {{"ProcessId", 1}, {"StdOutput", 0}}, 1));
    const bool console = parameters.value("EmulateConsole", false);
    const bool wantIn = parameters.value("CreateStdInPipe", false);
    const bool wantOut = parameters.value("CreateStdOutPipe", false);
    const bool wantErr = parameters.value("CreateStdErrPipe", false);

    int childIn = open("/dev/null", O_RDONLY | O_CLOEXEC), childOut = -1, childErr = -1;
    UniqueFd clientIn, clientOut, clientErr, master;
    std::string slaveName;
    if (console) {
        master.reset(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
        if (!master.valid() || grantpt(master.get()) != 0 || unlockpt(master.get()) != 0)
            return send(client, fail(id, E_FAIL, "no pty"));
        slaveName = ptsname(master.get());
        if (parameters.contains("ConsoleSize")) {
            winsize size{};
            size.ws_row = parameters["ConsoleSize"][0].get<unsigned short>();
            size.ws_col = parameters["ConsoleSize"][1].get<unsigned short>();
            ioctl(master.get(), TIOCSWINSZ, &size);
        }
        if (wantIn) clientIn.reset(fcntl(master.get(), F_DUPFD_CLOEXEC, 3));
        if (wantOut) clientOut.reset(fcntl(master.get(), F_DUPFD_CLOEXEC, 3));
    } else {
        int fds[2];
        if (wantIn && pipe2(fds, O_CLOEXEC) == 0) {
            close(childIn);
            childIn = fds[0];
            clientIn.reset(fds[1]);
        }
        if (wantOut && pipe2(fds, O_CLOEXEC) == 0) {
            clientOut.reset(fds[0]);
            childOut = fds[1];
        }
        if (wantErr && pipe2(fds, O_CLOEXEC) == 0) {
            clientErr.reset(fds[0]);
            childErr = fds[1];
        }
    }
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGCHLD, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        setsid();
        if (console) {
            int slave = open(slaveName.c_str(), O_RDWR);
            ioctl(slave, TIOCSCTTY, 0);
            dup2(slave, 0);
            dup2(slave, 1);
            dup2(slave, 2);
        } else {
            int null = open("/dev/null", O_WRONLY);
            dup2(childIn, 0);
            dup2(childOut >= 0 ? childOut : null, 1);
            dup2(childErr >= 0 ? childErr : null, 2);
        }
        if (parameters.contains("WorkingDirectory") && chdir(parameters["WorkingDirectory"].get<std::string>().c_str()))
            _exit(126);
        if (parameters.contains("Environment"))
            for (auto& [name, value] : parameters["Environment"].items())
                setenv(name.c_str(), value.get<std::string>().c_str(), 1);
        std::vector<char*> args;
        for (auto& arg : argv)
            args.push_back(arg.data());
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    for (int fd : {childIn, childOut, childErr})
        if (fd >= 0) close(fd);
    if (pid < 0) return send(client, fail(id, E_FAIL, "fork failed"));
    g_processes[pid].console = std::move(master);
    g_clients[client].processes[params.process] = pid;

    json info{{"ProcessId", pid}, {"StdInput", nullptr}, {"StdOutput", nullptr}, {"StdError", nullptr}};
    std::vector<UniqueFd> fds;
    for (auto [name, fd] :
         {std::pair{"StdInput", &clientIn}, std::pair{"StdOutput", &clientOut}, std::pair{"StdError", &clientErr}}) {
        if (!fd->valid()) continue;
        info[name] = fds.size();
        fds.push_back(std::move(*fd));
    }
    const std::string line = protocol::encodeResult(id, info, static_cast<uint32_t>(fds.size()));
    send(client, line, std::move(fds));
}

pid_t processOf(int client, uint64_t handle)
{
    auto& processes = g_clients[client].processes;
    auto it = processes.find(handle);
    return it == processes.end() ? 0 : it->second;
}

void handle(int client, const std::string& line)
{
    std::optional<uint64_t> idOut;
    auto request = protocol::decodeRequest(line, &idOut);
    if (!request) return send(client, protocol::encodeError(idOut, request.hr(), request.error().message));
    const uint64_t id = request->id;
    auto ok = [&](const json& result) { send(client, protocol::encodeResult(id, result)); };
    using protocol::Method;
    switch (request->method) {
        case Method::Hello:
            return ok({{"protocol", 1}, {"version", "local"}});
        case Method::OpenComputeSystem:
        case Method::CloseComputeSystem:
        case Method::CloseProcess:
        case Method::Cancel:
            return ok(json::object());
        case Method::GetComputeSystemProperties: {
            json list = json::array();
            for (auto& [pid, process] : g_processes)
                if (!process.exited) list.push_back({{"ProcessId", pid}, {"ImageName", "local"}});
            return ok({{"Id", "local"}, {"SystemType", "VirtualMachine"}, {"ProcessList", list}});
        }
        case Method::CreateProcess:
            return createProcess(client, id, std::get<protocol::CreateProcessParams>(request->params));
        case Method::OpenProcess: {
            auto& params = std::get<protocol::OpenProcessParams>(request->params);
            if (!g_processes.count(static_cast<pid_t>(params.processId)))
                return send(client, fail(id, E_INVALIDARG, "no process " + std::to_string(params.processId)));
            g_clients[client].processes[params.process] = static_cast<pid_t>(params.processId);
            return ok(json::object());
        }
        default:
            break;
    }
    // The calls on one process.
    uint64_t handleNumber = 0;
    std::string document;
    if (auto* p = std::get_if<protocol::SystemCallParams>(&request->params)) {
        handleNumber = p->handle;
        document = p->document;
    } else if (auto* h = std::get_if<protocol::HandleParams>(&request->params)) {
        handleNumber = h->handle;
    } else if (auto* w = std::get_if<protocol::WaitExitParams>(&request->params)) {
        handleNumber = w->handle;
    }
    pid_t pid = processOf(client, handleNumber);
    if (pid == 0) return send(client, fail(id, E_HANDLE, "no such process handle"));
    LocalProcess& process = g_processes[pid];
    json options = document.empty() ? json::object() : json::parse(document, nullptr, false);
    switch (request->method) {
        case Method::SignalProcess:
            if (process.exited) return send(client, fail(id, HCS_E_PROCESS_ALREADY_STOPPED, "exited"));
            kill(pid, options.value("Signal", SIGTERM));
            return ok(json::object());
        case Method::TerminateProcess:
            if (process.exited) return send(client, fail(id, HCS_E_PROCESS_ALREADY_STOPPED, "exited"));
            kill(pid, SIGKILL);
            return ok(json::object());
        case Method::GetProcessProperties:
            return ok(statusOf(pid));
        case Method::GetProcessInfo:
            return ok({{"ProcessId", pid}});
        case Method::ModifyProcess:
            if (options.value("Operation", "") == "ConsoleSize" && process.console.valid()) {
                winsize size{};
                size.ws_row = options["ConsoleSize"]["Height"].get<unsigned short>();
                size.ws_col = options["ConsoleSize"]["Width"].get<unsigned short>();
                ioctl(process.console.get(), TIOCSWINSZ, &size);
            }
            return ok(json::object());
        case Method::WaitForProcessExit:
            if (process.exited) return ok(statusOf(pid));
            g_waits.push_back({client, id, pid});
            return;
        default:
            return send(client, fail(id, E_NOTIMPL,
                                     std::string(protocol::methodName(request->method)) +
                                         " is not something the local stand-in does"));
    }
}

void reapChildren()
{
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        LocalProcess& process = g_processes[pid];
        process.exited = true;
        process.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        process.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        for (auto& [fd, client] : g_clients)
            for (auto& [number, owner] : client.processes)
                if (owner == pid) send(fd, protocol::encodeEvent("ProcessExited", number, statusOf(pid)));
        std::erase_if(g_waits, [&](const PendingWait& wait) {
            if (wait.pid != pid) return false;
            send(wait.client, protocol::encodeResult(wait.requestId, statusOf(pid)));
            return true;
        });
    }
}

}  // namespace

int main(int argc, char** argv)
{
    std::string socketPath;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--socket") == 0) socketPath = argv[i + 1];
    if (socketPath.empty()) return 2;
    alarm(120);  // never outlives a test that forgot it
    int childPipe[2];
    if (pipe2(childPipe, O_CLOEXEC | O_NONBLOCK) != 0) return 3;
    g_childPipe = childPipe[1];
    signal(SIGCHLD, onChild);
    signal(SIGPIPE, SIG_IGN);

    UniqueFd listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socketPath.c_str());
    unlink(socketPath.c_str());
    if (!listener.valid() || bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener.get(), 16) != 0)
        return 4;
    std::printf("ready\n");
    std::fflush(stdout);

    for (;;) {
        std::vector<pollfd> fds{{listener.get(), POLLIN, 0}, {childPipe[0], POLLIN, 0}};
        for (auto& [fd, client] : g_clients)
            fds.push_back({fd, POLLIN, 0});
        if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return 5;
        if (fds[1].revents & POLLIN) {
            char drain[64];
            while (read(childPipe[0], drain, sizeof drain) > 0) {
            }
            reapChildren();
        }
        if (fds[0].revents & POLLIN) {
            int fd = accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
            if (fd >= 0) {
                g_clients[fd].fd.reset(fd);
                send(fd, protocol::encodeGreeting("local"));
            }
        }
        for (size_t i = 2; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            const int fd = fds[i].fd;
            char buffer[65536];
            ssize_t n = read(fd, buffer, sizeof buffer);
            if (n <= 0) {
                std::erase_if(g_waits, [&](const PendingWait& wait) { return wait.client == fd; });
                g_clients.erase(fd);
                continue;
            }
            std::string& input = g_clients[fd].input;
            input.append(buffer, static_cast<size_t>(n));
            size_t newline;
            while ((newline = input.find('\n')) != std::string::npos) {
                std::string line = input.substr(0, newline);
                input.erase(0, newline + 1);
                handle(fd, line);
            }
        }
    }
}
