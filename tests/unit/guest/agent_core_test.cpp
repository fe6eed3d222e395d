// The agent core against a raw host on a socketpair: hello, processes, stdio under credit, ordering of
// EOF and exit, signals, consoles, users, and a host that goes away.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "../../../guest/agent/agent_core.h"
#include "test_host.h"

using namespace guest_test;
using hc::guest_agent::AgentCore;
using wire::FrameType;

namespace {

class AgentCoreTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        int fds[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
        passwd = std::string(::testing::TempDir()) + "/agent-core-passwd";
        std::ofstream(passwd) << "root:x:0:0:root:/root:/bin/sh\ntester:x:4321:4322::/:/bin/sh\n";
        hc::guest_agent::AgentOptions options;
        options.passwdPath = passwd;
        options.splice = spliceOutput;
        agent = std::make_unique<AgentCore>(loop, hc::UniqueFd(fds[0]), options);
        host = std::make_unique<RawHost>(loop, hc::UniqueFd(fds[1]));
        auto hello = host->waitFor(FrameType::Hello);
        ASSERT_TRUE(hello);
        auto decoded = wire::decodeHello(hello->payload);
        ASSERT_TRUE(decoded);
        EXPECT_EQ(decoded->session, agent->session());
    }

    void TearDown() override
    {
        host.reset();
        agent.reset();
    }

    wire::Reply create(uint32_t id, wire::CreateProcessRequest request)
    {
        request.req = nextReq++;
        host->send(FrameType::CreateProcess, id, wire::encode(request));
        auto frame = host->waitFor(FrameType::Reply, id);
        EXPECT_TRUE(frame);
        if (!frame) return {};
        auto reply = wire::decodeReply(frame->payload);
        EXPECT_TRUE(reply);
        EXPECT_EQ(reply->req, request.req);
        return *reply;
    }

    static wire::CreateProcessRequest command(std::vector<std::string> argv, bool out = true, bool err = false,
                                              bool in = false)
    {
        wire::CreateProcessRequest r;
        r.argv = std::move(argv);
        r.environment = {{"PATH", "/usr/bin:/bin"}};
        r.stdoutPipe = out;
        r.stderrPipe = err;
        r.stdinPipe = in;
        return r;
    }

    // Collects a process's stdout until EOF, granting credit as it arrives, then returns its Exited.
    wire::ExitedMessage collect(uint32_t id, std::string* out, std::string* err = nullptr)
    {
        std::optional<wire::ExitedMessage> exited;
        bool outEof = out == nullptr, errEof = err == nullptr;
        runUntil(
            loop,
            [&] {
                while (!host->frames.empty()) {
                    wire::Frame f = host->frames.front();
                    host->frames.pop_front();
                    if (f.header.id != id) continue;
                    if (f.header.type == FrameType::Stdout || f.header.type == FrameType::Stderr) {
                        bool isOut = f.header.type == FrameType::Stdout;
                        EXPECT_FALSE(exited) << "output after Exited";
                        if (f.payload.empty()) (isOut ? outEof : errEof) = true;
                        (isOut ? out : err)->append(f.payload);
                        if (!f.payload.empty())
                            host->send(isOut ? FrameType::StdoutCredit : FrameType::StderrCredit, id,
                                       wire::encodeCredit(static_cast<uint32_t>(f.payload.size())));
                    } else if (f.header.type == FrameType::Exited) {
                        EXPECT_TRUE(outEof && errEof) << "Exited before the EOF frames";
                        auto m = wire::decodeExited(f.payload);
                        EXPECT_TRUE(m);
                        if (m) exited = *m;
                    }
                }
                return exited.has_value();
            },
            20s);
        EXPECT_TRUE(exited) << "no Exited frame";
        return exited.value_or(wire::ExitedMessage{});
    }

    // stdout and stderr written at the same time, then a last line: every byte, in order, on both streams.
    // What `seq 1 n` prints.
    static std::string numbers(int n)
    {
        std::string text;
        for (int i = 1; i <= n; ++i)
            text += std::to_string(i) + "\n";
        return text;
    }

    void checkConcurrentStreams(uint32_t id)
    {
        ASSERT_EQ(create(id, command({"sh", "-c", "seq 1 150000 & seq 1 30000 >&2; wait; echo last"}, true, true)).hr,
                  0);
        std::string out, err;
        auto exited = collect(id, &out, &err);
        EXPECT_EQ(exited.exitCode, 0);
        EXPECT_TRUE(out == numbers(150000) + "last\n") << out.size() << " stdout bytes";
        EXPECT_TRUE(err == numbers(30000)) << err.size() << " stderr bytes";
    }

    bool spliceOutput = true;
    hc::EventLoop loop;
    std::unique_ptr<AgentCore> agent;
    std::unique_ptr<RawHost> host;
    std::string passwd;
    uint32_t nextReq = 1;
};

