// AgentChannel (the host side) against the real agent core, both on one EventLoop, joined by a Unix
// socket standing in for QEMU's: processes, stdio, flow control, ordering, restarts; and against
// scripted hostile agents: every violation disconnects only that channel, with an error.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../guest/agent/agent_core.h"
#include "hcs/guest/agent_channel.h"
#include "test_host.h"

using namespace guest_test;
using namespace hc::hcs::guest;
using hc::guest_agent::AgentCore;

namespace {

// Records one process's callbacks.
struct ProcessRecord {
    std::optional<hc::Result<uint32_t>> started;
    std::optional<ProcessExit> exited;
    int startedCalls = 0, exitedCalls = 0;
    ProcessCallbacks callbacks()
    {
        return ProcessCallbacks{[this](hc::Result<uint32_t> pid) {
                                    started = pid;
                                    ++startedCalls;
                                },
                                [this](const ProcessExit& e) {
                                    exited = e;
                                    ++exitedCalls;
                                }};
    }
    uint32_t pid() const { return started && started->ok() ? started->value() : 0; }
};

struct ChannelRecord {
    std::vector<AgentInfo> connected;
    std::vector<hc::Error> disconnected;
    ChannelCallbacks callbacks()
    {
        return ChannelCallbacks{[this](const AgentInfo& info) { connected.push_back(info); },
                                [this](const hc::Error& e) { disconnected.push_back(e); }};
    }
};

ProcessSpec spec(std::vector<std::string> argv)
{
    ProcessSpec s;
    s.argv = std::move(argv);
    s.environment = {{"PATH", "/usr/bin:/bin"}};
    return s;
}

class AgentChannelTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        qemu = std::make_unique<FakeQemuSocket>(loop, [this](hc::UniqueFd fd) {
            connection = std::move(fd);
            if (startAgentOnAccept) startAgent();
        });
    }

    void TearDown() override
    {
        channel.reset();
        agent.reset();
        qemu.reset();
    }

    void startAgent() { agent = std::make_unique<AgentCore>(loop, hc::UniqueFd(dup(connection.get()))); }

    void open(ChannelLimits limits = {}, std::chrono::milliseconds connectTimeout = 10s,
              std::chrono::milliseconds replyTimeout = 10s)
    {
        ChannelOptions options;
        options.socketPath = qemu->path();
        options.connectTimeout = connectTimeout;
        options.replyTimeout = replyTimeout;
        limits.reconnectDelay = 50ms;
        limits.helloInterval = 100ms;
        auto made = AgentChannelFactory(limits).open(loop, options, record.callbacks());
        channel.reset(static_cast<AgentChannel*>(made.release()));
    }

    void openConnected()
    {
        open();
        ASSERT_TRUE(runUntil(loop, [&] { return !record.connected.empty(); }));
    }

    // Runs `argv` with stdout (and stderr) pipes; returns the read ends.
    std::pair<hc::UniqueFd, hc::UniqueFd> run(ProcessRecord& r, ProcessSpec s, bool withStderr = false,
                                              hc::UniqueFd stdinSource = {})
    {
        auto [outRead, outWrite] = makePipe();
        auto [errRead, errWrite] = makePipe();
        StdioEnds ends;
        ends.stdinSource = std::move(stdinSource);
        ends.stdoutSink = std::move(outWrite);
        if (withStderr) ends.stderrSink = std::move(errWrite);
        channel->createProcess(std::move(s), std::move(ends), r.callbacks());
        return {std::move(outRead), withStderr ? std::move(errRead) : hc::UniqueFd()};
    }

    hc::EventLoop loop;
    std::unique_ptr<FakeQemuSocket> qemu;
    hc::UniqueFd connection;
    bool startAgentOnAccept = true;
    std::unique_ptr<AgentCore> agent;
    ChannelRecord record;
    std::unique_ptr<AgentChannel> channel;
};

TEST_F(AgentChannelTest, ConnectsAndKnowsTheAgent)
{
    openConnected();
    ASSERT_EQ(record.connected.size(), 1u);
    EXPECT_EQ(record.connected[0].protocolVersion, wire::kProtocolVersion);
    ASSERT_TRUE(channel->agent());
    EXPECT_FALSE(channel->agent()->capabilities.empty());
    EXPECT_EQ(channel->stats().hellos, 1u);
}

