// hcsd's core (Service) with a fake VM: the per-system queue, the lifecycle, exit attribution,
// cancellation, bounded waits on a wedged QEMU, the spawn record and re-adoption. The test
// plays QEMU through FakeVm's triggers and drives the event loop until the reply it expects
// arrives, so nothing here sleeps or depends on timing except the deliberately short timeouts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include "hcs/ipc/unix_socket.h"
#include "service_fixture.h"

namespace hc::hcs::service {
namespace {

class ServiceTest : public ServiceFixture {};

// Windows' shape: {"Properties": [...]}, one element per requested type, in the query's order.
TEST_F(ServiceTest, ServicePropertiesAnswerEachPropertyQueryInWindowsShape)
{
    uint64_t s = connect();
    auto ask = [&](const std::string& query) {
        return awaitReply(s, send(s, Method::GetServiceProperties, protocol::QueryParams{query}));
    };
    json basic = ask(R"({"PropertyTypes": ["Basic"]})")["result"];
    ASSERT_EQ(basic["Properties"].size(), 1u) << basic.dump();
    EXPECT_EQ(basic["Properties"][0]["SupportedSchemaVersions"][0], (json{{"Major", 2}, {"Minor", 0}}));
    EXPECT_FALSE(basic["Properties"][0].contains("Accelerator"));

    json both = ask(R"({"PropertyTypes": ["HostCompute", "Basic"]})")["result"];
    ASSERT_EQ(both["Properties"].size(), 2u);
    EXPECT_EQ(both["Properties"][0]["ProcessId"], getpid());  // hostcompute's facts, under their own names
    EXPECT_TRUE(both["Properties"][0].contains("Accelerator"));
    EXPECT_TRUE(both["Properties"][1].contains("SupportedSchemaVersions"));

    for (const char* everything : {"", "null", "{}", R"({"PropertyTypes": []})"}) {
        EXPECT_EQ(ask(everything)["result"]["Properties"].size(), 2u) << everything;
    }
    json refused = ask(R"({"PropertyTypes": ["Basic", "CpuGroup"]})");
    EXPECT_EQ(hrOf(refused), E_NOTIMPL);
    EXPECT_NE(refused["error"].dump().find("PropertyTypes[1]: service property type \\\"CpuGroup\\\" is not supported"),
              std::string::npos)
        << refused.dump();
    EXPECT_EQ(hrOf(ask(R"({"PropertyTypes": "Basic"})")), HCS_E_INVALID_JSON);
}

TEST_F(ServiceTest, StartPauseResumeFollowQemusReplies)
{
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", config());
    EXPECT_EQ(stateOf(s, 1), "Created");
    uint64_t start = call(s, Method::StartComputeSystem, 1);
    uint64_t props = call(s, Method::GetComputeSystemProperties, 1);  // queued behind Start
    settle();
    EXPECT_FALSE(findReply(s, start));
    EXPECT_FALSE(findReply(s, props)) << "a call overtook the one waiting for QEMU";
    ASSERT_TRUE(vm.reply("cont"));
    EXPECT_EQ(hrOf(awaitReply(s, start)), S_OK);
    EXPECT_EQ(awaitReply(s, props)["result"]["State"], "Running");
    uint64_t pause = call(s, Method::PauseComputeSystem, 1);
    ASSERT_TRUE(vm.reply("stop"));
    EXPECT_EQ(hrOf(awaitReply(s, pause)), S_OK);
    EXPECT_EQ(stateOf(s, 1), "Paused");
    EXPECT_EQ(hrOf(awaitReply(s, call(s, Method::PauseComputeSystem, 1))), HCS_E_INVALID_STATE);
}

TEST_F(ServiceTest, SpawnIsRecordedDurablyBeforeQemuStarts)
{
    std::optional<SystemRecord> recordAtLaunch;
    launcher_.onLaunch = [&](const vm::LaunchRequest& request) {
        std::string directory = fs::path(request.qmpPath).parent_path().string();
        recordAtLaunch = SystemStore(dir_ + "/state").readRecord(directory);
        // The spawn token is on the command line, so the process can be found without its pid.
        EXPECT_NE(std::find(request.args.begin(), request.args.end(), SystemStore::spawnToken(directory)),
                  request.args.end());
    };
    uint64_t s = connect();
    send(s, Method::CreateComputeSystem, protocol::CreateParams{1, "vm", config().dump()});
    ASSERT_TRUE(recordAtLaunch.has_value()) << "QEMU was started before its record existed";
    EXPECT_EQ(recordAtLaunch->state, "Creating");
    EXPECT_EQ(recordAtLaunch->id, "vm");
    auto afterSpawn = SystemStore(dir_ + "/state").readRecord(onlySystemDirectory());
    ASSERT_TRUE(afterSpawn);
    EXPECT_EQ(afterSpawn->pid, launcher_.processes.back()->pid);
}

TEST_F(ServiceTest, StoppingHcsdDuringCreateKillsTheHalfCreatedVm)
{
    uint64_t s = connect();
    send(s, Method::CreateComputeSystem, protocol::CreateParams{1, "vm", config().dump()});
    auto process = launcher_.processes.back();
    service_.reset();  // SIGTERM: the loop stops and the Service is destroyed
    EXPECT_TRUE(process->killed) << "a QEMU whose Create never finished outlived hcsd";
    EXPECT_TRUE(SystemStore(dir_ + "/state").systemDirectories().empty());
}

TEST_F(ServiceTest, RestartKillsVmsWhoseCreateNeverFinished)
{
    // A crash (SIGKILL) during Create leaves a record "Creating" — with or without the pid — and
    // a running QEMU; a crash before the record leaves a directory without one.
    SystemStore store(dir_ + "/state");
    std::vector<std::shared_ptr<testing::FakeProcess>> orphans;
    for (int i = 0; i < 3; ++i) {
        auto directory = store.createSystemDirectory("0000000" + std::to_string(i));
        ASSERT_TRUE(directory.ok());
        ASSERT_TRUE(store.writeConfig(*directory, config().dump()).ok());
        auto orphan = launcher_.addOrphan({"qemu", "-pidfile", SystemStore::spawnToken(*directory)});
        if (i < 2) {
            SystemRecord record{"half-" + std::to_string(i), "", i == 0 ? orphan->pid : 0, "Creating", 1, 0};
            ASSERT_TRUE(store.writeRecord(*directory, record).ok());
        }
        orphans.push_back(orphan);
    }
    service_->readoptSystems();
    for (auto& orphan : orphans)
        EXPECT_TRUE(orphan->killed) << "pid " << orphan->pid << " left running unlisted";
    EXPECT_TRUE(store.systemDirectories().empty());
    uint64_t s = connect();
    EXPECT_TRUE(awaitReply(s, send(s, Method::EnumerateComputeSystems, protocol::QueryParams{}))["result"].empty());
}

TEST_F(ServiceTest, EnumerateAfterRestartListsSystemsStillBeingReadopted)
{
    SystemStore store(dir_ + "/state");
    auto directory = store.createSystemDirectory("aaaaaaaa");
    ASSERT_TRUE(directory.ok());
    ASSERT_TRUE(store.writeConfig(*directory, config().dump()).ok());
    auto orphan = launcher_.addOrphan({"qemu", "-pidfile", SystemStore::spawnToken(*directory)});
    ASSERT_TRUE(store.writeRecord(*directory, SystemRecord{"survivor", "", orphan->pid, "Paused", 1, 2}).ok());
    service_->readoptSystems();
    ASSERT_NE(orphan->vm, nullptr);
    uint64_t s = connect();
    uint64_t list = send(s, Method::EnumerateComputeSystems, protocol::QueryParams{});
    settle();
    EXPECT_FALSE(findReply(s, list)) << "Enumerate answered before the re-adoption finished";
    orphan->vm->ready();
    ASSERT_TRUE(orphan->vm->reply("query-status", json{{"status", "paused"}, {"running", false}}));
    json result = awaitReply(s, list)["result"];
    ASSERT_EQ(result.size(), 1u);
    EXPECT_EQ(result[0]["Id"], "survivor");
    EXPECT_EQ(result[0]["State"], "Paused");
}

TEST_F(ServiceTest, TerminatePreemptsACallStuckOnAWedgedQemu)
{
    terminateGrace_ = 50ms;
    startService();
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", config());
    auto process = launcher_.processes.back();
    uint64_t start = call(s, Method::StartComputeSystem, 1);  // QEMU never answers (SIGSTOP)
    uint64_t terminate = call(s, Method::TerminateComputeSystem, 1);
    settle();
    EXPECT_TRUE(vm.pending("quit")) << "Terminate waited behind the stuck Start";
    // Nobody answers "quit" either: the grace period ends in SIGKILL, and both calls complete.
    EXPECT_EQ(hrOf(awaitReply(s, terminate)), S_OK);
    EXPECT_TRUE(process->killed);
    EXPECT_EQ(hrOf(awaitReply(s, start)), HCS_E_TERMINATED_DURING_START);
    auto exited = events(s, 1);
    ASSERT_EQ(exited.size(), 1u);
    EXPECT_EQ(exited[0]["data"]["ExitType"], "ForcedExit");
}

TEST_F(ServiceTest, AMonitorThatNeverAnswersTimesOutAndTheVmIsKilled)
{
    monitorTimeout_ = 100ms;
    startService();
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", config());
    // Create's last command (the balloon's statistics interval) is answered: the one left unanswered is Start's.
    ASSERT_TRUE(vm.reply("qom-set"));
    auto process = launcher_.processes.back();
    uint64_t start = call(s, Method::StartComputeSystem, 1);
    json reply = awaitReply(s, start);
    EXPECT_EQ(hrOf(reply), HCS_E_TERMINATED_DURING_START);
    EXPECT_NE(reply["error"]["message"].get<std::string>().find("did not answer \"cont\""), std::string::npos)
        << reply.dump();
    EXPECT_TRUE(process->killed);
    (void)vm;
    json wait = awaitReply(s, send(s, Method::WaitForComputeSystemExit, protocol::WaitExitParams{1, 0xFFFFFFFFu}));
    EXPECT_EQ(wait["result"]["ExitType"], "UnexpectedExit");
}

TEST_F(ServiceTest, AMonitorThatNeverBecomesReadyFailsTheCreate)
{
    monitorTimeout_ = 100ms;
    startService();
    uint64_t s = connect();
    uint64_t create = send(s, Method::CreateComputeSystem, protocol::CreateParams{1, "vm", config().dump()});
    auto process = launcher_.processes.back();
    EXPECT_EQ(hrOf(awaitReply(s, create)), HCS_E_TERMINATED_DURING_START);
    EXPECT_TRUE(process->killed);
    EXPECT_TRUE(SystemStore(dir_ + "/state").systemDirectories().empty());
}

TEST_F(ServiceTest, CancellingACallWaitingForQemuAbandonsTheWaitAndResynchronises)
{
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", config());
    uint64_t start = call(s, Method::StartComputeSystem, 1);
    uint64_t props = call(s, Method::GetComputeSystemProperties, 1);
    json cancel = awaitReply(s, send(s, Method::Cancel, protocol::CancelParams{start}));
    EXPECT_EQ(cancel["result"]["cancelled"], true);
    EXPECT_EQ(hrOf(awaitReply(s, start)), HCS_E_OPERATION_ALREADY_CANCELLED);
    // QEMU carries out the abandoned "cont" after all; the status query that follows says so.
    ASSERT_TRUE(vm.reply("cont"));
    ASSERT_TRUE(vm.reply("query-status", json{{"status", "running"}, {"running", true}}));
    EXPECT_EQ(awaitReply(s, props)["result"]["State"], "Running");
}

TEST_F(ServiceTest, ExitAttribution)
{
    struct Case {
        const char* name;
        std::function<void(ServiceTest&, uint64_t session, FakeVm& vm)> stop;
        const char* exitType;
        const char* initiator;
    };
    const Case cases[] = {
        {"guest powers off by itself",
         [](ServiceTest&, uint64_t, FakeVm& vm) {
             vm.event("SHUTDOWN", {{"guest", true}, {"reason", "guest-shutdown"}});
             vm.exitNow();
         },
         "GracefulExit", "GuestOS"},
        {"ShutDown call",
         [](ServiceTest& t, uint64_t s, FakeVm& vm) {
             uint64_t id = t.call(s, Method::ShutDownComputeSystem, 1);
             ASSERT_TRUE(vm.reply("system_powerdown"));
             vm.event("SHUTDOWN", {{"guest", true}, {"reason", "guest-shutdown"}});
             vm.exitNow();
             EXPECT_EQ(hrOf(t.awaitReply(s, id)), S_OK);
         },
         "GracefulExit", "Client"},
        {"Terminate call",
         [](ServiceTest& t, uint64_t s, FakeVm& vm) {
             uint64_t id = t.call(s, Method::TerminateComputeSystem, 1);
             ASSERT_TRUE(vm.reply("quit"));
             vm.exitNow();
             EXPECT_EQ(hrOf(t.awaitReply(s, id)), S_OK);
         },
         "ForcedExit", "Client"},
        {"QEMU crashes", [](ServiceTest&, uint64_t, FakeVm& vm) { vm.exitNow("killed by signal 11"); },
         "UnexpectedExit", "Unknown"},
    };
    int n = 0;
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        uint64_t s = connect();
        std::string id = "vm" + std::to_string(n++);
        FakeVm& vm = createReady(s, 1, id, config());
        uint64_t start = call(s, Method::StartComputeSystem, 1);
        ASSERT_TRUE(vm.reply("cont"));
        ASSERT_EQ(hrOf(awaitReply(s, start)), S_OK);
        uint64_t wait = send(s, Method::WaitForComputeSystemExit, protocol::WaitExitParams{1, 0xFFFFFFFFu});
        c.stop(*this, s, vm);
        json status = awaitReply(s, wait)["result"];
        EXPECT_EQ(status["ExitType"], c.exitType);
        EXPECT_EQ(status["Attribution"][0]["SystemExit"]["Initiator"], c.initiator) << status.dump();
        EXPECT_EQ(stateOf(s, 1), "Stopped");
    }
}

TEST_F(ServiceTest, CloseRightAfterTerminateStillDeliversSystemExited)
{
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", config());
    uint64_t terminate = call(s, Method::TerminateComputeSystem, 1);
    uint64_t close = send(s, Method::CloseComputeSystem, protocol::HandleParams{1});
    settle();
    EXPECT_FALSE(findReply(s, close)) << "Close ran before the Terminate it was pipelined after";
    ASSERT_TRUE(vm.reply("quit"));
    vm.exitNow();
    EXPECT_EQ(hrOf(awaitReply(s, terminate)), S_OK);
    EXPECT_EQ(hrOf(awaitReply(s, close)), S_OK);
    EXPECT_EQ(events(s, 1).size(), 1u) << "the handle closed after Terminate lost its SystemExited";
    // The handle is closed now, and the stopped system with no handles is gone.
    EXPECT_EQ(hrOf(awaitReply(s, call(s, Method::GetComputeSystemProperties, 1))), E_HANDLE);
    EXPECT_TRUE(awaitReply(s, send(s, Method::EnumerateComputeSystems, protocol::QueryParams{}))["result"].empty());
}

TEST_F(ServiceTest, ANamedPipePathIsNeverDestroyedUnlessItIsAStaleSocket)
{
    std::string regular = dir_ + "/precious.txt";
    std::ofstream(regular) << "keep me";
    uint64_t s = connect();
    json refused = awaitReply(
        s, send(s, Method::CreateComputeSystem, protocol::CreateParams{1, "vm", config(false, regular).dump()}));
    EXPECT_EQ(hrOf(refused), HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS));
    std::string message = refused["error"]["message"];
    EXPECT_NE(message.find("VirtualMachine.Devices.ComPorts.0.NamedPipe"), std::string::npos) << message;
    EXPECT_NE(message.find("regular file"), std::string::npos) << message;
    std::ifstream in(regular);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content, "keep me");
    EXPECT_TRUE(launcher_.processes.empty());
    EXPECT_TRUE(SystemStore(dir_ + "/state").systemDirectories().empty());

    // A live socket is refused too; a stale one (nobody listening) is replaced.
    std::string live = dir_ + "/live.sock";
    auto listener = listenUnixSocket(live);
    ASSERT_TRUE(listener.ok());
    EXPECT_EQ(hrOf(awaitReply(s, send(s, Method::CreateComputeSystem,
                                      protocol::CreateParams{1, "vm", config(false, live).dump()}))),
              HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS));
    close(*listener);
    uint64_t create = send(s, Method::CreateComputeSystem, protocol::CreateParams{1, "vm", config(false, live).dump()});
    ASSERT_FALSE(launcher_.processes.empty()) << (findReply(s, create) ? findReply(s, create)->dump() : "");
    struct stat st {};
    EXPECT_NE(lstat(live.c_str(), &st), 0) << "the stale socket was not removed for QEMU";
    launcher_.lastVm().ready();
    EXPECT_EQ(hrOf(awaitReply(s, create)), S_OK);
}