TEST_F(AgentCoreTest, AnswersHelloRequestWithTheSameSession)
{
    // Within 50 ms of a Hello, requests are coalesced (a burst of stale ones gets one answer).
    host->send(FrameType::HelloRequest, 0, wire::encode(wire::HelloRequest{1, "test"}));
    runUntil(
        loop, [] { return false; }, 100ms);
    EXPECT_TRUE(host->frames.empty());
    host->send(FrameType::HelloRequest, 0, wire::encode(wire::HelloRequest{1, "test"}));
    auto hello = host->waitFor(FrameType::Hello);
    ASSERT_TRUE(hello);
    auto decoded = wire::decodeHello(hello->payload);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->session, agent->session());
    EXPECT_EQ(decoded->protocolVersion, wire::kProtocolVersion);
    EXPECT_NE(std::find(decoded->capabilities.begin(), decoded->capabilities.end(), "pty"),
              decoded->capabilities.end());
}

TEST_F(AgentCoreTest, ExitCodes)
{
    auto reply = create(1, command({"true"}, false));
    EXPECT_EQ(reply.hr, 0) << reply.message;
    EXPECT_GT(reply.pid, 0u);
    EXPECT_EQ(collect(1, nullptr).exitCode, 0);

    reply = create(2, command({"sh", "-c", "exit 3"}, false));
    ASSERT_EQ(reply.hr, 0) << reply.message;
    auto exited = collect(2, nullptr);
    EXPECT_EQ(exited.exitCode, 3);
    EXPECT_FALSE(exited.signal);
    EXPECT_EQ(agent->processCount(), 0u);
}

TEST_F(AgentCoreTest, OutputAndEofComeBeforeExited)
{
    ASSERT_EQ(create(3, command({"sh", "-c", "echo out; echo err >&2; exit 5"}, true, true)).hr, 0);
    std::string out, err;
    auto exited = collect(3, &out, &err);
    EXPECT_EQ(out, "out\n");
    EXPECT_EQ(err, "err\n");
    EXPECT_EQ(exited.exitCode, 5);
}

TEST_F(AgentCoreTest, WorkingDirectoryAndEnvironment)
{
    auto request = command({"sh", "-c", "pwd; echo \"$FOO\""});
    request.workingDirectory = "/tmp";
    request.environment.push_back({"FOO", "bar baz"});
    ASSERT_EQ(create(4, request).hr, 0);
    std::string out;
    collect(4, &out);
    EXPECT_EQ(out, "/tmp\nbar baz\n");
}

TEST_F(AgentCoreTest, FailuresAreReportedNotExited)
{
    auto reply = create(5, command({"no-such-program-here"}));
    EXPECT_EQ(reply.hr, HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)) << reply.message;
    EXPECT_NE(reply.message.find("no-such-program-here"), std::string::npos);
    auto request = command({"true"});
    request.workingDirectory = "/no/such/dir";
    reply = create(6, request);
    EXPECT_EQ(reply.hr, HRESULT_FROM_WIN32(ERROR_DIRECTORY)) << reply.message;
    request = command({"true"});
    request.user = "nobody-by-that-name";
    reply = create(7, request);
    EXPECT_EQ(reply.hr, E_INVALIDARG);
    EXPECT_NE(reply.message.find("nobody-by-that-name"), std::string::npos);
    host->send(FrameType::CreateProcess, 8, R"({"req":99,"argv":[]})");
    auto frame = host->waitFor(FrameType::Reply, 8);
    ASSERT_TRUE(frame);
    EXPECT_EQ(wire::decodeReply(frame->payload)->hr, E_INVALIDARG);
    EXPECT_EQ(agent->processCount(), 0u);
}

TEST_F(AgentCoreTest, UserByNameAndNumber)
{
    auto request = command({"sh", "-c", "echo $(id -u):$(id -g)"});
    request.user = "tester";
    ASSERT_EQ(create(9, request).hr, 0);
    std::string out;
    collect(9, &out);
    EXPECT_EQ(out, "4321:4322\n");
    request.user = "65534:65533";
    ASSERT_EQ(create(10, request).hr, 0);
    out.clear();
    collect(10, &out);
    EXPECT_EQ(out, "65534:65533\n");
}