TEST_F(AgentChannelTest, ExitCodeStdoutAndStderrApartAndOutputBeforeExit)
{
    openConnected();
    ProcessRecord r;
    auto [out, err] = run(r, spec({"sh", "-c", "echo to-out; echo to-err >&2; exit 3"}), true);
    std::string outAtExit, errAtExit;
    ASSERT_TRUE(runUntil(loop, [&] { return r.exited.has_value(); }));
    // When exited runs, every byte is already in the pipes and their write ends are closed.
    outAtExit = readToEof(loop, out.get(), 1s);
    errAtExit = readToEof(loop, err.get(), 1s);
    ASSERT_TRUE(r.started && r.started->ok());
    EXPECT_GT(r.pid(), 0u);
    EXPECT_EQ(r.exited->exitCode, 3);
    EXPECT_FALSE(r.exited->error);
    EXPECT_EQ(outAtExit, "to-out\n");
    EXPECT_EQ(errAtExit, "to-err\n");
    EXPECT_EQ(r.exitedCalls, 1);
}

TEST_F(AgentChannelTest, NotFoundFailsStarted)
{
    openConnected();
    ProcessRecord r;
    run(r, spec({"/no/such/program"}));
    ASSERT_TRUE(runUntil(loop, [&] { return r.started.has_value(); }));
    EXPECT_EQ(r.started->hr(), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    runUntil(
        loop, [] { return false; }, 100ms);
    EXPECT_EQ(r.exitedCalls, 0);
}

TEST_F(AgentChannelTest, TwentyProcessesAtOnce)
{
    openConnected();
    std::vector<ProcessRecord> records(20);
    std::vector<hc::UniqueFd> outs;
    for (int i = 0; i < 20; ++i)
        outs.push_back(run(records[i], spec({"sh", "-c", "sleep 0.2; echo process-" + std::to_string(i)})).first);
    std::vector<std::string> got(20);
    ASSERT_TRUE(runUntil(
        loop,
        [&] {
            for (auto& r : records) {
                if (!r.exited) return false;
            }
            return true;
        },
        30s));
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(readToEof(loop, outs[i].get(), 1s), "process-" + std::to_string(i) + "\n");
        EXPECT_EQ(records[i].exited->exitCode, 0);
    }
}

TEST_F(AgentChannelTest, StdinThroughCatIsExact)
{
    openConnected();
    auto [inRead, inWrite] = makePipe();
    ProcessRecord r;
    auto out = run(r, spec({"cat"}), false, std::move(inRead)).first;
    std::string input;
    for (uint32_t i = 0; input.size() < 8 * 1024 * 1024; ++i)
        input.append(reinterpret_cast<const char*>(&i), sizeof i);
    fcntl(inWrite.get(), F_SETFL, O_NONBLOCK);
    fcntl(out.get(), F_SETFL, O_NONBLOCK);
    size_t written = 0;
    std::string output;
    ASSERT_TRUE(runUntil(
        loop,
        [&] {
            while (written < input.size()) {
                ssize_t n =
                    write(inWrite.get(), input.data() + written, std::min<size_t>(65536, input.size() - written));
                if (n <= 0) break;
                written += static_cast<size_t>(n);
            }
            if (written == input.size() && inWrite.valid()) inWrite.reset();
            char buffer[65536];
            ssize_t n;
            while ((n = read(out.get(), buffer, sizeof buffer)) > 0)
                output.append(buffer, static_cast<size_t>(n));
            return r.exited.has_value() && n == 0;
        },
        60s));
    EXPECT_EQ(output.size(), input.size());
    EXPECT_TRUE(output == input);
    EXPECT_EQ(r.exited->exitCode, 0);
}