TEST_F(ServiceTest, WaitForExitTimesOutIsCancelledAndEndsWithItsSession)
{
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", config());
    json timedOut = awaitReply(s, send(s, Method::WaitForComputeSystemExit, protocol::WaitExitParams{1, 30}));
    EXPECT_EQ(hrOf(timedOut), HCS_E_OPERATION_TIMEOUT);
    uint64_t wait = send(s, Method::WaitForComputeSystemExit, protocol::WaitExitParams{1, 0xFFFFFFFFu});
    EXPECT_EQ(awaitReply(s, send(s, Method::Cancel, protocol::CancelParams{wait}))["result"]["cancelled"], true);
    EXPECT_EQ(hrOf(awaitReply(s, wait)), HCS_E_OPERATION_ALREADY_CANCELLED);

    uint64_t other = connect();
    ASSERT_EQ(hrOf(awaitReply(other, send(other, Method::OpenComputeSystem, protocol::OpenParams{7, "vm"}))), S_OK);
    uint64_t otherWait = send(other, Method::WaitForComputeSystemExit, protocol::WaitExitParams{7, 0xFFFFFFFFu});
    service_->closeSession(other);
    size_t linesBefore = lines(other).size();
    vm.exitNow("killed by signal 9");
    settle();
    EXPECT_EQ(lines(other).size(), linesBefore) << "a closed session was answered";
    EXPECT_FALSE(findReply(other, otherWait));
}