TEST_F(AgentCoreTest, StdinThroughCatUnderCredit)
{
    ASSERT_EQ(create(11, command({"cat"}, true, false, true)).hr, 0);
    std::string input;
    for (int i = 0; input.size() < 3 * 1024 * 1024; ++i)
        input += std::to_string(i) + ",";
    size_t sent = 0;
    uint64_t credit = wire::kStreamWindow;
    std::string out;
    bool eofSent = false, outEof = false;
    ASSERT_TRUE(runUntil(
        loop,
        [&] {
            while (!eofSent && credit > 0) {
                size_t n = std::min<size_t>({credit, wire::kMaxPayload, input.size() - sent});
                if (n == 0) {
                    host->send(FrameType::Stdin, 11, "");
                    eofSent = true;
                    break;
                }
                host->send(FrameType::Stdin, 11, input.substr(sent, n));
                sent += n;
                credit -= n;
            }
            while (!host->frames.empty()) {
                wire::Frame f = host->frames.front();
                host->frames.pop_front();
                if (f.header.type == FrameType::StdinCredit) {
                    auto c = wire::decodeCredit(f.payload);
                    credit += *c;
                    EXPECT_LE(credit, wire::kStreamWindow);
                } else if (f.header.type == FrameType::Stdout) {
                    if (f.payload.empty()) outEof = true;
                    out += f.payload;
                    if (!f.payload.empty())
                        host->send(FrameType::StdoutCredit, 11,
                                   wire::encodeCredit(static_cast<uint32_t>(f.payload.size())));
                }
            }
            return outEof;
        },
        30s));
    EXPECT_EQ(out.size(), input.size());
    EXPECT_TRUE(out == input);
}

TEST_F(AgentCoreTest, OutputStopsAtTheWindowUntilCredited)
{
    const size_t total = 1000000;
    ASSERT_EQ(create(12, command({"head", "-c", std::to_string(total), "/dev/zero"})).hr, 0);
    size_t received = 0;
    auto count = [&] {
        while (!host->frames.empty()) {
            wire::Frame f = host->frames.front();
            host->frames.pop_front();
            EXPECT_NE(f.header.type, FrameType::Exited) << "Exited before all output was taken";
            if (f.header.type == FrameType::Stdout) received += f.payload.size();
        }
    };
    runUntil(loop, [&] {
        count();
        return received >= wire::kStreamWindow;
    });
    // Give the agent time to overrun if it would.
    runUntil(
        loop, [] { return false; }, 300ms);
    count();
    EXPECT_EQ(received, wire::kStreamWindow);
    EXPECT_EQ(agent->processCount(), 1u);
    host->send(FrameType::StdoutCredit, 12, wire::encodeCredit(static_cast<uint32_t>(received)));
    std::string rest;
    auto exited = collect(12, &rest);
    EXPECT_EQ(received + rest.size(), total);
    EXPECT_EQ(exited.exitCode, 0);
}

TEST_F(AgentCoreTest, SignalEndsTheProcessAndTheStatusSaysWhich)
{
    auto reply = create(13, command({"sleep", "100"}, false));
    ASSERT_EQ(reply.hr, 0);
    host->send(FrameType::Signal, 13, wire::encode(wire::SignalRequest{50, SIGTERM}));
    auto ack = host->waitFor(FrameType::Reply, 13);
    ASSERT_TRUE(ack);
    EXPECT_EQ(wire::decodeReply(ack->payload)->hr, 0);
    auto exited = collect(13, nullptr);
    EXPECT_EQ(exited.signal, SIGTERM);
    EXPECT_EQ(exited.exitCode, 128 + SIGTERM);
    // The process is gone: signalling it again says so.
    host->send(FrameType::Signal, 13, wire::encode(wire::SignalRequest{51, SIGTERM}));
    ack = host->waitFor(FrameType::Reply, 13);
    ASSERT_TRUE(ack);
    EXPECT_EQ(wire::decodeReply(ack->payload)->hr, HCS_E_PROCESS_ALREADY_STOPPED);
}

TEST_F(AgentCoreTest, ConsoleHasTheSizeAndResizes)
{
    auto request = command({"sh", "-c", "stty size; read line; stty size"}, true, false, true);
    request.console = true;
    request.rows = 33;
    request.columns = 101;
    ASSERT_EQ(create(14, request).hr, 0);
    std::string out;
    ASSERT_TRUE(runUntil(loop, [&] {
        while (!host->frames.empty()) {
            wire::Frame f = host->frames.front();
            host->frames.pop_front();
            if (f.header.type == FrameType::Stdout) out += f.payload;
        }
        return out.find("33 101") != std::string::npos;
    })) << out;
    host->send(FrameType::Resize, 14, wire::encode(wire::ResizeRequest{60, 40, 120}));
    auto ack = host->waitFor(FrameType::Reply, 14);
    ASSERT_TRUE(ack);
    EXPECT_EQ(wire::decodeReply(ack->payload)->hr, 0);
    host->send(FrameType::Stdin, 14, "go\n");
    std::string rest;
    collect(14, &rest);
    out += rest;
    EXPECT_NE(out.find("40 120"), std::string::npos) << out;
}