TEST_F(AgentChannelTest, AStalledReaderBoundsBuffersAndDoesNotStallOthers)
{
    openConnected();
    ProcessRecord stalled, other;
    auto stalledOut = run(stalled, spec({"head", "-c", "8000000", "/dev/zero"})).first;
    runUntil(
        loop, [] { return false; }, 500ms);  // let it fill every buffer on the way
    auto otherOut = run(other, spec({"sh", "-c", "echo still-flowing"})).first;
    ASSERT_TRUE(runUntil(loop, [&] { return other.exited.has_value(); }));
    EXPECT_EQ(readToEof(loop, otherOut.get(), 1s), "still-flowing\n");
    EXPECT_FALSE(stalled.exited);
    EXPECT_LE(channel->stats().maxBufferedOutput, wire::kStreamWindow);
    // Reading it now lets it finish, with every byte.
    EXPECT_EQ(readToEof(loop, stalledOut.get(), 30s).size(), 8000000u);
    ASSERT_TRUE(runUntil(loop, [&] { return stalled.exited.has_value(); }));
    EXPECT_EQ(stalled.exited->exitCode, 0);
}

TEST_F(AgentChannelTest, ClosingTheHostEndOfStdoutDoesNotKillTheProcess)
{
    openConnected();
    ProcessRecord r;
    auto out = run(r, spec({"sh", "-c", "head -c 3000000 /dev/zero; echo tail >&2; exit 7"})).first;
    out.reset();  // nobody will read: the channel discards and keeps the window open
    ASSERT_TRUE(runUntil(
        loop, [&] { return r.exited.has_value(); }, 30s));
    EXPECT_EQ(r.exited->exitCode, 7);
    EXPECT_FALSE(r.exited->error);
    EXPECT_EQ(channel->stats().violations, 0u);
}

TEST_F(AgentChannelTest, SignalAndCloseStdinAndResize)
{
    openConnected();
    ProcessRecord sleeper;
    run(sleeper, spec({"sleep", "100"}));
    ASSERT_TRUE(runUntil(loop, [&] { return sleeper.started.has_value(); }));
    std::optional<hc::Status> signalled, resized;
    channel->signalProcess(sleeper.pid(), SIGKILL, [&](hc::Status s) { signalled = s; });
    channel->resizeConsole(sleeper.pid(), 10, 10, [&](hc::Status s) { resized = s; });
    ASSERT_TRUE(runUntil(loop, [&] { return sleeper.exited && signalled && resized; }));
    EXPECT_TRUE(signalled->ok());
    EXPECT_EQ(resized->hr(), E_INVALIDARG);
    EXPECT_EQ(sleeper.exited->signal, SIGKILL);
    EXPECT_EQ(sleeper.exited->exitCode, 128 + SIGKILL);
    std::optional<hc::Status> again;
    channel->signalProcess(sleeper.pid(), SIGKILL, [&](hc::Status s) { again = s; });
    ASSERT_TRUE(runUntil(loop, [&] { return again.has_value(); }));
    EXPECT_EQ(again->hr(), HCS_E_PROCESS_ALREADY_STOPPED);

    auto [inRead, inWrite] = makePipe();
    ProcessRecord catter;
    auto out = run(catter, spec({"sh", "-c", "cat; echo closed"}), false, std::move(inRead)).first;
    ASSERT_TRUE(runUntil(loop, [&] { return catter.started.has_value(); }));
    std::optional<hc::Status> closed;
    channel->closeStdin(catter.pid(), [&](hc::Status s) { closed = s; });
    ASSERT_TRUE(runUntil(loop, [&] { return catter.exited && closed; }));
    EXPECT_TRUE(closed->ok());
    EXPECT_EQ(readToEof(loop, out.get(), 1s), "closed\n");
}

TEST_F(AgentChannelTest, ConsoleProcess)
{
    openConnected();
    ProcessRecord r;
    auto s = spec({"sh", "-c", "stty size; tty"});
    s.console = true;
    s.consoleRows = 50;
    s.consoleColumns = 132;
    auto out = run(r, s).first;
    ASSERT_TRUE(runUntil(loop, [&] { return r.exited.has_value(); }));
    std::string text = readToEof(loop, out.get(), 1s);
    EXPECT_NE(text.find("50 132"), std::string::npos) << text;
    EXPECT_NE(text.find("/dev/pts/"), std::string::npos) << text;
}