TEST_F(ServiceTest, QemuDyingDuringCreateFailsItAndWhatQueuedBehindIt)
{
    uint64_t s = connect();
    uint64_t create = send(s, Method::CreateComputeSystem, protocol::CreateParams{1, "vm", config().dump()});
    uint64_t start = call(s, Method::StartComputeSystem, 1);
    uint64_t close = send(s, Method::CloseComputeSystem, protocol::HandleParams{1});
    launcher_.lastVm().exitNow("exit code 1");
    EXPECT_EQ(hrOf(awaitReply(s, create)), HCS_E_TERMINATED_DURING_START);
    EXPECT_EQ(hrOf(awaitReply(s, start)), HCS_E_SYSTEM_NOT_FOUND);
    EXPECT_EQ(hrOf(awaitReply(s, close)), S_OK);
    EXPECT_TRUE(SystemStore(dir_ + "/state").systemDirectories().empty());
}

TEST_F(ServiceTest, LastHandleClosedTerminatesAHandleBoundSystem)
{
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", config(/*terminateOnLastHandle=*/true));
    service_->closeSession(s);
    settle();
    EXPECT_TRUE(vm.pending("quit"));
    ASSERT_TRUE(vm.reply("quit"));
    vm.exitNow();
    settle();
    uint64_t t = connect();
    EXPECT_TRUE(awaitReply(t, send(t, Method::EnumerateComputeSystems, protocol::QueryParams{}))["result"].empty());
}

