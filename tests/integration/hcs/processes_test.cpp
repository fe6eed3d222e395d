// Processes in a real guest: the test guest with the guest agent (HCS_AGENT_INITRD) on QEMU (TCG), hcsd as
// its own process, the C API from this program and from others (a second client process, hcsctl exec).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <thread>

#include "support/child_process.h"
#include "support/hcs_test_support.h"
#include "support/process_support.h"
#include "support/shared_guest.h"
#include "support/qemu_processes.h"
#include "support/test_process.h"

namespace hcs_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string agentVm(bool terminateOnLastHandleClosed = true)
{
    json document = json::parse(kernelDirectVm(HCS_AGENT_INITRD, terminateOnLastHandleClosed).configuration);
    document["VirtualMachine"]["GuestConnection"] = json::object();
    return document.dump();
}

ProgramResult hcsctl(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 120s)
{
    std::vector<std::string> argv = {buildDirectory() + "/tools/hcsctl/hcsctl"};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess::Options options;
    options.environment = {{"HCS_SOCKET", hcsd().socketPath()}};
    return runProgram(argv, timeout, options);
}

ProgramResult shell(const std::string& commandLine, std::chrono::milliseconds timeout = 120s)
{
    ChildProcess::Options options;
    options.environment = {{"HCS_SOCKET", hcsd().socketPath()}, {"HCSCTL", buildDirectory() + "/tools/hcsctl/hcsctl"}};
    return runProgram({"/bin/sh", "-c", commandLine}, timeout, options);
}

// One guest with the agent for the whole suite (booting under TCG takes seconds).
class TestProcesses : public SharedGuestTest<TestProcesses> {
protected:
    static void SetUpTestSuite() { startSharedGuest("TestProcesses.shared", agentVm()); }
};

TEST_F(TestProcesses, ExitCodesAndStderrApart)
{
    ExitRecorder exits;
    TestProcess p;
    createProcess(system(), command({"sh", "-c", "echo out; echo err >&2; exit 42"}), p, &exits);
    ASSERT_EQ(p.hr, S_OK) << describe(p.hr) << " " << p.error;
    EXPECT_NE(p.info.ProcessId, 0u);
    EXPECT_EQ(p.info.StdInput, nullptr);
    EXPECT_EQ(readAll(fdOf(p.info.StdOutput)), "out\n");
    EXPECT_EQ(readAll(fdOf(p.info.StdError)), "err\n");
    json status = p.waitForExit();
    EXPECT_EQ(status["Exited"], true);
    EXPECT_EQ(status["ExitCode"], 42);
    auto event = exits.waitForExit(60s);  // the exit callback
    ASSERT_TRUE(event);
    EXPECT_EQ((*event)["ExitCode"], 42);
    EXPECT_EQ((*event)["ProcessId"], p.info.ProcessId);
}

TEST_F(TestProcesses, SixtyFourMebibytesThroughCat)
{
    TestProcess cat;
    createProcess(system(), command({"cat"}, true, true, false), cat);
    ASSERT_EQ(cat.hr, S_OK) << describe(cat.hr) << " " << cat.error;
    std::string data(64 << 20, '\0');
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<char>((i * 2654435761u) >> 11);
    std::thread writer([&] {
        size_t done = 0;
        while (done < data.size()) {
            ssize_t n =
                write(fdOf(cat.info.StdInput), data.data() + done, std::min<size_t>(1 << 20, data.size() - done));
            if (n <= 0) break;
            done += static_cast<size_t>(n);
        }
        cat.closeStdIn();
    });
    const auto start = std::chrono::steady_clock::now();
    std::string echoed = readAll(fdOf(cat.info.StdOutput));
    writer.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "64 MiB through cat in the guest: " << seconds << " s (" << 64 / seconds << " MiB/s)" << std::endl;
    ASSERT_EQ(echoed.size(), data.size());
    EXPECT_TRUE(echoed == data) << "the bytes differ";
    EXPECT_EQ(cat.waitForExit()["ExitCode"], 0);

    // And the guest's own sha256 of what it received equals ours.
    TestProcess sum;
    createProcess(system(), command({"sha256sum"}, true, true, false), sum);
    ASSERT_EQ(sum.hr, S_OK) << describe(sum.hr) << " " << sum.error;
    std::thread feeder([&] {
        size_t done = 0;
        while (done < (8u << 20)) {
            ssize_t n = write(fdOf(sum.info.StdInput), data.data() + done, (8u << 20) - done);
            if (n <= 0) break;
            done += static_cast<size_t>(n);
        }
        sum.closeStdIn();
    });
    std::string guestSum = readAll(fdOf(sum.info.StdOutput));
    feeder.join();
    std::ofstream(hcsd().root() + "/head.bin", std::ios::binary).write(data.data(), 8 << 20);
    ProgramResult hostSum = runProgram({"sha256sum", hcsd().root() + "/head.bin"}, 30s);
    EXPECT_EQ(guestSum.substr(0, 64), hostSum.out.substr(0, 64));
}