TEST_F(AgentChannelTest, CreateBeforeTheAgentWaitsForIt)
{
    startAgentOnAccept = false;
    open();
    ProcessRecord r;
    auto out = run(r, spec({"echo", "late"})).first;
    runUntil(
        loop, [] { return false; }, 300ms);
    EXPECT_FALSE(r.started);
    ASSERT_TRUE(connection.valid());
    startAgent();
    ASSERT_TRUE(runUntil(loop, [&] { return r.exited.has_value(); }));
    EXPECT_EQ(readToEof(loop, out.get(), 1s), "late\n");
}

TEST_F(AgentChannelTest, NoAgentWithinTheConnectTimeout)
{
    startAgentOnAccept = false;
    open({}, 300ms);
    ProcessRecord r;
    run(r, spec({"true"}));
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(runUntil(loop, [&] { return r.started.has_value(); }));
    EXPECT_EQ(r.started->hr(), HCS_E_CONNECTION_TIMEOUT);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
}

TEST_F(AgentChannelTest, AnAgentRestartEndsItsProcessesWithAnErrorThenServesAgain)
{
    openConnected();
    ProcessRecord r;
    run(r, spec({"sleep", "100"}));
    ASSERT_TRUE(runUntil(loop, [&] { return r.started.has_value(); }));
    agent.reset();  // killed in the guest: init starts another on the same port
    startAgent();
    ASSERT_TRUE(runUntil(loop, [&] { return r.exited.has_value() && record.connected.size() == 2; }));
    ASSERT_TRUE(r.exited->error);
    EXPECT_EQ(r.exited->error->hr, HCS_E_CONNECTION_CLOSED);
    ProcessRecord after;
    auto out = run(after, spec({"echo", "again"})).first;
    ASSERT_TRUE(runUntil(loop, [&] { return after.exited.has_value(); }));
    EXPECT_EQ(readToEof(loop, out.get(), 1s), "again\n");
}

TEST_F(AgentChannelTest, TheSocketClosingEndsProcessesAndTheChannelReconnects)
{
    openConnected();
    ProcessRecord r;
    run(r, spec({"sleep", "100"}));
    ASSERT_TRUE(runUntil(loop, [&] { return r.started.has_value(); }));
    agent.reset();
    connection.reset();  // QEMU closed the host end (VM gone, or a new hcsd is coming)
    ASSERT_TRUE(runUntil(loop, [&] { return r.exited.has_value() && !record.disconnected.empty(); }));
    EXPECT_EQ(r.exited->error->hr, HCS_E_CONNECTION_CLOSED);
    EXPECT_EQ(record.disconnected[0].hr, HCS_E_CONNECTION_CLOSED);
    ASSERT_TRUE(runUntil(loop, [&] { return record.connected.size() == 2; }));
}

TEST_F(AgentChannelTest, DestroyingTheChannelRunsNoMoreCallbacks)
{
    openConnected();
    ProcessRecord r;
    run(r, spec({"sh", "-c", "echo x; sleep 100"}));
    ASSERT_TRUE(runUntil(loop, [&] { return r.started.has_value(); }));
    channel.reset();
    runUntil(
        loop, [] { return false; }, 200ms);
    EXPECT_EQ(r.exitedCalls, 0);
}

// ---- hostile agents ----

