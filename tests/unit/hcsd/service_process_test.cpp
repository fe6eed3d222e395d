// hcsd's process calls against a fake VM and a fake guest channel (fake_guest_channel.h): Start waiting
// for the agent, CreateProcess with its stdio descriptors, Open by pid from another session, signals,
// Modify, waits, the ProcessExited event (process handles only), and the races: a handle closed or a
// session gone while the create is in flight, the VM exiting with waits and calls pending, the agent
// disconnecting mid-stream and reconnecting, the per-system cap. No sleeps: the test plays the agent.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <csignal>

#include "fake_guest_channel.h"
#include "service_fixture.h"

namespace hc::hcs::service {
namespace {

using testing::FakeGuestChannel;
using testing::FakeGuestChannelFactory;

std::string readAll(int fd)
{
    std::string out;
    char buffer[4096];
    for (;;) {
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n <= 0) break;
        out.append(buffer, static_cast<size_t>(n));
    }
    return out;
}

void writeAll(int fd, const std::string& text)
{
    ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
}

class ProcessTest : public ServiceFixture {
public:
    ProcessTest() { guestChannels_ = &channels_; }

    json guestConfig() const
    {
        json c = config();
        c["VirtualMachine"]["GuestConnection"] = json{{"UseVsock", true}};
        return c;
    }
    // A running system with a connected agent on handle `handle`.
    FakeGuestChannel& runningSystem(uint64_t session, uint64_t handle = 1, const std::string& id = "vm")
    {
        FakeVm& vm = createReady(session, handle, id, guestConfig());
        FakeGuestChannel& channel = channels_.last();
        uint64_t start = call(session, Method::StartComputeSystem, handle);
        EXPECT_TRUE(vm.reply("cont"));
        settle();
        EXPECT_FALSE(findReply(session, start)) << "Start completed before the agent said hello";
        channel.connect();
        EXPECT_EQ(hrOf(awaitReply(session, start)), S_OK);
        return channel;
    }
    uint64_t createProcess(uint64_t session, uint64_t process, const json& parameters, uint64_t system = 1)
    {
        return send(session, Method::CreateProcess, protocol::CreateProcessParams{system, process, parameters.dump()});
    }
    uint64_t processCall(uint64_t session, Method method, uint64_t process, const std::string& document = "")
    {
        if (method == Method::GetProcessInfo || method == Method::CloseProcess) {
            return send(session, method, protocol::HandleParams{process});
        }
        return send(session, method, protocol::SystemCallParams{process, document});
    }
    uint64_t waitExit(uint64_t session, uint64_t process, uint32_t timeoutMs = 0xFFFFFFFFu)
    {
        return send(session, Method::WaitForProcessExit, protocol::WaitExitParams{process, timeoutMs});
    }
    // Runs the loop until the channel was asked to start `count` processes.
    void awaitCreates(FakeGuestChannel& channel, size_t count)
    {
        for (int i = 0; i < 100 && channel.processes.size() < count; ++i)
            loop_.runOnce(10ms);
        ASSERT_EQ(channel.processes.size(), count);
    }
    json propertiesOf(uint64_t session, uint64_t handle, const std::string& types)
    {
        return awaitReply(session, call(session, Method::GetComputeSystemProperties, handle,
                                        R"({"PropertyTypes": )" + types + "}"))["result"];
    }