TEST_F(TestProcesses, TwentyAtOnce)
{
    std::vector<std::unique_ptr<TestProcess>> processes;
    for (int i = 0; i < 20; ++i) {
        processes.push_back(std::make_unique<TestProcess>());
        createProcess(system(), command({"sh", "-c", "sleep 1; echo $0; exit $0", std::to_string(i)}),
                      *processes.back());
        ASSERT_EQ(processes.back()->hr, S_OK) << i << " " << describe(processes.back()->hr);
    }
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(readAll(fdOf(processes[i]->info.StdOutput)), std::to_string(i) + "\n");
        EXPECT_EQ(processes[i]->waitForExit()["ExitCode"], i);
    }
}

TEST_F(TestProcesses, SignalAndTerminateSayWhichSignal)
{
    ExitRecorder signalled;
    TestProcess sleeper;
    createProcess(system(), command({"sleep", "600"}, false, false, false), sleeper, &signalled);
    ASSERT_EQ(sleeper.hr, S_OK) << describe(sleeper.hr) << " " << sleeper.error;
    CallOutcome sent = runOperation(c_ProcessTimeoutMs, [&](HCS_OPERATION op) {
        return HcsSignalProcess(sleeper.process, op, LR"({"Signal":15})");
    });
    EXPECT_EQ(sent.hr, S_OK) << sent.document;
    auto status = signalled.waitForExit(60s);
    ASSERT_TRUE(status);
    EXPECT_EQ((*status)["Signal"], 15);

    TestProcess stubborn;
    createProcess(system(), command({"sh", "-c", "trap '' TERM INT; echo ready; exec sleep 600"}, false, true, false),
                  stubborn);
    ASSERT_EQ(stubborn.hr, S_OK);
    char line[8] = {};
    ASSERT_GT(read(fdOf(stubborn.info.StdOutput), line, sizeof line), 0);  // the trap is set
    CallOutcome terminated = runOperation(
        c_ProcessTimeoutMs, [&](HCS_OPERATION op) { return HcsTerminateProcess(stubborn.process, op, nullptr); });
    EXPECT_EQ(terminated.hr, S_OK) << terminated.document;
    EXPECT_EQ(stubborn.waitForExit()["Signal"], 9);
}

TEST_F(TestProcesses, WaitsTimeOut)
{
    TestProcess sleeper;
    createProcess(system(), command({"sleep", "600"}, false, false, false), sleeper);
    ASSERT_EQ(sleeper.hr, S_OK);
    const auto start = std::chrono::steady_clock::now();
    PWSTR result = nullptr;
    EXPECT_EQ(HcsWaitForProcessExit(sleeper.process, 300, &result), HCS_E_OPERATION_TIMEOUT);
    LocalFree(result);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
    // An operation wait on a process call times out the same way and stays usable.
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsGetProcessProperties(sleeper.process, op, nullptr), S_OK);
    EXPECT_EQ(HcsWaitForOperationResult(op, c_ProcessTimeoutMs, &result), S_OK);
    EXPECT_EQ(json::parse(hcsctl::takeResultString(result))["Exited"], false);
    HcsCloseOperation(op);
    EXPECT_EQ(runOperation(c_ProcessTimeoutMs,
                           [&](HCS_OPERATION o) { return HcsTerminateProcess(sleeper.process, o, nullptr); })
                  .hr,
              S_OK);
}

TEST_F(TestProcesses, ASecondClientProcessOpensByPidAndWaits)
{
    TestProcess sleeper;
    createProcess(system(), command({"sh", "-c", "read line; exit 5"}, true, false, false), sleeper);
    ASSERT_EQ(sleeper.hr, S_OK);
    ChildProcess::Options options;
    options.environment = {{"HCS_SOCKET", hcsd().socketPath()}};
    const std::string out = hcsd().root() + "/waiter.out";
    options.stdoutFile = out;
    ChildProcess waiter = ChildProcess::spawn({buildDirectory() + "/tests/integration/hcs/hcs_it_process_waiter", s_id,
                                               std::to_string(sleeper.info.ProcessId)},
                                              options);
    for (int i = 0; i < 3000 && readFile(out).find("opened") == std::string::npos; ++i)
        std::this_thread::sleep_for(10ms);
    ASSERT_NE(readFile(out).find("opened"), std::string::npos) << readFile(out);
    ASSERT_EQ(write(fdOf(sleeper.info.StdInput), "go\n", 3), 3);
    auto status = waiter.wait(60s);
    ASSERT_TRUE(status);
    EXPECT_EQ(WEXITSTATUS(*status), 0) << readFile(out);
    EXPECT_EQ(json::parse(readFile(out).substr(readFile(out).find('{')))["ExitCode"], 5);
}