// A scripted agent on the accepted connection: `script` runs on accept and whenever a frame arrives.
class ScriptedAgent {
public:
    ScriptedAgent(hc::EventLoop& loop, hc::UniqueFd fd) : loop_(loop), fd_(std::move(fd))
    {
        loop_.watchFd(fd_.get(), POLLIN, [this](short) { onReadable(); });
    }
    ~ScriptedAgent() { loop_.unwatchFd(fd_.get()); }
    void sendHello(const std::string& session = "scripted")
    {
        wire::Hello hello{wire::kProtocolVersion, "scripted", {"exec"}, session};
        sendFrame(wire::FrameType::Hello, 0, wire::encode(hello));
    }
    void sendFrame(wire::FrameType type, uint32_t id, const std::string& payload)
    {
        std::string out;
        wire::appendFrame(out, type, id, payload);
        sendRaw(out);
    }
    // Queued and written as the socket takes it (the channel reads on the same loop).
    void sendRaw(const std::string& bytes)
    {
        pending_ += bytes;
        flush();
    }
    std::function<void(const wire::Frame&)> onFrame;
    bool peerClosed = false;

private:
    void flush()
    {
        while (!pending_.empty()) {
            ssize_t n = ::send(fd_.get(), pending_.data(), pending_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n <= 0) break;
            pending_.erase(0, static_cast<size_t>(n));
        }
        if (!peerClosed) loop_.setFdEvents(fd_.get(), POLLIN | (pending_.empty() ? 0 : POLLOUT));
    }
    void onReadable()
    {
        flush();
        char buffer[65536];
        ssize_t n = read(fd_.get(), buffer, sizeof buffer);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {
            peerClosed = true;
            loop_.unwatchFd(fd_.get());
            return;
        }
        decoder_.append(buffer, static_cast<size_t>(n));
        wire::Frame frame;
        while (decoder_.next(frame) == wire::FrameDecoder::Status::Frame) {
            if (onFrame) onFrame(frame);
        }
    }
    hc::EventLoop& loop_;
    hc::UniqueFd fd_;
    wire::FrameDecoder decoder_;
    std::string pending_;
};

class HostileAgentTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        // A good agent next door, on the same loop, must keep working throughout.
        goodQemu = std::make_unique<FakeQemuSocket>(
            loop, [this](hc::UniqueFd fd) { goodAgent = std::make_unique<AgentCore>(loop, std::move(fd)); });
        ChannelOptions goodOptions;
        goodOptions.socketPath = goodQemu->path();
        good = std::make_unique<AgentChannel>(loop, goodOptions, goodRecord.callbacks());
        hostileQemu = std::make_unique<FakeQemuSocket>(loop, [this](hc::UniqueFd fd) {
            if (hostile) return;  // one connection is enough to judge
            hostile = std::make_unique<ScriptedAgent>(loop, std::move(fd));
            if (onAccept) onAccept(*hostile);
        });
    }

    void TearDown() override
    {
        channel.reset();
        good.reset();
        hostile.reset();
        goodAgent.reset();
    }

    void open(std::chrono::milliseconds replyTimeout = 10s)
    {
        ChannelOptions options;
        options.socketPath = hostileQemu->path();
        options.replyTimeout = replyTimeout;
        options.connectTimeout = 5s;
        ChannelLimits limits;
        limits.reconnectDelay = 50ms;
        channel = std::make_unique<AgentChannel>(loop, options, record.callbacks(), limits);
    }

    void expectDisconnected(HRESULT hr, const std::string& words)
    {
        ASSERT_TRUE(runUntil(
            loop, [&] { return !record.disconnected.empty(); }, 15s));
        EXPECT_EQ(record.disconnected[0].hr, hr) << record.disconnected[0].message;
        EXPECT_NE(record.disconnected[0].message.find(words), std::string::npos) << record.disconnected[0].message;
        // The neighbour still runs processes.
        ProcessRecord r;
        auto [outRead, outWrite] = makePipe();
        StdioEnds ends;
        ends.stdoutSink = std::move(outWrite);
        good->createProcess(spec({"echo", "fine"}), std::move(ends), r.callbacks());
        ASSERT_TRUE(runUntil(loop, [&] { return r.exited.has_value(); }));
        EXPECT_EQ(readToEof(loop, outRead.get(), 1s), "fine\n");
    }

    hc::EventLoop loop;
    std::unique_ptr<FakeQemuSocket> goodQemu, hostileQemu;
    std::unique_ptr<AgentCore> goodAgent;
    ChannelRecord goodRecord, record;
    std::unique_ptr<AgentChannel> good, channel;
    std::unique_ptr<ScriptedAgent> hostile;
    std::function<void(ScriptedAgent&)> onAccept;
};

TEST_F(HostileAgentTest, GarbageBeforeHello)
{
    onAccept = [](ScriptedAgent& a) { a.sendRaw(std::string(200000, '\x42')); };
    open();
    expectDisconnected(HCS_E_CONNECTION_CLOSED, "before a Hello");
    EXPECT_GE(channel->stats().violations, 1u);
}

