// The process half of the client over the real connection, without QEMU: hcs_local_hcsd speaks hcsd's
// wire protocol and runs the processes on this machine, so the stdio descriptors cross a real Unix
// socket (SCM_RIGHTS) into the client library and from there to the caller and to hcsctl exec.
#include <computecore.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "hcs_session.h"
#include "support/child_process.h"
#include "support/private_hcsd.h"
#include "support/process_support.h"

using namespace std::chrono_literals;
using hcs_test::ChildProcess;
using hcs_test::ProgramResult;
using hcs_test::ExitRecorder;
using hcs_test::fdOf;
using hcs_test::readAll;
using nlohmann::json;

namespace {

class LocalHcsd : public ::testing::Environment {
public:
    void SetUp() override
    {
        char pattern[] = "/tmp/hcs-local-XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        directory = pattern;
        socket = directory + "/hcsd.sock";
        ChildProcess::Options options;
        options.stdoutFile = directory + "/out.log";
        options.stderrFile = directory + "/err.log";
        process = ChildProcess::spawn(
            {hcs_test::buildDirectory() + "/tests/integration/hcs/hcs_local_hcsd", "--socket", socket}, options);
        for (int i = 0; i < 500 && access(socket.c_str(), F_OK) != 0; ++i)
            std::this_thread::sleep_for(10ms);
        ASSERT_EQ(access(socket.c_str(), F_OK), 0) << "hcs_local_hcsd did not listen";
        setenv("HCS_SOCKET", socket.c_str(), 1);
    }
    void TearDown() override
    {
        process = ChildProcess();  // SIGKILL and reap
        std::string command = "rm -rf " + directory;
        (void)!system(command.c_str());
    }

    ChildProcess process;
    std::string directory;
    std::string socket;
};

LocalHcsd* g_hcsd = static_cast<LocalHcsd*>(::testing::AddGlobalTestEnvironment(new LocalHcsd));

ProgramResult hcsctl(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 30s)
{
    std::vector<std::string> argv = {hcs_test::buildDirectory() + "/tools/hcsctl/hcsctl"};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess::Options options;
    options.environment = {{"HCS_SOCKET", g_hcsd->socket}};
    return hcs_test::runProgram(argv, timeout, options);
}

// Runs a shell command line (for pipes into hcsctl) with HCS_SOCKET set.
ProgramResult shell(const std::string& commandLine)
{
    ChildProcess::Options options;
    options.environment = {{"HCS_SOCKET", g_hcsd->socket},
                           {"HCSCTL", hcs_test::buildDirectory() + "/tools/hcsctl/hcsctl"}};
    return hcs_test::runProgram({"/bin/sh", "-c", commandLine}, 30s, options);
}

struct Created {
    HCS_PROCESS process = nullptr;
    HCS_PROCESS_INFORMATION info{};
};

Created createProcess(HCS_SYSTEM system, const std::wstring& parameters, ExitRecorder* recorder = nullptr)
{
    Created created;
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    EXPECT_EQ(HcsCreateProcess(system, parameters.c_str(), op, nullptr, &created.process), S_OK);
    if (recorder) {
        EXPECT_EQ(HcsSetProcessCallback(created.process, HcsEventOptionNone, recorder, ExitRecorder::callback), S_OK);
    }
    EXPECT_EQ(HcsWaitForOperationResultAndProcessInfo(op, 10000, &created.info, nullptr), S_OK);
    HcsCloseOperation(op);
    return created;
}

class LocalProcessTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(hcsctl::openSystem(L"local", system).hr, S_OK); }
    hcsctl::SystemHandle system;
};

TEST_F(LocalProcessTest, StdioDescriptorsCrossTheSocketAndCarryData)
{
    ExitRecorder exits;
    auto cat = createProcess(system.get(),
                             LR"({"CommandArgs":["cat"],"CreateStdInPipe":true,"CreateStdOutPipe":true,
                                  "CreateStdErrPipe":true})",
                             &exits);
    ASSERT_NE(cat.info.ProcessId, 0u);
    ASSERT_GT(fdOf(cat.info.StdInput), 2);
    ASSERT_GT(fdOf(cat.info.StdOutput), 2);
    ASSERT_GT(fdOf(cat.info.StdError), 2);
    std::string data(8 << 20, '\0');
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<char>((i * 2654435761u) >> 13);
    std::thread writer([&] {
        size_t done = 0;
        while (done < data.size()) {
            ssize_t n = write(fdOf(cat.info.StdInput), data.data() + done, data.size() - done);
            if (n <= 0) break;
            done += static_cast<size_t>(n);
        }
        close(fdOf(cat.info.StdInput));  // the process's EOF
    });
    std::string echoed = readAll(fdOf(cat.info.StdOutput));
    writer.join();
    EXPECT_TRUE(echoed == data) << "got " << echoed.size() << " of " << data.size() << " bytes back";
    EXPECT_EQ(readAll(fdOf(cat.info.StdError)), "");
    ASSERT_TRUE(exits.waitFor(1));
    EXPECT_EQ(json::parse(exits.statuses[0])["ExitCode"], 0);
    PWSTR status = nullptr;
    ASSERT_EQ(HcsWaitForProcessExit(cat.process, 10000, &status), S_OK);
    EXPECT_EQ(json::parse(hcsctl::takeResultString(status))["Exited"], true);
    close(fdOf(cat.info.StdOutput));
    close(fdOf(cat.info.StdError));
    HcsCloseProcess(cat.process);
}

