// Systems belong to hcsd, not to the process that created them: another process (hcsctl) opens,
// enumerates and drives them; ShouldTerminateOnLastHandleClosed ends a system when its creator dies.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "support/hcs_test_support.h"
#include "support/qemu_processes.h"

namespace hcs_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

ProgramResult hcsctl(const std::vector<std::string>& args)
{
    std::vector<std::string> argv = {buildDirectory() + "/tools/hcsctl/hcsctl"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProgram(argv, 60s);
}

std::string writeTempFile(const std::string& name, const std::string& text)
{
    std::string path = hcsd().root() + "/" + name;
    std::ofstream(path) << text;
    return path;
}

TEST(CrossProcess, HcsctlEnumeratesOpensAndDrivesASystemCreatedHere)
{
    std::string id = testSystemId();
    EventRecorder events;
    SystemHandle system;
    CallOutcome created = createSystem(id, kernelDirectVm(TestGuest::locate().initrdIdle).configuration, system);
    ASSERT_EQ(created.hr, S_OK) << describe(created.hr) << " " << created.document;
    ASSERT_EQ(HcsSetComputeSystemCallback(system.get(), HcsEventOptionNone, &events, EventRecorder::callback), S_OK);

    ProgramResult listed = hcsctl({"list", R"({"Ids":[")" + id + R"("]})"});
    ASSERT_EQ(listed.exitCode, 0) << listed.err;
    json systems = json::parse(listed.out, nullptr, false);
    ASSERT_TRUE(systems.is_array()) << listed.out;
    ASSERT_EQ(systems.size(), 1u) << listed.out;
    EXPECT_EQ(systems[0].value("Id", ""), id);
    EXPECT_EQ(systems[0].value("State", ""), "Created");

    ProgramResult everything = hcsctl({"list"});
    ASSERT_EQ(everything.exitCode, 0) << everything.err;
    EXPECT_NE(everything.out.find(id), std::string::npos) << everything.out;

    // Another process starts it; this process sees the new state.
    ProgramResult started = hcsctl({"start", id});
    ASSERT_EQ(started.exitCode, 0) << started.err;
    EXPECT_EQ(properties(system.get()).value("State", ""), "Running");
    ProgramResult props = hcsctl({"props", id});
    ASSERT_EQ(props.exitCode, 0) << props.err;
    json seen = json::parse(props.out, nullptr, false);
    EXPECT_EQ(seen.value("Id", ""), id) << props.out;
    EXPECT_EQ(seen.value("State", ""), "Running") << props.out;
    EXPECT_EQ(seen.value("SystemType", ""), "VirtualMachine") << props.out;

    // ... and terminates it: this process's callback hears the exit.
    ProgramResult terminated = hcsctl({"terminate", id});
    ASSERT_EQ(terminated.exitCode, 0) << terminated.err;
    auto exited = events.waitFor(HcsEventSystemExited, 20s);
    ASSERT_TRUE(exited.has_value());
    EXPECT_EQ(json::parse(exited->data, nullptr, false).value("ExitType", ""), "ForcedExit") << exited->data;

    // A stopped system: hcsctl reports the HRESULT by name and in its exit code.
    ProgramResult again = hcsctl({"terminate", id});
    EXPECT_EQ(again.exitCode, 64 + 0x10) << again.err;
    EXPECT_NE(again.err.find("HCS_E_SYSTEM_ALREADY_STOPPED"), std::string::npos) << again.err;
}

TEST(CrossProcess, SystemOutlivesItsCreatorUnlessAskedOtherwise)
{
    std::string id = testSystemId();
    std::string file =
        writeTempFile("outlives.json", kernelDirectVm(TestGuest::locate().initrdIdle, false).configuration);
    ProgramResult created = hcsctl({"create", id, file});
    ASSERT_EQ(created.exitCode, 0) << created.err;

    // hcsctl has exited (its handle closed); the system is still there and can be opened.
    SystemHandle system;
    ASSERT_EQ(HcsOpenComputeSystem(wide(id).c_str(), GENERIC_ALL, system.put()), S_OK);
    EXPECT_EQ(properties(system.get()).value("State", ""), "Created");
    // Created but never started: terminate ends it.
    CallOutcome terminated = terminate(system.get());
    EXPECT_EQ(terminated.hr, S_OK) << describe(terminated.hr) << " " << terminated.document;
}

TEST(CrossProcess, HcsctlEventsPrintsTheExitOfASystemStoppedElsewhere)
{
    std::string id = testSystemId();
    SystemHandle system;
    CallOutcome created = createSystem(id, kernelDirectVm(TestGuest::locate().initrdIdle).configuration, system);
    ASSERT_EQ(created.hr, S_OK) << describe(created.hr) << " " << created.document;
    ASSERT_EQ(start(system.get()).hr, S_OK);

    std::string out = hcsd().root() + "/events.out";
    std::string err = hcsd().root() + "/events.err";
    ChildProcess events =
        ChildProcess::spawn({buildDirectory() + "/tools/hcsctl/hcsctl", "events", id, "30000"}, {{}, out, err});
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (readFile(err).find("listening") == std::string::npos) {
        ASSERT_TRUE(events.running()) << readFile(err);
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "hcsctl events did not register";
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(terminate(system.get()).hr, S_OK);
    auto status = events.wait(20s);
    ASSERT_TRUE(status.has_value()) << "hcsctl events did not exit after the system did";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << readFile(err);
    json line = json::parse(readFile(out), nullptr, false);
    ASSERT_TRUE(line.is_object()) << readFile(out);
    EXPECT_EQ(line.value("Type", ""), "SystemExited") << line.dump();
    EXPECT_EQ(line.value("TypeValue", 0u), static_cast<unsigned>(HcsEventSystemExited));
    EXPECT_EQ(line["Data"].value("ExitType", ""), "ForcedExit") << line.dump();
}

TEST(CrossProcess, HcsctlReportsInvalidJsonByNameAndExitCode)
{
    std::string file = writeTempFile("bad.json", R"({"SchemaVersion":{"Major":2,"Minor":1},
        "VirtualMachine":{"Chipset":{"Uefi":{}},"ComputeTopology":{"Memory":{"SizeInMB":"lots"}}}})");
    ProgramResult created = hcsctl({"create", testSystemId(), file});
    EXPECT_EQ(created.exitCode, 64 + 0x0D) << created.err;
    EXPECT_NE(created.err.find("HCS_E_INVALID_JSON"), std::string::npos) << created.err;
    EXPECT_NE(created.err.find("SizeInMB"), std::string::npos) << created.err;
    ProgramResult missing = hcsctl({"props", "no-such-system"});
    EXPECT_EQ(missing.exitCode, 64 + 0x0E) << missing.err;
    EXPECT_NE(missing.err.find("HCS_E_SYSTEM_NOT_FOUND"), std::string::npos) << missing.err;
}

TEST(CrossProcess, KilledCreatorTerminatesSystemWithTerminateOnLastHandleClosed)
{
    ASSERT_TRUE(waitForNoQemuMentioning(hcsd().root(), 20s)) << "a previous test's QEMU is still running";
    std::string id = testSystemId();
    std::string file = writeTempFile("holder.json", kernelDirectVm(TestGuest::locate().initrdIdle, true).configuration);
    std::string out = hcsd().root() + "/holder.out";
    ChildProcess holder = ChildProcess::spawn({buildDirectory() + "/tests/integration/hcs/hcs_it_holder", id, file},
                                              {{}, out, hcsd().root() + "/holder.err"});
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (readFile(out).find("ready") == std::string::npos) {
        ASSERT_TRUE(holder.running()) << "the holder exited: " << readFile(hcsd().root() + "/holder.err");
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the holder did not start its system";
        std::this_thread::sleep_for(20ms);
    }
    auto qemu = qemuProcessesMentioning(hcsd().root());
    ASSERT_EQ(qemu.size(), 1u) << "the holder's system has no QEMU process";

    holder.signal(SIGKILL);
    ASSERT_TRUE(holder.wait(10s).has_value());
    // hcsd notices the dead connection, releases its handle, the last one: the VM is terminated.
    EXPECT_TRUE(waitForNoQemuMentioning(hcsd().root(), 20s)) << "QEMU outlived the last handle";
    // An exited QEMU has no command line but stays a zombie until hcsd reaps it a moment later.
    for (auto until = std::chrono::steady_clock::now() + 5s;
         processAlive(qemu.front()) && std::chrono::steady_clock::now() < until;) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_FALSE(processAlive(qemu.front()));

    // hcsd records the exit right after QEMU is gone: the system soon reads Stopped, or is gone.
    std::string state;
    HRESULT opened = S_OK;
    for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;) {
        SystemHandle system;
        opened = HcsOpenComputeSystem(wide(id).c_str(), GENERIC_ALL, system.put());
        if (opened != S_OK) {
            break;
        }
        state = properties(system.get()).value("State", "");
        if (state == "Stopped") {
            break;
        }
        std::this_thread::sleep_for(50ms);
    }
    if (opened == S_OK) {
        EXPECT_EQ(state, "Stopped");
    } else {
        EXPECT_EQ(opened, HCS_E_SYSTEM_NOT_FOUND) << describe(opened);
    }
}

}  // namespace
}  // namespace hcs_test