TEST_F(HostileAgentTest, GarbageAfterHello)
{
    onAccept = [](ScriptedAgent& a) {
        a.sendHello();
        a.sendRaw("this is not a frame at all");
    };
    open();
    expectDisconnected(HCS_E_CONNECTION_CLOSED, "magic");
}

TEST_F(HostileAgentTest, OversizedFrame)
{
    onAccept = [](ScriptedAgent& a) {
        a.sendHello();
        std::string header(wire::kHeaderSize, '\0');
        wire::storeLe32(header.data(), wire::kMagic);
        header[4] = static_cast<char>(wire::FrameType::Stdout);
        wire::storeLe32(header.data() + 12, 1u << 30);
        a.sendRaw(header);
    };
    open();
    expectDisconnected(HCS_E_CONNECTION_CLOSED, "limit");
}

TEST_F(HostileAgentTest, HangingAgentHitsTheReplyTimeout)
{
    onAccept = [](ScriptedAgent& a) { a.sendHello(); };  // then never answers
    open(300ms);
    ProcessRecord r;
    channel->createProcess(spec({"true"}), {}, r.callbacks());
    ASSERT_TRUE(runUntil(loop, [&] { return r.started.has_value(); }));
    EXPECT_EQ(r.started->hr(), HCS_E_CONNECTION_TIMEOUT);
    expectDisconnected(HCS_E_CONNECTION_TIMEOUT, "did not answer CreateProcess");
}

TEST_F(HostileAgentTest, FloodOfHellos)
{
    onAccept = [this](ScriptedAgent& a) {
        a.sendHello();
        for (int i = 0; i < 200; ++i)
            a.sendHello();
        (void)this;
    };
    open();
    expectDisconnected(HCS_E_CONNECTION_CLOSED, "unrequested Hello");
}

TEST_F(HostileAgentTest, OutputBeyondTheCreditWindow)
{
    onAccept = [](ScriptedAgent& a) {
        a.sendHello();
        a.onFrame = [&a](const wire::Frame& f) {
            if (f.header.type != wire::FrameType::CreateProcess) return;
            auto request = wire::decodeCreateProcess(f.payload);
            a.sendFrame(wire::FrameType::Reply, f.header.id, wire::encode(wire::Reply{request->req, 0, {}, 77}));
            std::string chunk(wire::kMaxPayload, 'z');
            for (uint32_t sent = 0; sent < 2 * wire::kStreamWindow; sent += wire::kMaxPayload)
                a.sendFrame(wire::FrameType::Stdout, f.header.id, chunk);
        };
    };
    open();
    ProcessRecord r;
    auto [outRead, outWrite] = makePipe();  // never read
    StdioEnds ends;
    ends.stdoutSink = std::move(outWrite);
    channel->createProcess(spec({"x"}), std::move(ends), r.callbacks());
    expectDisconnected(HCS_E_CONNECTION_CLOSED, "credit");
    ASSERT_TRUE(runUntil(loop, [&] { return r.exited.has_value(); }));
    EXPECT_TRUE(r.exited->error);
    EXPECT_LE(channel->stats().maxBufferedOutput, wire::kStreamWindow);
}

TEST_F(HostileAgentTest, RepliesToRequestsNeverMade)
{
    onAccept = [](ScriptedAgent& a) {
        a.sendHello();
        a.sendFrame(wire::FrameType::Reply, 3, wire::encode(wire::Reply{12345, 0, {}, 1}));
    };
    open();
    expectDisconnected(HCS_E_CONNECTION_CLOSED, "not outstanding");
}

TEST_F(HostileAgentTest, HostOnlyFrameTypes)
{
    onAccept = [](ScriptedAgent& a) {
        a.sendHello();
        a.sendFrame(wire::FrameType::CreateProcess, 1, "{}");
    };
    open();
    expectDisconnected(HCS_E_CONNECTION_CLOSED, "only the host sends");
}

TEST_F(HostileAgentTest, WrongProtocolVersion)
{
    onAccept = [](ScriptedAgent& a) {
        wire::Hello hello{99, "future", {}, "s"};
        a.sendFrame(wire::FrameType::Hello, 0, wire::encode(hello));
    };
    open();
    expectDisconnected(HCS_E_CONNECTION_CLOSED, "protocol version 99");
}

}  // namespace
