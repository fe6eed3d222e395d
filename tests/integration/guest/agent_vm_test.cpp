// The guest agent in a real guest: QEMU (TCG) boots the agent initrd, and the real AgentChannel on an
// EventLoop talks to hcs-guest over virtio-serial (no hcsd). One well-behaved VM serves most tests;
// each hostile mode boots its own VM, and the well-behaved one must keep working next to it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "../../unit/guest/test_host.h"
#include "hcs/guest/agent_channel.h"
#include "test_vm.h"

using namespace guest_test;
using namespace hc::hcs::guest;

namespace {

constexpr auto kBoot = std::chrono::seconds(90);  // TCG boot on a busy shared machine

struct ProcessRecord {
    std::optional<hc::Result<uint32_t>> started;
    std::optional<ProcessExit> exited;
    ProcessCallbacks callbacks()
    {
        return ProcessCallbacks{[this](hc::Result<uint32_t> pid) { started = pid; },
                                [this](const ProcessExit& e) { exited = e; }};
    }
    uint32_t pid() const { return started && started->ok() ? started->value() : 0; }
};

struct Vm {
    explicit Vm(hc::EventLoop& loop, const std::string& append = "", std::chrono::milliseconds replyTimeout = 15s)
        : vm(append)
    {
        ChannelOptions options;
        options.socketPath = vm.socketPath();
        options.connectTimeout = kBoot;
        options.replyTimeout = replyTimeout;
        channel = std::make_unique<AgentChannel>(
            loop, options,
            ChannelCallbacks{[this](const AgentInfo& info) { connected.push_back(info); },
                             [this](const hc::Error& e) { disconnected.push_back(e); }});
    }
    guest_it::TestVm vm;
    std::vector<AgentInfo> connected;
    std::vector<hc::Error> disconnected;
    std::unique_ptr<AgentChannel> channel;
};

ProcessSpec spec(std::vector<std::string> argv)
{
    ProcessSpec s;
    s.argv = std::move(argv);
    s.environment = {{"PATH", "/bin:/usr/bin"}, {"HOME", "/root"}};
    return s;
}

class AgentVmTest : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        loop = new hc::EventLoop;
        good = new Vm(*loop);
        if (!runUntil(
                *loop, [] { return !good->connected.empty(); }, kBoot))
            FAIL() << "the agent never said hello; console:\n" << good->vm.console();
    }
    static void TearDownTestSuite()
    {
        delete good;
        delete loop;
    }
    void SetUp() override { ASSERT_FALSE(good->connected.empty()) << good->vm.console(); }

    // Runs a process on `vm` with a stdout pipe; returns the read end.
    static hc::UniqueFd run(Vm& vm, ProcessRecord& r, ProcessSpec s, hc::UniqueFd stdinSource = {})
    {
        auto [outRead, outWrite] = makePipe();
        StdioEnds ends;
        ends.stdinSource = std::move(stdinSource);
        ends.stdoutSink = std::move(outWrite);
        vm.channel->createProcess(std::move(s), std::move(ends), r.callbacks());
        return std::move(outRead);
    }

    // Runs `argv` to its end and returns stdout.
    static std::string output(std::vector<std::string> argv, int* exitCode = nullptr)
    {
        ProcessRecord r;
        auto out = run(*good, r, spec(std::move(argv)));
        std::string text = readToEof(*loop, out.get(), 60s);
        EXPECT_TRUE(runUntil(
            *loop, [&] { return r.exited.has_value(); }, 60s));
        if (exitCode && r.exited) *exitCode = r.exited->exitCode;
        return text;
    }

    static hc::EventLoop* loop;
    static Vm* good;
};

hc::EventLoop* AgentVmTest::loop = nullptr;
Vm* AgentVmTest::good = nullptr;

TEST_F(AgentVmTest, HelloAndCapabilities)
{
    const AgentInfo& info = good->connected[0];
    EXPECT_EQ(info.protocolVersion, wire::kProtocolVersion);
    EXPECT_FALSE(info.agentVersion.empty());
    for (const char* cap : {"exec", "pty", "signal", "resize", "user"})
        EXPECT_NE(std::find(info.capabilities.begin(), info.capabilities.end(), cap), info.capabilities.end()) << cap;
    ASSERT_TRUE(good->channel->agent());
}

