// The guest agent's core: one connection to the host (the virtio-serial port, or a socketpair in
// tests), the processes it started, and their stdio, all on one EventLoop (one thread, poll, every
// descriptor non-blocking).
//
// Lifecycle of the connection: waiting for the host (the port reports POLLHUP while no host has the
// socket open) -> connected: the agent sends Hello at once and answers every HelloRequest -> the host
// goes away (POLLHUP or EOF): every process is killed (SIGKILL) and forgotten, the decoder and send
// queue are cleared, and the agent waits for the next host. (A restarted hcsd therefore finds no
// processes from before; docs/guest-agent.md.)
//
// Output path: a forwarded stdout/stderr pipe is not read by the agent. Its frame header is written
// into `staging`, a pipe of the agent's own, and the process's pipe pages are spliced in behind it;
// flush() splices the staging pipe into the port (virtio_console takes the pages without copying). The
// port's send order is: the staging pipe, then sendQueue_; a frame enters the staging pipe only while
// sendQueue_ is empty, so the order is the order in which frames were made. Consoles, discarded
// streams, and ports that cannot splice (EINVAL) use read() and sendQueue_.
//
// Lifecycle of a process: CreateProcess -> Reply with the pid (or the failure) -> stdio flows under
// per-stream credit -> the process is reaped (pidfd) and stdout/stderr reach EOF, in either order ->
// the EOF frames have been queued, then Exited is queued -> forgotten. Frames for a forgotten id are
// ignored (they crossed the Exited frame on the wire).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/event_loop.h"
#include "base/unique_fd.h"
#include "hcs/guest/control_messages.h"
#include "hcs/guest/wire.h"

namespace hc::guest_agent {

namespace wire = hc::hcs::guest::wire;

struct AgentOptions {
    std::string agentVersion = "0.1.0";
    std::string passwdPath = "/etc/passwd";
    // While no host is connected the port polls as HUP; look again this often.
    std::chrono::milliseconds hostPollInterval{100};
    // Stop reading process output while this much is queued for the port (resume below half).
    size_t sendHighWater = 1024 * 1024;
    // Move forwarded pipe output to the port with splice() instead of read()+write().
    bool splice = true;
    // Set when the port is a connected socket (container mode): the host going away ends this core's
    // connection for good, so instead of polling the port again the core posts this (its owner then
    // destroys it and serves the next host on a new connection).
    std::function<void()> onHostGone;
};

class AgentCore {
public:
    AgentCore(EventLoop& loop, UniqueFd port, AgentOptions options = {});
    ~AgentCore();  // kills and reaps every process
    AgentCore(const AgentCore&) = delete;
    AgentCore& operator=(const AgentCore&) = delete;

    const std::string& session() const { return session_; }
    bool hostConnected() const { return connected_; }
    size_t processCount() const { return processes_.size(); }
    size_t queuedBytes() const { return sendQueue_.size() - sendOffset_ + stagedBytes_; }
    // Output bytes that went to the port by splice (tests check the path was taken).
    uint64_t splicedBytes() const { return splicedBytes_; }

private:
    struct OutStream {
        UniqueFd fd;
        uint32_t credit = wire::kStreamWindow;
        bool forward = false;  // false: read and discard (a console whose output was not requested)
        bool watched = false;
        size_t pipeSlots = 0;  // buffers the process's pipe holds; 0: not a pipe (a console), never spliced
    };
    struct InStream {
        UniqueFd fd;
        std::string queue;
        bool eof = false;
        bool watched = false;
    };
    struct Process {
        uint32_t id = 0;
        pid_t pid = -1;
        UniqueFd pidfd;
        UniqueFd ptyMaster;
        InStream in;
        OutStream out[2];  // stdout, stderr
        bool reaped = false;
        wire::ExitedMessage exit;
    };

    void watchPort();
    void onPort(short revents);
    void hostGone();
    void sendHello();
    void readPort();
    void handleFrame(const wire::Frame& frame);
    void createProcess(uint32_t id, const std::string& payload);
    void reply(wire::FrameType type, uint32_t id, const wire::Reply& r);
    void send(wire::FrameType type, uint32_t id, std::string_view payload);
    void flush();
    bool flushStaging();
    bool stageOutput(Process& p, int stream);
    void resetStaging();
    void unstage();

    void updateWatches(Process& p);
    void onOutput(uint32_t id, int stream);
    void onInput(uint32_t id);
    void onReaped(uint32_t id);
    void closeOutput(Process& p, int stream);
    void closeInput(Process& p);
    void maybeFinish(uint32_t id);
    void killAll();

    EventLoop& loop_;
    UniqueFd port_;
    AgentOptions options_;
    std::string session_;
    bool connected_ = false;
    bool portWatched_ = false;
    uint64_t pollTimer_ = 0;
    wire::FrameDecoder decoder_;
    std::string sendQueue_;
    size_t sendOffset_ = 0;
    // The staging pipe (see the top of this file). Its slots are counted conservatively: a frame takes at
    // most 1 + its source pipe's slots, and the count restarts whenever the pipe is empty.
    UniqueFd stagingRead_, stagingWrite_;
    size_t stagingSlots_ = 0;
    size_t stagedSlots_ = 0;
    size_t stagedBytes_ = 0;
    uint64_t splicedBytes_ = 0;
    bool outputPaused_ = false;
    std::chrono::steady_clock::time_point lastHello_{};
    std::map<uint32_t, std::unique_ptr<Process>> processes_;
};

// Capabilities this agent announces in Hello.
extern const char* const kAgentCapabilities[];

}  // namespace hc::guest_agent