TEST_F(LocalProcessTest, SignalAndTerminateShowInTheStatus)
{
    ExitRecorder exits;
    auto sleeper = createProcess(system.get(), LR"({"CommandArgs":["sleep","30"]})", &exits);
    EXPECT_EQ(sleeper.info.StdInput, nullptr);  // none asked for
    hcsctl::CallOutcome signalled = hcsctl::runOperation(
        10000, [&](HCS_OPERATION op) { return HcsSignalProcess(sleeper.process, op, LR"({"Signal":15})"); });
    EXPECT_EQ(signalled.hr, S_OK);
    ASSERT_TRUE(exits.waitFor(1));
    EXPECT_EQ(json::parse(exits.statuses[0])["Signal"], 15);
    HcsCloseProcess(sleeper.process);

    auto stubborn = createProcess(system.get(), LR"({"CommandLine":"trap '' TERM; sleep 30"})", &exits);
    EXPECT_EQ(hcsctl::runOperation(10000,
                                   [&](HCS_OPERATION op) { return HcsTerminateProcess(stubborn.process, op, nullptr); })
                  .hr,
              S_OK);
    ASSERT_TRUE(exits.waitFor(2));
    EXPECT_EQ(json::parse(exits.statuses[1])["Signal"], 9);
    HcsCloseProcess(stubborn.process);
}

TEST_F(LocalProcessTest, HcsctlExecPassesTheExitCode)
{
    ProgramResult ok = hcsctl({"exec", "local", "--", "sh", "-c", "echo out; echo err >&2; exit 7"});
    EXPECT_EQ(ok.exitCode, 7) << ok.err;
    EXPECT_EQ(ok.out, "out\n");
    EXPECT_EQ(ok.err, "err\n");  // stderr kept apart
    ProgramResult killed = hcsctl({"exec", "local", "--", "sh", "-c", "kill -TERM $$"});
    EXPECT_EQ(killed.exitCode, 128 + SIGTERM) << killed.err;
    ProgramResult env = hcsctl(
        {"exec", "-e", "GREETING=hi there", "-w", "/tmp", "local", "--", "sh", "-c", "echo \"$GREETING\" $(pwd)"});
    EXPECT_EQ(env.exitCode, 0) << env.err;
    EXPECT_EQ(env.out, "hi there /tmp\n");
    ProgramResult missing = hcsctl({"exec", "local"});
    EXPECT_EQ(missing.exitCode, 2);
}

TEST_F(LocalProcessTest, HcsctlExecInteractiveFeedsStdin)
{
    ProgramResult piped = shell("head -c 3000000 /dev/zero | tr '\\0' x | \"$HCSCTL\" exec -i local -- wc -c");
    EXPECT_EQ(piped.exitCode, 0) << piped.err;
    EXPECT_EQ(piped.out, "3000000\n");
    // Without -i the process gets no stdin (and hcsctl does not read its own).
    ProgramResult closed = shell("echo data | \"$HCSCTL\" exec local -- wc -c");
    EXPECT_EQ(closed.exitCode, 0) << closed.err;
    EXPECT_EQ(closed.out, "0\n");
}