TEST_F(AgentVmTest, TrueAndExitCodes)
{
    int code = -1;
    output({"/bin/true"}, &code);
    EXPECT_EQ(code, 0);
    output({"sh", "-c", "exit 3"}, &code);
    EXPECT_EQ(code, 3);
    EXPECT_EQ(output({"sh", "-c", "echo $(id -u) $(hostname)"}), "0 hcs-guest\n");
    auto s = spec({"id", "-u"});
    s.user = "hcsuser";
    ProcessRecord r;
    auto out = run(*good, r, s);
    EXPECT_EQ(readToEof(*loop, out.get(), 60s), "1000\n");
}

TEST_F(AgentVmTest, SixtyFourMebibytesThroughCat)
{
    const size_t size = 64u << 20;
    std::string input(size, '\0');
    std::mt19937_64 random(42);
    for (size_t i = 0; i + 8 <= size; i += 8) {
        uint64_t v = random();
        std::memcpy(input.data() + i, &v, 8);
    }
    auto [inRead, inWrite] = makePipe();
    ProcessRecord r;
    auto out = run(*good, r, spec({"cat"}), std::move(inRead));
    fcntl(inWrite.get(), F_SETFL, O_NONBLOCK);
    fcntl(out.get(), F_SETFL, O_NONBLOCK);
    size_t written = 0;
    std::string received;
    received.reserve(size);
    auto start = std::chrono::steady_clock::now();
    bool eof = false;
    ASSERT_TRUE(runUntil(
        *loop,
        [&] {
            while (written < size) {
                ssize_t n = write(inWrite.get(), input.data() + written, std::min<size_t>(1 << 16, size - written));
                if (n <= 0) break;
                written += static_cast<size_t>(n);
            }
            if (written == size && inWrite.valid()) inWrite.reset();
            char buffer[1 << 16];
            ssize_t n;
            while ((n = read(out.get(), buffer, sizeof buffer)) > 0)
                received.append(buffer, static_cast<size_t>(n));
            if (n == 0) eof = true;
            return eof && r.exited.has_value();
        },
        600s))
        << "received " << received.size() << " of " << size;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("64 MiB through cat in the guest: %.1f s (%.1f MiB/s each way)\n", seconds, 64 / seconds);
    EXPECT_EQ(received.size(), size);
    EXPECT_TRUE(received == input) << "the bytes differ (so would their sha256)";
    EXPECT_EQ(r.exited->exitCode, 0);
}

TEST_F(AgentVmTest, TwentyProcessesAtOnce)
{
    std::vector<ProcessRecord> records(20);
    std::vector<hc::UniqueFd> outs;
    for (int i = 0; i < 20; ++i)
        outs.push_back(run(*good, records[i], spec({"sh", "-c", "sleep 1; echo p" + std::to_string(i)})));
    ASSERT_TRUE(runUntil(
        *loop,
        [&] { return std::all_of(records.begin(), records.end(), [](auto& r) { return r.exited.has_value(); }); },
        120s));
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(readToEof(*loop, outs[i].get(), 5s), "p" + std::to_string(i) + "\n");
        EXPECT_EQ(records[i].exited->exitCode, 0);
    }
}

TEST_F(AgentVmTest, SignalSaysWhichSignal)
{
    ProcessRecord r;
    run(*good, r, spec({"sleep", "1000"}));
    ASSERT_TRUE(runUntil(
        *loop, [&] { return r.started.has_value(); }, 60s));
    ASSERT_TRUE(r.started->ok()) << r.started->error().message;
    std::optional<hc::Status> sent;
    good->channel->signalProcess(r.pid(), SIGTERM, [&](hc::Status s) { sent = s; });
    ASSERT_TRUE(runUntil(
        *loop, [&] { return r.exited.has_value() && sent.has_value(); }, 60s));
    EXPECT_TRUE(sent->ok());
    EXPECT_EQ(r.exited->signal, SIGTERM);
    EXPECT_EQ(r.exited->exitCode, 128 + SIGTERM);
}