TEST_F(AgentCoreTest, ResizeWithoutConsoleIsInvalid)
{
    ASSERT_EQ(create(15, command({"sleep", "100"}, false)).hr, 0);
    host->send(FrameType::Resize, 15, wire::encode(wire::ResizeRequest{61, 10, 10}));
    auto ack = host->waitFor(FrameType::Reply, 15);
    ASSERT_TRUE(ack);
    EXPECT_EQ(wire::decodeReply(ack->payload)->hr, E_INVALIDARG);
    host->send(FrameType::Signal, 15, wire::encode(wire::SignalRequest{62, SIGKILL}));
    collect(15, nullptr);
}

TEST_F(AgentCoreTest, CloseStdinGivesTheProcessEof)
{
    ASSERT_EQ(create(16, command({"sh", "-c", "cat; echo done"}, true, false, true)).hr, 0);
    host->send(FrameType::Stdin, 16, "abc");
    host->send(FrameType::CloseStdin, 16, wire::encode(wire::CloseStdinRequest{70}));
    std::string out;
    collect(16, &out);
    EXPECT_EQ(out, "abcdone\n");
}

TEST_F(AgentCoreTest, HostGoingAwayKillsEveryProcess)
{
    auto reply = create(17, command({"sleep", "100"}, true));
    ASSERT_EQ(reply.hr, 0);
    pid_t pid = static_cast<pid_t>(reply.pid);
    EXPECT_EQ(kill(pid, 0), 0);
    host.reset();  // closes the host end
    ASSERT_TRUE(runUntil(loop, [&] { return agent->processCount() == 0; }));
    EXPECT_FALSE(agent->hostConnected());
    EXPECT_NE(kill(pid, 0), 0);  // killed and reaped
}

// Forwarded pipe output is spliced into the port behind its header (agent_core.h): the bytes, the order
// of the two streams' frames and EOF-before-Exited are the same as when copied.
TEST_F(AgentCoreTest, SplicedOutputKeepsEveryByteAndTheOrder)
{
    checkConcurrentStreams(18);
    EXPECT_GT(agent->splicedBytes(), 0u);
}

class AgentCoreCopyTest : public AgentCoreTest {
protected:
    AgentCoreCopyTest() { spliceOutput = false; }
};

TEST_F(AgentCoreCopyTest, CopiedOutputKeepsEveryByteAndTheOrder)
{
    checkConcurrentStreams(19);
    EXPECT_EQ(agent->splicedBytes(), 0u);
}

// Several processes' output shares the port while the host stops reading: the agent's queue stays
// bounded (the high water mark plus at most one frame), no frame is torn, and every byte arrives after.
TEST_F(AgentCoreTest, ManyStreamsShareThePortWhileTheHostPauses)
{
    constexpr uint32_t kFirst = 30, kProcesses = 6;
    constexpr int kLines = 400000;  // 2.7 MB each
    host->setReading(false);
    for (uint32_t id = kFirst; id < kFirst + kProcesses; ++id) {
        auto request = command({"seq", "1", std::to_string(kLines)});
        request.req = nextReq++;
        host->send(FrameType::CreateProcess, id, wire::encode(request));
    }
    size_t mostQueued = 0;
    runUntil(
        loop,
        [&] {
            mostQueued = std::max(mostQueued, agent->queuedBytes());
            return false;
        },
        500ms);
    EXPECT_LE(mostQueued, hc::guest_agent::AgentOptions{}.sendHighWater + wire::kHeaderSize + wire::kMaxPayload);
    host->setReading(true);
    std::map<uint32_t, std::string> received;
    std::set<uint32_t> eof, exited;
    ASSERT_TRUE(runUntil(
        loop,
        [&] {
            while (!host->frames.empty()) {
                wire::Frame f = host->frames.front();
                host->frames.pop_front();
                uint32_t id = f.header.id;
                if (f.header.type == FrameType::Stdout) {
                    EXPECT_FALSE(exited.count(id)) << "output after Exited";
                    if (f.payload.empty()) eof.insert(id);
                    received[id] += f.payload;
                    if (!f.payload.empty())
                        host->send(FrameType::StdoutCredit, id,
                                   wire::encodeCredit(static_cast<uint32_t>(f.payload.size())));
                } else if (f.header.type == FrameType::Exited) {
                    EXPECT_TRUE(eof.count(id)) << "Exited before EOF";
                    exited.insert(id);
                }
            }
            return exited.size() == kProcesses;
        },
        60s));
    const std::string expected = numbers(kLines);
    for (uint32_t id = kFirst; id < kFirst + kProcesses; ++id)
        EXPECT_TRUE(received[id] == expected) << "process " << id << ": " << received[id].size() << " bytes";
    EXPECT_GT(agent->splicedBytes(), 0u);
}

}  // namespace