TEST_F(TestProcesses, HcsctlExec)
{
    ProgramResult code = hcsctl({"exec", s_id, "--", "sh", "-c", "echo hi; echo oops >&2; exit 3"});
    EXPECT_EQ(code.exitCode, 3) << code.err;
    EXPECT_EQ(code.out, "hi\n");
    EXPECT_EQ(code.err, "oops\n");
    ProgramResult killed = hcsctl({"exec", s_id, "--", "sh", "-c", "kill -KILL $$"});
    EXPECT_EQ(killed.exitCode, 128 + 9) << killed.err;
    ProgramResult piped = shell("printf 'a\\nb\\nc\\n' | \"$HCSCTL\" exec -i " + s_id + " -- wc -l");
    EXPECT_EQ(piped.exitCode, 0) << piped.err;
    EXPECT_NE(piped.out.find('3'), std::string::npos) << piped.out;
    ProgramResult console = shell("script -qec '\"$HCSCTL\" exec -t " + s_id + " -- sh -c \"tty; exit 4\"' /dev/null");
    EXPECT_EQ(console.exitCode, 4) << console.out << console.err;
    EXPECT_NE(console.out.find("/dev/pts"), std::string::npos) << console.out;
    ProgramResult ps = hcsctl({"ps", s_id});
    EXPECT_EQ(ps.exitCode, 0) << ps.err;
    EXPECT_TRUE(json::parse(ps.out, nullptr, false).is_array()) << ps.out;
}

TEST_F(TestProcesses, HcsctlExecCtrlC)
{
    const std::string out = hcsd().root() + "/ctrlc.out";
    ChildProcess::Options options;
    options.environment = {{"HCS_SOCKET", hcsd().socketPath()}};
    options.stdoutFile = out;
    ChildProcess exec = ChildProcess::spawn(
        {buildDirectory() + "/tools/hcsctl/hcsctl", "exec", s_id, "--", "sh", "-c", "echo started; exec sleep 600"},
        options);
    for (int i = 0; i < 6000 && readFile(out).empty(); ++i)
        std::this_thread::sleep_for(10ms);
    ASSERT_FALSE(readFile(out).empty()) << "the process did not start";
    exec.signal(SIGINT);
    auto status = exec.wait(60s);
    ASSERT_TRUE(status);
    EXPECT_EQ(WEXITSTATUS(*status), 128 + SIGINT);
}

// Its own VM: terminated while processes run.
TEST(TestProcessesVmExit, EveryHandleSeesTheExit)
{
    SystemHandle system;
    CallOutcome created = createSystem(testSystemId(), agentVm(), system);
    ASSERT_EQ(created.hr, S_OK) << describe(created.hr) << " " << created.document;
    ASSERT_EQ(start(system.get()).hr, S_OK);
    std::vector<std::unique_ptr<TestProcess>> processes;
    std::vector<std::unique_ptr<ExitRecorder>> exits;
    for (int i = 0; i < 3; ++i) {
        processes.push_back(std::make_unique<TestProcess>());
        exits.push_back(std::make_unique<ExitRecorder>());
        createProcess(system.get(), command({"sleep", "600"}, false, true, false), *processes.back(),
                      exits.back().get());
        ASSERT_EQ(processes.back()->hr, S_OK);
    }
    HCS_PROCESS opened = nullptr;
    ASSERT_EQ(HcsOpenProcess(system.get(), processes[0]->info.ProcessId, GENERIC_ALL, &opened), S_OK);
    std::atomic<HRESULT> waited{E_FAIL};
    std::thread waiter([&] {
        PWSTR result = nullptr;
        waited = HcsWaitForProcessExit(opened, INFINITE, &result);
        LocalFree(result);
    });
    ASSERT_EQ(terminate(system.get()).hr, S_OK);
    for (auto& recorder : exits)
        EXPECT_TRUE(recorder->waitForExit(60s)) << "a process handle missed the exit";
    waiter.join();  // the wait ended (with a status or an error, but it ended)
    EXPECT_NE(waited.load(), HCS_E_OPERATION_TIMEOUT);
    for (auto& p : processes)
        EXPECT_EQ(readAll(fdOf(p->info.StdOutput)), "");  // EOF, not a hang
    HcsCloseProcess(opened);
}

}  // namespace
}  // namespace hcs_test