TEST_F(AgentVmTest, PtyAndResize)
{
    auto [inRead, inWrite] = makePipe();
    auto s = spec({"sh", "-c", "stty size; read line; stty size"});
    s.console = true;
    s.consoleRows = 30;
    s.consoleColumns = 90;
    ProcessRecord r;
    auto out = run(*good, r, s, std::move(inRead));
    fcntl(out.get(), F_SETFL, O_NONBLOCK);
    std::string text;
    auto drain = [&] {
        char buffer[4096];
        ssize_t n;
        while ((n = read(out.get(), buffer, sizeof buffer)) > 0)
            text.append(buffer, static_cast<size_t>(n));
    };
    ASSERT_TRUE(runUntil(
        *loop,
        [&] {
            drain();
            return text.find("30 90") != std::string::npos;
        },
        60s))
        << text;
    std::optional<hc::Status> resized;
    good->channel->resizeConsole(r.pid(), 45, 132, [&](hc::Status st) { resized = st; });
    ASSERT_TRUE(runUntil(
        *loop, [&] { return resized.has_value(); }, 60s));
    EXPECT_TRUE(resized->ok());
    writeAll(inWrite.get(), "\n");
    ASSERT_TRUE(runUntil(
        *loop,
        [&] {
            drain();
            return r.exited.has_value();
        },
        60s));
    drain();
    EXPECT_NE(text.find("45 132"), std::string::npos) << text;
}

TEST_F(AgentVmTest, AStalledReaderDoesNotStallAnotherProcess)
{
    ProcessRecord stalled;
    auto stalledOut = run(*good, stalled, spec({"head", "-c", "20000000", "/dev/zero"}));
    runUntil(
        *loop, [] { return false; }, 3s);
    int code = -1;
    EXPECT_EQ(output({"echo", "flowing"}, &code), "flowing\n");
    EXPECT_FALSE(stalled.exited);
    EXPECT_LE(good->channel->stats().maxBufferedOutput, wire::kStreamWindow);
    EXPECT_EQ(readToEof(*loop, stalledOut.get(), 300s).size(), 20000000u);
    ASSERT_TRUE(runUntil(
        *loop, [&] { return stalled.exited.has_value(); }, 60s));
}

// Last of the good VM's tests: the agent dies and init starts another.
TEST_F(AgentVmTest, ZzAgentKilledInTheGuestThenANewHello)
{
    ProcessRecord sleeper;
    run(*good, sleeper, spec({"sleep", "1000"}));
    ASSERT_TRUE(runUntil(
        *loop, [&] { return sleeper.started.has_value(); }, 60s));
    size_t hellos = good->connected.size();
    ProcessRecord killer;
    run(*good, killer, spec({"sh", "-c", "kill -9 $PPID"}));
    ASSERT_TRUE(runUntil(
        *loop,
        [&] { return sleeper.exited.has_value() && killer.exited.has_value() && good->connected.size() > hellos; },
        60s))
        << good->vm.console();
    ASSERT_TRUE(sleeper.exited->error);
    EXPECT_EQ(sleeper.exited->error->hr, HCS_E_CONNECTION_CLOSED);
    EXPECT_NE(good->vm.console().find("agent exited"), std::string::npos);
    EXPECT_EQ(output({"echo", "back"}), "back\n");
}

class HostileVmTest : public AgentVmTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(HostileVmTest, DisconnectsWithAnErrorAndTheOtherVmKeepsWorking)
{
    std::string mode = GetParam();
    Vm hostile(*loop, "hcs.hostile=" + mode, 5s);
    ProcessRecord r;
    auto [outRead, outWrite] = makePipe();  // never read, kept open: the sink stays full
    if (mode == "hang" || mode == "credit") {
        StdioEnds ends;
        ends.stdoutSink = std::move(outWrite);
        hostile.channel->createProcess(spec({"true"}), std::move(ends), r.callbacks());
    }
    ASSERT_TRUE(runUntil(
        *loop, [&] { return !hostile.disconnected.empty(); }, kBoot))
        << hostile.vm.console();
    const hc::Error& error = hostile.disconnected[0];
    EXPECT_TRUE(error.hr == HCS_E_CONNECTION_CLOSED || error.hr == HCS_E_CONNECTION_TIMEOUT) << error.message;
    std::printf("hostile mode %s: %s\n", mode.c_str(), error.message.c_str());
    EXPECT_GE(hostile.channel->stats().violations, 1u);
    if (mode == "hang") {
        ASSERT_TRUE(r.started);
        EXPECT_EQ(r.started->hr(), HCS_E_CONNECTION_TIMEOUT);
    }
    EXPECT_EQ(output({"echo", "unaffected"}), "unaffected\n");
}

INSTANTIATE_TEST_SUITE_P(Modes, HostileVmTest, ::testing::Values("garbage", "oversized", "hang", "flood", "credit"));

}  // namespace
