// The seam between hcsd's core (service/) and the guest agent of one compute system. The core asks for
// processes through this interface only; guest/agent_channel.* implements it over the virtio-serial
// port whose host end is a Unix socket QEMU listens on (docs/guest-agent.md has the wire protocol),
// and the service's unit tests implement it with a fake they drive by hand (connect now, start now,
// exit now), so the process table, the calls and the events are tested without a guest.
//
// Threading: everything runs on hcsd's EventLoop thread. Callbacks never run from inside the call
// that registers them (they are posted or come from the loop), so the core may call back into the
// channel from a callback. Destroying a channel ends every process it knows with `onExit` NOT called
// (the owner tears its own table down) and closes every stdio end it was given.
//
// Lifecycle of a channel: created when the system's VM is launched (or re-adopted) with a
// GuestConnection -> connecting (the port may have no reader yet) -> onConnected(info) each time an
// agent says hello (a restarted agent says hello again: every process of the previous agent first ends
// through onExit with an error) -> onDisconnected(error) when the agent stops answering, breaks the
// protocol or exceeds a bound (then it is as if the agent restarted: processes end with that error,
// and a later hello reconnects) -> destroyed by the owner when the VM is gone.
//
// Lifecycle of a process: createProcess -> `started(pid)` or `started(error)` -> output flows between the
// guest and the stdio ends -> `exited(status)` exactly once, AFTER every byte of stdout/stderr the
// process wrote has been written to the host ends (or the host closed that end), never before
// `started`. The channel owns the host ends it was given until then and closes them when the stream
// ends (EOF from the guest for stdout/stderr; stdin closes when the host end reads EOF or on
// closeStdin).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/event_loop.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace hc::hcs::guest {

// What hcsd knows of the connected agent (HcsGetComputeSystemProperties, PropertyTypes GuestConnection).
struct AgentInfo {
    uint32_t protocolVersion = 0;
    std::string agentVersion;
    std::vector<std::string> capabilities;  // e.g. "exec", "pty", "signal", "resize", "user"
};

// One process to start, already validated and resolved by the core (schema: ProcessParameters).
struct ProcessSpec {
    std::vector<std::string> argv;  // argv[0] is looked up in the guest's PATH when it has no '/'
    std::string workingDirectory;   // "" = the agent's default ("/")
    std::vector<std::pair<std::string, std::string>> environment;  // the whole environment, in order
    std::string user;      // "" = the agent's user (root); otherwise a name or a numeric uid[:gid]
    bool console = false;  // EmulateConsole: a pty; its output comes on stdout, stderr is unused
    uint16_t consoleRows = 0, consoleColumns = 0;  // 0 = the agent's default (24 x 80)
};

// hcsd's ends of the process's stdio (pipes or socketpairs the core made; the other ends go to the
// client). An invalid end = that stream was not requested: the guest process gets /dev/null there.
struct StdioEnds {
    UniqueFd stdinSource;  // the channel reads it and forwards to the guest process's stdin
    UniqueFd stdoutSink;   // the channel writes the guest process's stdout (or the pty's output) here
    UniqueFd stderrSink;   // ... and its stderr
};

// How a process ended (schema: ProcessStatus). Exactly one of: exited with a code, killed by a signal,
// or lost (the agent or the VM went away: `error` says why; exitCode is then -1).
struct ProcessExit {
    int exitCode = -1;           // the wait status' exit code, or 128 + signal (like a shell)
    std::optional<int> signal;   // set when a signal ended it
    std::optional<Error> error;  // set when the process's fate is unknown (agent/VM gone)
};

struct ProcessCallbacks {
    std::function<void(Result<uint32_t> pid)> started;
    std::function<void(const ProcessExit&)> exited;  // never after a failed `started`
};

using CompletionHandler = std::function<void(Status)>;

class GuestChannel {
public:
    virtual ~GuestChannel() = default;

    // The agent currently connected, if any.
    virtual std::optional<AgentInfo> agent() const = 0;

    // Starts a process. Fails through `started` with HCS_E_CONNECTION_TIMEOUT (no agent within the
    // channel's connect timeout), HCS_E_CONNECTION_CLOSED (the agent went away), or the agent's error
    // (e.g. HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) naming argv[0]; E_ACCESSDENIED; E_INVALIDARG).
    virtual void createProcess(ProcessSpec spec, StdioEnds ends, ProcessCallbacks callbacks) = 0;
    // Sends `signal` (a Linux signal number) to a started process. HCS_E_PROCESS_ALREADY_STOPPED when it
    // has exited; E_INVALIDARG for a number the guest does not know.
    virtual void signalProcess(uint32_t pid, int signal, CompletionHandler done) = 0;
    // Closes the guest process's stdin now (ModifyProcess CloseHandle StdIn): the channel stops reading
    // the host end and closes it.
    virtual void closeStdin(uint32_t pid, CompletionHandler done) = 0;
    // Resizes a console process's pty (ModifyProcess ConsoleSize). E_INVALIDARG without a console.
    virtual void resizeConsole(uint32_t pid, uint16_t rows, uint16_t columns, CompletionHandler done) = 0;
};

struct ChannelCallbacks {
    std::function<void(const AgentInfo&)> onConnected;
    std::function<void(const Error&)> onDisconnected;
};

struct ChannelOptions {
    std::string socketPath;                           // the host end QEMU listens on (chardev socket,server=on)
    std::chrono::milliseconds connectTimeout{60000};  // how long createProcess waits for an agent
    std::chrono::milliseconds replyTimeout{15000};    // how long a connected agent may take to answer a call
};

// The virtio-serial port the agent opens in the guest (/dev/virtio-ports/<name>).
constexpr const char* kAgentPortName = "org.hostcompute.agent.0";

// QEMU arguments that give a VM the agent's port, its host end a Unix socket QEMU listens on at
// `socketPath` (server=on,wait=off: hcsd connects, and connects again after an hcsd restart). Commas in
// the path are doubled, QEMU's escape inside an option value.
inline std::vector<std::string> qemuAgentArguments(const std::string& socketPath)
{
    std::string escaped;
    for (char c : socketPath) {
        escaped += c;
        if (c == ',') escaped += ',';
    }
    return {"-device",  "virtio-serial-pci,id=hcs-agent-serial",
            "-chardev", "socket,id=hcs-agent,path=" + escaped + ",server=on,wait=off",
            "-device",  std::string("virtserialport,bus=hcs-agent-serial.0,chardev=hcs-agent,name=") + kAgentPortName};
}

// Makes channels: the real factory (agent_channel.h) or a test's fake.
class GuestChannelFactory {
public:
    virtual ~GuestChannelFactory() = default;
    virtual std::unique_ptr<GuestChannel> open(EventLoop& loop, const ChannelOptions& options,
                                               ChannelCallbacks callbacks) = 0;
};

}  // namespace hc::hcs::guest