TEST_F(LocalProcessTest, HcsctlExecCtrlCSignalsThenTerminates)
{
    std::string outFile = g_hcsd->directory + "/ctrlc.out";
    ChildProcess::Options options;
    options.environment = {{"HCS_SOCKET", g_hcsd->socket}};
    options.stdoutFile = outFile;
    {
        // The process exits on SIGINT: hcsctl's exit code says so.
        ChildProcess exec = ChildProcess::spawn({hcs_test::buildDirectory() + "/tools/hcsctl/hcsctl", "exec", "local",
                                                 "--", "sh", "-c", "echo started; exec sleep 30"},
                                                options);
        for (int i = 0; i < 500 && hcs_test::readFile(outFile).empty(); ++i)
            std::this_thread::sleep_for(10ms);
        exec.signal(SIGINT);
        auto status = exec.wait(10s);
        ASSERT_TRUE(status);
        EXPECT_TRUE(WIFEXITED(*status));
        EXPECT_EQ(WEXITSTATUS(*status), 128 + SIGINT);
    }
    {
        // A process that ignores SIGINT: the second Ctrl-C terminates it.
        std::remove(outFile.c_str());
        ChildProcess exec = ChildProcess::spawn({hcs_test::buildDirectory() + "/tools/hcsctl/hcsctl", "exec", "local",
                                                 "--", "sh", "-c", "trap '' INT; echo started; exec sleep 30"},
                                                options);
        for (int i = 0; i < 500 && hcs_test::readFile(outFile).empty(); ++i)
            std::this_thread::sleep_for(10ms);
        exec.signal(SIGINT);
        EXPECT_FALSE(exec.wait(300ms));  // still running
        exec.signal(SIGINT);
        auto status = exec.wait(10s);
        ASSERT_TRUE(status);
        EXPECT_EQ(WEXITSTATUS(*status), 128 + SIGKILL);
    }
}

TEST_F(LocalProcessTest, HcsctlExecTtyGivesAConsole)
{
    // `script` gives hcsctl a terminal; the process sees a terminal of its own.
    ProgramResult console = shell("script -qec '\"$HCSCTL\" exec -t local -- sh -c \"tty; exit 3\"' /dev/null");
    EXPECT_EQ(console.exitCode, 3) << console.out << console.err;
    EXPECT_NE(console.out.find("/dev/pts/"), std::string::npos) << console.out;
    EXPECT_EQ(console.out.find("not a tty"), std::string::npos) << console.out;
    // The terminal is back in its own mode afterwards (canonical input, echo), also after a killed process.
    ProgramResult restored = shell(
        "script -qec '\"$HCSCTL\" exec -t local -- sh -c \"kill -9 \\$\\$\"; "
        "stty -a | tr \" ;\" \"\\n\\n\" | grep -x -- \"-*icanon\\|-*echo\"' /dev/null");
    EXPECT_NE(restored.out.find("icanon"), std::string::npos) << restored.out;
    EXPECT_EQ(restored.out.find("-icanon"), std::string::npos) << restored.out;
    EXPECT_EQ(restored.out.find("-echo"), std::string::npos) << restored.out;
}

TEST_F(LocalProcessTest, AReplyWithoutItsDescriptorsDropsTheConnection)
{
    struct Disconnects {
        std::atomic<int> count{0};
        static void CALLBACK callback(HCS_EVENT* event, void* context)
        {
            if (event->Type == HcsEventServiceDisconnect) ++static_cast<Disconnects*>(context)->count;
        }
    } disconnects;
    ASSERT_EQ(HcsSetComputeSystemCallback(system.get(), HcsEventOptionNone, &disconnects, Disconnects::callback), S_OK);
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_PROCESS process = nullptr;
    ASSERT_EQ(HcsCreateProcess(system.get(), LR"({"CommandArgs":["__lose_descriptors__"]})", op, nullptr, &process),
              S_OK);
    HCS_PROCESS_INFORMATION info{};
    // The stream can no longer be matched to its descriptors: the connection is given up, not trusted.
    EXPECT_EQ(HcsWaitForOperationResultAndProcessInfo(op, 10000, &info, nullptr), HCS_E_SERVICE_DISCONNECT);
    EXPECT_EQ(info.StdOutput, nullptr);
    for (int i = 0; i < 500 && disconnects.count == 0; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(disconnects.count, 1);
    HcsCloseOperation(op);
    HcsCloseProcess(process);
    // The next call connects anew and works.
    hcsctl::SystemHandle again;
    ASSERT_EQ(hcsctl::openSystem(L"local", again).hr, S_OK);
    auto echo = createProcess(again.get(), LR"({"CommandArgs":["echo","back"],"CreateStdOutPipe":true})");
    EXPECT_EQ(readAll(fdOf(echo.info.StdOutput)), "back\n");
    close(fdOf(echo.info.StdOutput));
    HcsCloseProcess(echo.process);
}

TEST_F(LocalProcessTest, HcsctlPsListsProcesses)
{
    auto sleeper = createProcess(system.get(), LR"({"CommandArgs":["sleep","30"]})");
    ProgramResult ps = hcsctl({"ps", "local"});
    ASSERT_EQ(ps.exitCode, 0) << ps.err;
    bool found = false;
    for (auto& entry : json::parse(ps.out))
        found = found || entry["ProcessId"] == sleeper.info.ProcessId;
    EXPECT_TRUE(found) << ps.out;
    EXPECT_EQ(
        hcsctl::runOperation(10000, [&](HCS_OPERATION op) { return HcsTerminateProcess(sleeper.process, op, nullptr); })
            .hr,
        S_OK);
    HcsCloseProcess(sleeper.process);
}

}  // namespace