// The system instance's access model (docs/hcsd.md): a system belongs to the user that created it;
// another user neither lists nor opens it (the answers are those for a missing system), root does.
TEST_F(ServiceTest, ASystemIsSeenOnlyByItsOwnerHcsdsUserAndRoot)
{
    const uid_t stranger = geteuid() == 4242 ? 4243 : 4242;
    uint64_t owner = connect();
    createReady(owner, 1, "mine", config());
    auto listed = [&](uint64_t s) {
        return awaitReply(s, send(s, Method::EnumerateComputeSystems, protocol::QueryParams{}))["result"].size();
    };
    EXPECT_EQ(listed(owner), 1u);

    uint64_t other = connect(stranger);
    EXPECT_EQ(listed(other), 0u);
    EXPECT_EQ(hrOf(awaitReply(other, send(other, Method::OpenComputeSystem, protocol::OpenParams{3, "mine"}))),
              HCS_E_SYSTEM_NOT_FOUND);
    // Handles name only what Open or Create gave: a guessed number is refused.
    EXPECT_EQ(hrOf(awaitReply(other, call(other, Method::GetComputeSystemProperties, 1))), E_HANDLE);

    uint64_t root = connect(0);
    EXPECT_EQ(listed(root), 1u);
    EXPECT_EQ(hrOf(awaitReply(root, send(root, Method::OpenComputeSystem, protocol::OpenParams{3, "mine"}))), S_OK);
}

}  // namespace
}  // namespace hc::hcs::service