    FakeGuestChannelFactory channels_;
};

TEST_F(ProcessTest, TheVmGetsTheAgentPortAndTheChannelItsSocket)
{
    uint64_t s = connect();
    createReady(s, 1, "vm", guestConfig());
    const auto& args = launcher_.processes.back()->args;
    std::string directory = onlySystemDirectory();
    auto expected = guest::qemuAgentArguments(SystemStore::agentSocketPath(directory));
    EXPECT_NE(std::search(args.begin(), args.end(), expected.begin(), expected.end()), args.end());
    ASSERT_EQ(channels_.live.size(), 1u);
    EXPECT_EQ(channels_.last().options.socketPath, directory + "/agent.sock");
    EXPECT_EQ(channels_.last().options.connectTimeout, agentTimeout_);
    // A system without a GuestConnection has neither.
    createReady(s, 2, "plain", config());
    for (const auto& arg : launcher_.processes.back()->args)
        EXPECT_EQ(arg.find("agent"), std::string::npos) << arg;
    EXPECT_EQ(channels_.opened, 1);
}

TEST_F(ProcessTest, GuestConnectionNeedsAChannelFactory)
{
    service_.reset();
    guestChannels_ = nullptr;
    startService();
    uint64_t s = connect();
    json r = awaitReply(s, send(s, Method::CreateComputeSystem, protocol::CreateParams{1, "vm", guestConfig().dump()}));
    EXPECT_EQ(hrOf(r), E_NOTIMPL);
    EXPECT_NE(r["error"]["message"].get<std::string>().find("VirtualMachine.GuestConnection"), std::string::npos);
    EXPECT_TRUE(launcher_.processes.empty());
}

TEST_F(ProcessTest, StartFailsWhenTheAgentNeverSaysHello)
{
    service_.reset();
    agentTimeout_ = 50ms;
    startService();
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", guestConfig());
    uint64_t start = call(s, Method::StartComputeSystem, 1);
    uint64_t props = call(s, Method::GetComputeSystemProperties, 1);
    ASSERT_TRUE(vm.reply("cont"));
    json r = awaitReply(s, start);
    EXPECT_EQ(hrOf(r), HCS_E_CONNECTION_TIMEOUT);
    EXPECT_NE(r["error"]["message"].get<std::string>().find("50 ms"), std::string::npos);
    EXPECT_EQ(awaitReply(s, props)["result"]["State"], "Running") << "the queue runs again after the failed wait";
    json g = propertiesOf(s, 1, R"(["GuestConnection"])")["GuestConnection"];
    EXPECT_EQ(g["Configured"], true);
    EXPECT_EQ(g["Connected"], false);
    // The agent may still come: then processes work.
    channels_.last().connect();
    uint64_t create = createProcess(s, 10, json{{"CommandLine", "true"}});
    awaitCreates(channels_.last(), 1);
    channels_.last().start(0, 5);
    EXPECT_EQ(hrOf(awaitReply(s, create)), S_OK);
}

TEST_F(ProcessTest, VmExitWhileStartWaitsForTheAgent)
{
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", guestConfig());
    uint64_t start = call(s, Method::StartComputeSystem, 1);
    ASSERT_TRUE(vm.reply("cont"));
    settle();
    vm.exitNow("exit code 1");
    EXPECT_EQ(hrOf(awaitReply(s, start)), HCS_E_TERMINATED_DURING_START);
    EXPECT_TRUE(channels_.live.empty()) << "the channel dies with the VM";
}

TEST_F(ProcessTest, CreateProcessCarriesTheClientsStdioEnds)
{
    uint64_t s = connect();
    FakeGuestChannel& channel = runningSystem(s);
    json g = propertiesOf(s, 1, R"(["GuestConnection"])")["GuestConnection"];
    EXPECT_EQ(g["Connected"], true);
    EXPECT_EQ(g["ProtocolVersion"], 1);
    EXPECT_EQ(g["GuestDefinedCapabilities"], json::array({"exec", "signal", "resize"}));

    uint64_t create = createProcess(s, 10,
                                    json{{"CommandLine", "sh -c 'cat; echo done >&2'"},
                                         {"WorkingDirectory", "/tmp"},
                                         {"Environment", {{"A", "1"}}},
                                         {"User", "nobody"},
                                         {"CreateStdInPipe", true},
                                         {"CreateStdOutPipe", true},
                                         {"CreateStdErrPipe", true}});
    awaitCreates(channel, 1);
    EXPECT_FALSE(findReply(s, create)) << "CreateProcess replied before the agent started the process";
    auto& p = *channel.processes[0];
    EXPECT_EQ(p.spec.argv, (std::vector<std::string>{"sh", "-c", "cat; echo done >&2"}));
    EXPECT_EQ(p.spec.workingDirectory, "/tmp");
    EXPECT_EQ(p.spec.user, "nobody");
    EXPECT_EQ(p.spec.environment.front(), (std::pair<std::string, std::string>{"A", "1"}));
    ASSERT_TRUE(p.ends.stdinSource.valid() && p.ends.stdoutSink.valid() && p.ends.stderrSink.valid());
    EXPECT_TRUE(fcntl(p.ends.stdoutSink.get(), F_GETFL) & O_NONBLOCK) << "hcsd's ends are for the event loop";

    channel.start(0, 42);
    json r = awaitReply(s, create);
    ASSERT_EQ(hrOf(r), S_OK) << r.dump();
    EXPECT_EQ(r["result"], json::parse(R"({"ProcessId": 42, "StdInput": 0, "StdOutput": 1, "StdError": 2})"));
    std::vector<UniqueFd> fds = takeDescriptors(s, create);
    ASSERT_EQ(fds.size(), 3u);
    // The descriptors are the other ends of the channel's: bytes flow both ways.
    writeAll(fds[0].get(), "to the guest");
    fds[0].reset();
    EXPECT_EQ(readAll(p.ends.stdinSource.get()), "to the guest");
    writeAll(p.ends.stdoutSink.get(), "out");
    writeAll(p.ends.stderrSink.get(), "err");
    channel.exit(0, guest::ProcessExit{3, std::nullopt, std::nullopt});  // closes the channel's ends
    EXPECT_EQ(readAll(fds[1].get()), "out");
    EXPECT_EQ(readAll(fds[2].get()), "err");

    settle();
    auto exited = events(s, 10);
    ASSERT_EQ(exited.size(), 1u);
    EXPECT_EQ(exited[0]["event"], "ProcessExited");
    EXPECT_EQ(exited[0]["data"],
              json::parse(R"({"ProcessId": 42, "Exited": true, "ExitCode": 3, "LastWaitResult": 0})"));
    EXPECT_TRUE(events(s, 1).empty()) << "ProcessExited never arrives on a system handle";
    json w = awaitReply(s, waitExit(s, 10));
    EXPECT_EQ(w["result"]["ExitCode"], 3);
    EXPECT_EQ(hrOf(awaitReply(s, processCall(s, Method::CloseProcess, 10))), S_OK);
    EXPECT_EQ(propertiesOf(s, 1, R"(["ProcessList"])")["ProcessList"], json::array());
}

TEST_F(ProcessTest, CreateProcessErrors)
{
    uint64_t s = connect();
    createReady(s, 1, "plain", config());
    EXPECT_EQ(hrOf(awaitReply(s, createProcess(s, 10, json{{"CommandLine", "true"}}))),
              HCS_E_SYSTEM_NOT_CONFIGURED_FOR_OPERATION);
    FakeVm& vm = createReady(s, 2, "vm", guestConfig());
    json bad = awaitReply(s, createProcess(s, 10, json{{"CommandArgs", "true"}}, 2));
    EXPECT_EQ(hrOf(bad), HCS_E_INVALID_JSON);
    EXPECT_NE(bad["error"]["message"].get<std::string>().find("CommandArgs"), std::string::npos);
    json created = awaitReply(s, createProcess(s, 10, json{{"CommandLine", "true"}}, 2));
    EXPECT_EQ(hrOf(created), HCS_E_INVALID_STATE) << "a system that was never started runs no process";
    EXPECT_TRUE(channels_.last().processes.empty());
    // The handle of a failed create stays until closed; its number is taken.
    EXPECT_EQ(hrOf(awaitReply(s, createProcess(s, 10, json{{"CommandLine", "true"}}, 2))), E_INVALIDARG);
    EXPECT_EQ(hrOf(awaitReply(s, waitExit(s, 10))), HCS_E_INVALID_STATE);
    EXPECT_EQ(hrOf(awaitReply(s, processCall(s, Method::CloseProcess, 10))), S_OK);
    EXPECT_EQ(hrOf(awaitReply(s, createProcess(s, 1, json{{"CommandLine", "true"}}, 2))), E_INVALIDARG)
        << "process handles share the session's number space with system handles";
    EXPECT_EQ(hrOf(awaitReply(s, createProcess(s, 11, json{{"CommandLine", "true"}}, 99))), E_HANDLE);
    EXPECT_EQ(hrOf(awaitReply(s, processCall(s, Method::GetProcessInfo, 1))), E_HANDLE) << "1 names a system";
    EXPECT_EQ(hrOf(awaitReply(s, call(s, Method::GetComputeSystemProperties, 99))), E_HANDLE);
    (void)vm;
}

TEST_F(ProcessTest, TheAgentsStartErrorIsTheCreateResult)
{
    uint64_t s = connect();
    FakeGuestChannel& channel = runningSystem(s);
    uint64_t create = createProcess(s, 10, json{{"CommandLine", "nosuch"}, {"CreateStdOutPipe", true}});
    uint64_t wait = waitExit(s, 10);
    uint64_t signal = processCall(s, Method::SignalProcess, 10, R"({"Signal": 2})");  // deferred
    awaitCreates(channel, 1);
    channel.failStart(0, makeError(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), "nosuch: not found"));
    json r = awaitReply(s, create);
    EXPECT_EQ(hrOf(r), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    EXPECT_TRUE(takeDescriptors(s, create).empty());
    EXPECT_EQ(hrOf(awaitReply(s, wait)), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    EXPECT_EQ(hrOf(awaitReply(s, signal)), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    EXPECT_TRUE(channel.calls.empty());
    EXPECT_TRUE(events(s, 10).empty()) << "no ProcessExited for a process that never started";
}

TEST_F(ProcessTest, CallsOnAStartingProcessRunOnceItStarted)
{
    uint64_t s = connect();
    FakeGuestChannel& channel = runningSystem(s);
    uint64_t create = createProcess(s, 10, json{{"CommandLine", "sleep 100"}});
    uint64_t signal = processCall(s, Method::SignalProcess, 10, R"({"Signal": 2})");
    uint64_t badSignal = processCall(s, Method::SignalProcess, 10, R"({"Signal": 99})");
    EXPECT_EQ(hrOf(awaitReply(s, badSignal)), E_INVALIDARG) << "malformed options fail at once";
    awaitCreates(channel, 1);
    settle();
    EXPECT_TRUE(channel.calls.empty());
    channel.start(0, 7);
    EXPECT_EQ(hrOf(awaitReply(s, create)), S_OK);
    ASSERT_EQ(channel.calls.size(), 1u);
    EXPECT_EQ(channel.calls[0].what, "signal");
    EXPECT_EQ(channel.calls[0].pid, 7u);
    EXPECT_EQ(channel.calls[0].a, 2);
    EXPECT_FALSE(findReply(s, signal));
    ASSERT_TRUE(channel.answer("signal"));
    EXPECT_EQ(hrOf(awaitReply(s, signal)), S_OK);
}

TEST_F(ProcessTest, SignalTerminateModifyInfoAndProperties)
{
    uint64_t s = connect();
    FakeGuestChannel& channel = runningSystem(s);
    uint64_t create = createProcess(s, 10, json{{"CommandLine", "cat"}, {"CreateStdInPipe", true}});
    awaitCreates(channel, 1);
    channel.start(0, 9);
    ASSERT_EQ(hrOf(awaitReply(s, create)), S_OK);

    uint64_t term = processCall(s, Method::TerminateProcess, 10);
    uint64_t sig = processCall(s, Method::SignalProcess, 10);
    uint64_t closeIn = processCall(s, Method::ModifyProcess, 10,
                                   R"({"Operation": "CloseHandle", "CloseHandle": {"Handle": "StdIn"}})");
    settle();
    ASSERT_EQ(channel.calls.size(), 3u);
    EXPECT_EQ(channel.calls[0].a, SIGKILL);
    EXPECT_EQ(channel.calls[1].a, SIGTERM) << "SignalProcess without options sends SIGTERM";
    EXPECT_EQ(channel.calls[2].what, "closeStdin");
    ASSERT_TRUE(channel.answer("signal"));
    ASSERT_TRUE(channel.answer("signal", makeError(E_INVALIDARG, "the guest refused")));
    ASSERT_TRUE(channel.answer("closeStdin"));
    EXPECT_EQ(hrOf(awaitReply(s, term)), S_OK);
    EXPECT_EQ(hrOf(awaitReply(s, sig)), E_INVALIDARG);
    EXPECT_EQ(hrOf(awaitReply(s, closeIn)), S_OK);

    EXPECT_EQ(
        hrOf(awaitReply(s, processCall(s, Method::ModifyProcess, 10,
                                       R"({"Operation": "ConsoleSize", "ConsoleSize": {"Height": 5, "Width": 9}})"))),
        E_INVALIDARG)
        << "no console";
    EXPECT_EQ(hrOf(awaitReply(s, processCall(s, Method::ModifyProcess, 10,
                                             R"({"Operation": "CloseHandle", "CloseHandle": {"Handle": "StdOut"}})"))),
              E_NOTIMPL);
    EXPECT_EQ(hrOf(awaitReply(s, processCall(s, Method::ModifyProcess, 10, R"({"Operation": 1})"))),
              HCS_E_INVALID_JSON);

    json info = awaitReply(s, processCall(s, Method::GetProcessInfo, 10));
    EXPECT_EQ(info["result"],
              json::parse(R"({"ProcessId": 9, "StdInput": null, "StdOutput": null, "StdError": null})"));
    EXPECT_TRUE(takeDescriptors(s, info["id"]).empty()) << "stdio descriptors go only with the CreateProcess reply";
    json props = awaitReply(s, processCall(s, Method::GetProcessProperties, 10));
    EXPECT_EQ(props["result"], json::parse(R"({"ProcessId": 9, "Exited": false, "ExitCode": 0, "LastWaitResult": 0})"));
    json list = propertiesOf(s, 1, R"(["ProcessList"])")["ProcessList"];
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["ProcessId"], 9);
    EXPECT_EQ(list[0]["ImageName"], "cat");

    channel.exit(0, guest::ProcessExit{128 + SIGKILL, SIGKILL, std::nullopt});
    settle();
    EXPECT_EQ(hrOf(awaitReply(s, processCall(s, Method::SignalProcess, 10))), HCS_E_PROCESS_ALREADY_STOPPED);
    json status = awaitReply(s, processCall(s, Method::GetProcessProperties, 10))["result"];
    EXPECT_EQ(status["Exited"], true);
    EXPECT_EQ(status["Signal"], SIGKILL);
    EXPECT_EQ(status["ExitCode"], 137);
}

TEST_F(ProcessTest, ConsoleProcessesResizeAndHaveNoStderrPipe)
{
    uint64_t s = connect();
    FakeGuestChannel& channel = runningSystem(s);
    uint64_t create = createProcess(s, 10,
                                    json{{"CommandLine", "sh"},
                                         {"EmulateConsole", true},
                                         {"ConsoleSize", {24, 80}},
                                         {"CreateStdOutPipe", true},
                                         {"CreateStdErrPipe", true}});
    awaitCreates(channel, 1);
    EXPECT_TRUE(channel.processes[0]->spec.console);
    EXPECT_EQ(channel.processes[0]->spec.consoleRows, 24);
    EXPECT_EQ(channel.processes[0]->spec.consoleColumns, 80);
    EXPECT_FALSE(channel.processes[0]->ends.stderrSink.valid());
    channel.start(0, 3);
    EXPECT_EQ(awaitReply(s, create)["result"]["StdError"], nullptr);
    uint64_t resize = processCall(s, Method::ModifyProcess, 10,
                                  R"({"Operation": "ConsoleSize", "ConsoleSize": {"Height": 50, "Width": 132}})");
    settle();
    ASSERT_EQ(channel.calls.size(), 1u);
    EXPECT_EQ(channel.calls[0].what, "resize");
    EXPECT_EQ(channel.calls[0].a, 50);
    EXPECT_EQ(channel.calls[0].b, 132);
    channel.answer("resize");
    EXPECT_EQ(hrOf(awaitReply(s, resize)), S_OK);
}

TEST_F(ProcessTest, AnotherSessionOpensByPidAndBothSeeTheExit)
{
    uint64_t a = connect();
    FakeGuestChannel& channel = runningSystem(a);
    uint64_t create = createProcess(a, 10, json{{"CommandLine", "sleep 5"}});
    awaitCreates(channel, 1);
    channel.start(0, 77);
    ASSERT_EQ(hrOf(awaitReply(a, create)), S_OK);

    uint64_t b = connect();
    ASSERT_EQ(hrOf(awaitReply(b, send(b, Method::OpenComputeSystem, protocol::OpenParams{5, "vm"}))), S_OK);
    EXPECT_EQ(hrOf(awaitReply(b, send(b, Method::OpenProcess, protocol::OpenProcessParams{5, 6, 78}))), E_INVALIDARG);
    ASSERT_EQ(hrOf(awaitReply(b, send(b, Method::OpenProcess, protocol::OpenProcessParams{5, 6, 77}))), S_OK);
    uint64_t waitB = waitExit(b, 6);
    uint64_t waitA = waitExit(a, 10);
    uint64_t shortWait = waitExit(b, 6, 20);
    EXPECT_EQ(hrOf(awaitReply(b, shortWait)), HCS_E_OPERATION_TIMEOUT);
    EXPECT_EQ(hrOf(awaitReply(b, waitExit(b, 6, 0))), HCS_E_OPERATION_TIMEOUT);
    // Cancel ends one wait only.
    uint64_t cancelled = waitExit(b, 6);
    json c = awaitReply(b, send(b, Method::Cancel, protocol::CancelParams{cancelled}));
    EXPECT_EQ(c["result"]["cancelled"], true);
    EXPECT_EQ(hrOf(awaitReply(b, cancelled)), HCS_E_OPERATION_ALREADY_CANCELLED);

    channel.exit(0, guest::ProcessExit{0, std::nullopt, std::nullopt});
    EXPECT_EQ(awaitReply(a, waitA)["result"]["Exited"], true);
    EXPECT_EQ(awaitReply(b, waitB)["result"]["ProcessId"], 77);
    EXPECT_EQ(events(a, 10).size(), 1u);
    EXPECT_EQ(events(b, 6).size(), 1u);
    EXPECT_TRUE(events(b, 5).empty());
    // Still held by both handles: it can be opened by pid once more.
    EXPECT_EQ(hrOf(awaitReply(b, send(b, Method::OpenProcess, protocol::OpenProcessParams{5, 7, 77}))), S_OK);
}

TEST_F(ProcessTest, HandleClosedWhileTheCreateIsInFlight)
{
    uint64_t s = connect();
    FakeGuestChannel& channel = runningSystem(s);
    uint64_t create = createProcess(s, 10, json{{"CommandLine", "sleep 5"}, {"CreateStdOutPipe", true}});
    awaitCreates(channel, 1);
    uint64_t wait = waitExit(s, 10);
    EXPECT_EQ(hrOf(awaitReply(s, processCall(s, Method::CloseProcess, 10))), S_OK);
    EXPECT_EQ(hrOf(awaitReply(s, wait)), E_HANDLE) << "a wait on a closed handle ends";
    channel.start(0, 12);
    EXPECT_EQ(hrOf(awaitReply(s, create)), S_OK) << "the process runs; its creator still gets the reply";
    // Without a handle it is still listed and can be opened by pid until it exits.
    EXPECT_EQ(propertiesOf(s, 1, R"(["ProcessList"])")["ProcessList"].size(), 1u);
    ASSERT_EQ(hrOf(awaitReply(s, send(s, Method::OpenProcess, protocol::OpenProcessParams{1, 11, 12}))), S_OK);
    EXPECT_EQ(hrOf(awaitReply(s, processCall(s, Method::CloseProcess, 11))), S_OK);
    channel.exit(0, guest::ProcessExit{0, std::nullopt, std::nullopt});
    settle();
    EXPECT_EQ(propertiesOf(s, 1, R"(["ProcessList"])")["ProcessList"], json::array());
    EXPECT_EQ(hrOf(awaitReply(s, send(s, Method::OpenProcess, protocol::OpenProcessParams{1, 11, 12}))), E_INVALIDARG)
        << "an exited process nobody holds is forgotten";
}

TEST_F(ProcessTest, SessionGoneMidCreate)
{
    uint64_t owner = connect();
    FakeGuestChannel& channel = runningSystem(owner);
    uint64_t s = connect();
    ASSERT_EQ(hrOf(awaitReply(s, send(s, Method::OpenComputeSystem, protocol::OpenParams{1, "vm"}))), S_OK);
    createProcess(s, 10, json{{"CommandLine", "cat"}, {"CreateStdInPipe", true}, {"CreateStdOutPipe", true}});
    awaitCreates(channel, 1);
    waitExit(s, 10);
    service_->closeSession(s);
    channel.start(0, 21);  // the reply (and the client's descriptors) has nobody to go to
    settle();
    // The client's stdin end was closed with the reply: the guest process sees EOF.
    EXPECT_EQ(readAll(channel.processes[0]->ends.stdinSource.get()), "");
    channel.exit(0, guest::ProcessExit{0, std::nullopt, std::nullopt});
    settle();
    EXPECT_EQ(propertiesOf(owner, 1, R"(["ProcessList"])")["ProcessList"], json::array());

    // A create still queued behind Start when its session closes never reaches the guest.
    FakeVm& vm = createReady(owner, 2, "vm2", guestConfig());
    uint64_t c2 = connect();
    ASSERT_EQ(hrOf(awaitReply(c2, send(c2, Method::OpenComputeSystem, protocol::OpenParams{1, "vm2"}))), S_OK);
    uint64_t start = call(owner, Method::StartComputeSystem, 2);
    createProcess(c2, 10, json{{"CommandLine", "true"}});
    service_->closeSession(c2);
    ASSERT_TRUE(vm.reply("cont"));
    channels_.last().connect();
    EXPECT_EQ(hrOf(awaitReply(owner, start)), S_OK);
    settle();
    EXPECT_TRUE(channels_.last().processes.empty());
}

TEST_F(ProcessTest, CreateSentRightAfterStartRunsAfterIt)
{
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", guestConfig());
    uint64_t start = call(s, Method::StartComputeSystem, 1);
    uint64_t create = createProcess(s, 10, json{{"CommandLine", "true"}});
    ASSERT_TRUE(vm.reply("cont"));
    settle();
    EXPECT_TRUE(channels_.last().processes.empty()) << "CreateProcess overtook the Start waiting for the agent";
    channels_.last().connect();
    EXPECT_EQ(hrOf(awaitReply(s, start)), S_OK);
    awaitCreates(channels_.last(), 1);
    channels_.last().start(0, 1);
    EXPECT_EQ(hrOf(awaitReply(s, create)), S_OK);
}

TEST_F(ProcessTest, VmExitEndsEveryProcessWaitAndCall)
{
    uint64_t s = connect();
    FakeGuestChannel& channel = runningSystem(s);
    uint64_t running = createProcess(s, 10, json{{"CommandLine", "sleep 9"}, {"CreateStdOutPipe", true}});
    uint64_t starting = createProcess(s, 11, json{{"CommandLine", "sleep 9"}});
    awaitCreates(channel, 2);
    channel.start(0, 30);
    ASSERT_EQ(hrOf(awaitReply(s, running)), S_OK);
    std::vector<UniqueFd> fds = takeDescriptors(s, running);
    ASSERT_EQ(fds.size(), 1u);
    uint64_t wait = waitExit(s, 10);
    uint64_t waitStarting = waitExit(s, 11);
    uint64_t signal = processCall(s, Method::SignalProcess, 10, R"({"Signal": 15})");
    settle();
    ASSERT_EQ(channel.calls.size(), 1u);

    launcher_.lastVm().exitNow("killed by signal 9");
    json w = awaitReply(s, wait);
    ASSERT_EQ(hrOf(w), S_OK);
    EXPECT_EQ(w["result"]["Exited"], true);
    EXPECT_EQ(w["result"]["LastWaitResult"], static_cast<int32_t>(HCS_E_CONNECTION_CLOSED));
    EXPECT_NE(w["result"]["ErrorMessage"].get<std::string>().find("the compute system stopped"), std::string::npos);
    EXPECT_EQ(hrOf(awaitReply(s, starting)), HCS_E_CONNECTION_CLOSED);
    EXPECT_EQ(hrOf(awaitReply(s, waitStarting)), HCS_E_CONNECTION_CLOSED);
    EXPECT_EQ(hrOf(awaitReply(s, signal)), HCS_E_CONNECTION_CLOSED);
    EXPECT_EQ(events(s, 10).size(), 1u);
    EXPECT_TRUE(channels_.live.empty());
    EXPECT_EQ(readAll(fds[0].get()), "") << "the channel's end closed with it: the reader sees EOF";
    // The system event comes after the process events.
    const auto& all = lines(s);
    size_t processEvent = 0, systemEvent = 0;
    for (size_t i = 0; i < all.size(); ++i) {
        if (all[i].value("event", "") == "ProcessExited") processEvent = i;
        if (all[i].value("event", "") == "SystemExited") systemEvent = i;
    }
    EXPECT_LT(processEvent, systemEvent);
    EXPECT_EQ(hrOf(awaitReply(s, waitExit(s, 10))), S_OK) << "a wait after the end answers at once";
    EXPECT_EQ(hrOf(awaitReply(s, processCall(s, Method::TerminateProcess, 10))), HCS_E_PROCESS_ALREADY_STOPPED);
}

TEST_F(ProcessTest, AgentDisconnectEndsItsProcessesAndANewAgentServes)
{
    uint64_t s = connect();
    FakeGuestChannel& channel = runningSystem(s);
    uint64_t create = createProcess(s, 10, json{{"CommandLine", "cat"}, {"CreateStdOutPipe", true}});
    awaitCreates(channel, 1);
    channel.start(0, 40);
    ASSERT_EQ(hrOf(awaitReply(s, create)), S_OK);
    std::vector<UniqueFd> fds = takeDescriptors(s, create);
    writeAll(channel.processes[0]->ends.stdoutSink.get(), "partial");  // mid-stream
    uint64_t wait = waitExit(s, 10);
    channel.disconnect(makeError(HCS_E_CONNECTION_CLOSED, "the agent sent a frame larger than 1 MiB"));
    json w = awaitReply(s, wait);
    EXPECT_EQ(w["result"]["LastWaitResult"], static_cast<int32_t>(HCS_E_CONNECTION_CLOSED));
    EXPECT_EQ(readAll(fds[0].get()), "partial");
    EXPECT_EQ(propertiesOf(s, 1, R"(["GuestConnection"])")["GuestConnection"]["Connected"], false);

    channel.connect();
    uint64_t again = createProcess(s, 11, json{{"CommandLine", "true"}});
    awaitCreates(channel, 2);
    channel.start(1, 2);
    EXPECT_EQ(awaitReply(s, again)["result"]["ProcessId"], 2);
}

TEST_F(ProcessTest, LiveProcessesPerSystemAreCapped)
{
    service_.reset();
    maxProcesses_ = 2;
    startService();
    uint64_t s = connect();
    FakeGuestChannel& channel = runningSystem(s);
    createProcess(s, 10, json{{"CommandLine", "a"}});
    createProcess(s, 11, json{{"CommandLine", "b"}});
    json third = awaitReply(s, createProcess(s, 12, json{{"CommandLine", "c"}}));
    EXPECT_EQ(hrOf(third), HRESULT_FROM_WIN32(ERROR_TOO_MANY_OPEN_FILES));
    EXPECT_NE(third["error"]["message"].get<std::string>().find("2 processes"), std::string::npos);
    awaitCreates(channel, 2);
    channel.start(0, 1);
    channel.exit(0, guest::ProcessExit{0, std::nullopt, std::nullopt});
    settle();
    // One exited: there is room again (and the refused create took no handle number).
    uint64_t again = createProcess(s, 12, json{{"CommandLine", "c"}});
    awaitCreates(channel, 3);
    channel.start(2, 3);
    EXPECT_EQ(hrOf(awaitReply(s, again)), S_OK);
}

TEST_F(ProcessTest, ReadoptedSystemsGetTheirChannelBack)
{
    uint64_t s = connect();
    runningSystem(s);
    std::string directory = onlySystemDirectory();
    service_.reset();
    EXPECT_TRUE(channels_.live.empty());
    startService();
    service_->readoptSystems();
    ASSERT_EQ(channels_.live.size(), 1u);
    EXPECT_EQ(channels_.last().options.socketPath, SystemStore::agentSocketPath(directory));
}

}  // namespace
}  // namespace hc::hcs::service
