// Save, restore and crash on real guests: the agent test guest (HCS_AGENT_INITRD) on QEMU (TCG), hcsd as its
// own process, checks inside the guest through the process API. A counter the guest runs shows that memory
// survives a save; a template restores twice; the file checks name their field; a crash injected from the
// host ends the system with UnexpectedExit and a crash report (pvpanic). hcsctl's progress line for the
// long commands (start while the guest boots, save, a restoring create) shows on a terminal only.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "support/hcs_test_support.h"
#include "support/process_support.h"

namespace hcs_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr DWORD c_ProcessTimeoutMs = 120'000;

// The agent guest; booted with unknown_nmi_panic so that Crash's NMI panics it, pvpanic reporting it.
json agentVm()
{
    json document = json::parse(kernelDirectVm(HCS_AGENT_INITRD).configuration);
    auto& vm = document["VirtualMachine"];
    vm["GuestConnection"] = json::object();
    vm["Chipset"]["LinuxKernelDirect"]["KernelCmdLine"] = "console=ttyS0 quiet unknown_nmi_panic";
    vm["Devices"]["GuestCrashReporting"] = json::object();
    return document;
}

// A directory of this test's files below hcsd's root (removed first, so reruns start clean).
// Runs argv in the guest and returns its stdout (the exit code must be 0).
std::string runInGuest(HCS_SYSTEM system, const std::vector<std::string>& argv)
{
    json parameters{{"CommandArgs", argv}, {"CreateStdOutPipe", true}};
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_PROCESS process = nullptr;
    HRESULT hr = HcsCreateProcess(system, wide(parameters.dump()).c_str(), op, nullptr, &process);
    HCS_PROCESS_INFORMATION info{};
    PWSTR document = nullptr;
    if (SUCCEEDED(hr)) hr = HcsWaitForOperationResultAndProcessInfo(op, c_ProcessTimeoutMs, &info, &document);
    std::string error = hcsctl::takeResultString(document);
    HcsCloseOperation(op);
    EXPECT_EQ(hr, S_OK) << describe(hr) << " " << error;
    std::string out;
    if (SUCCEEDED(hr)) {
        out = readAll(fdOf(info.StdOutput));
        close(fdOf(info.StdOutput));
        PWSTR status = nullptr;
        EXPECT_EQ(HcsWaitForProcessExit(process, c_ProcessTimeoutMs, &status), S_OK);
        json exit = json::parse(hcsctl::takeResultString(status), nullptr, false);
        EXPECT_EQ(exit.value("ExitCode", -1), 0) << exit.dump();
    }
    if (process) HcsCloseProcess(process);
    return out;
}

// The guest's counter: a loop started in its own session (it outlives the process that started it, and
// the agent), writing an increasing number to /tmp/counter ten times a second.
void startCounter(HCS_SYSTEM system)
{
    runInGuest(system, {"sh", "-c",
                        "setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/counter; sleep 0.1; done' "
                        "</dev/null >/dev/null 2>&1 &"});
}

long readCounter(HCS_SYSTEM system)
{
    // Before the loop's first write the file is missing: that reads as 0, not as a failed command.
    std::string text = runInGuest(system, {"sh", "-c", "cat /tmp/counter 2>/dev/null || echo 0"});
    return text.empty() ? -1 : std::stol(text);
}

// The counter moves on: a later read is larger (bounded wait).
long counterAfter(HCS_SYSTEM system, long value)
{
    long now = -1;
    for (int i = 0; i < 100; ++i) {
        now = readCounter(system);
        if (now > value) break;
        std::this_thread::sleep_for(100ms);
    }
    return now;
}

CallOutcome save(HCS_SYSTEM system, const json& options)
{
    return runOperation(c_OperationTimeoutMs, [&](HCS_OPERATION op) {
        return HcsSaveComputeSystem(system, op, wide(options.dump()).c_str());
    });
}

class SaveRestore : public testing::Test {
protected:
    void TearDown() override
    {
        if (HasFailure()) std::cerr << "hcsd log:\n" << hcsd().log() << std::endl;
    }
};

// Save (ToFile, then AsTemplate) keeps the guest's memory: a restored system is Running after Start, its
// counter continues from where it was and the process API works in it; the template restores twice (by
// its file and by TemplateSystemId). Saving refuses links, directories and running systems by name.
TEST_F(SaveRestore, CounterContinuesAfterRestoreAndATemplateRestoresTwice)
{
    const std::string dir = freshTestDirectory();
    const std::string runtimeFile = dir + "/source.vmrs";
    ASSERT_EQ(HcsCreateEmptyRuntimeStateFile(wide(runtimeFile).c_str()), S_OK);
    EXPECT_EQ(fs::file_size(runtimeFile), 0u);
    EXPECT_EQ(HcsCreateEmptyRuntimeStateFile(wide(runtimeFile).c_str()), HRESULT_FROM_WIN32(ERROR_FILE_EXISTS));

    json document = agentVm();
    document["VirtualMachine"]["GuestState"] = {{"RuntimeStateFilePath", runtimeFile}};
    SystemHandle source;
    const std::string sourceId = testSystemId("source");
    CallOutcome created = createSystem(sourceId, document.dump(), source);
    ASSERT_EQ(created.hr, S_OK) << describe(created.hr) << " " << created.document;
    CallOutcome started = start(source.get());
    ASSERT_EQ(started.hr, S_OK) << describe(started.hr) << " " << started.document;
    startCounter(source.get());
    const long before = counterAfter(source.get(), 0);
    ASSERT_GT(before, 0);

    // A running system is not saved.
    CallOutcome running = save(source.get(), {{"SaveStateFilePath", dir + "/running.save"}});
    EXPECT_EQ(running.hr, HCS_E_INVALID_STATE) << running.document;
    ASSERT_EQ(pause(source.get()).hr, S_OK);

    // The file checks, on the paused system: a planted link is not followed, a directory is refused.
    const std::string victim = dir + "/victim";
    std::ofstream(victim) << "keep me";
    ASSERT_EQ(symlink(victim.c_str(), (dir + "/link.save").c_str()), 0);
    CallOutcome viaLink = save(source.get(), {{"SaveStateFilePath", dir + "/link.save"}});
    EXPECT_EQ(viaLink.hr, HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED)) << viaLink.document;
    EXPECT_NE(viaLink.document.find("SaveOptions.SaveStateFilePath"), std::string::npos) << viaLink.document;
    EXPECT_NE(viaLink.document.find("symbolic link"), std::string::npos) << viaLink.document;
    EXPECT_EQ(fs::file_size(victim), 7u);
    CallOutcome intoDirectory = save(source.get(), {{"SaveStateFilePath", dir}});
    EXPECT_EQ(intoDirectory.hr, E_INVALIDARG) << intoDirectory.document;
    EXPECT_NE(intoDirectory.document.find("directory"), std::string::npos) << intoDirectory.document;
    CallOutcome badType = save(source.get(), {{"SaveType", "ToCloud"}});
    EXPECT_EQ(badType.hr, HCS_E_INVALID_JSON) << badType.document;
    EXPECT_NE(badType.document.find("SaveOptions.SaveType"), std::string::npos) << badType.document;

    // ToFile without a path writes the runtime state file; the system stays Paused and resumes.
    CallOutcome toFile = save(source.get(), json::object());
    ASSERT_EQ(toFile.hr, S_OK) << describe(toFile.hr) << " " << toFile.document;
    EXPECT_GT(fs::file_size(runtimeFile), 1u << 20);
    EXPECT_EQ(properties(source.get())["State"], "Paused");
    ASSERT_EQ(resume(source.get()).hr, S_OK);
    const long resumed = counterAfter(source.get(), before);
    EXPECT_GT(resumed, before);

    // AsTemplate: the system becomes SavedAsTemplate, and only Terminate and properties remain. (The
    // counter is read before the pause: a paused guest runs no process.)
    const long atSave = readCounter(source.get());
    ASSERT_EQ(pause(source.get()).hr, S_OK);
    const std::string templateFile = dir + "/template.save";
    CallOutcome asTemplate = save(source.get(), {{"SaveType", "AsTemplate"}, {"SaveStateFilePath", templateFile}});
    ASSERT_EQ(asTemplate.hr, S_OK) << describe(asTemplate.hr) << " " << asTemplate.document;
    EXPECT_EQ(properties(source.get())["State"], "SavedAsTemplate");
    EXPECT_EQ(resume(source.get()).hr, HCS_E_INVALID_STATE);

    // Two restores of the template: from its file, and from the template system by id.
    auto restoreAndCheck = [&](const json& restoreState, const std::string& suffix) {
        SCOPED_TRACE(restoreState.dump());
        json restored = agentVm();
        restored["VirtualMachine"]["RestoreState"] = restoreState;
        SystemHandle copy;
        CallOutcome made = createSystem(testSystemId(suffix), restored.dump(), copy);
        ASSERT_EQ(made.hr, S_OK) << describe(made.hr) << " " << made.document;
        EXPECT_EQ(properties(copy.get())["State"], "Created");
        CallOutcome go = start(copy.get());
        ASSERT_EQ(go.hr, S_OK) << describe(go.hr) << " " << go.document;
        EXPECT_EQ(properties(copy.get())["State"], "Running");
        const long first = readCounter(copy.get());
        EXPECT_GE(first, atSave);  // memory kept: the count goes on from the saved value
        EXPECT_LT(first, atSave + 600) << "the counter restarted or ran far past the saved value";
        EXPECT_GT(counterAfter(copy.get(), first), first);
        EXPECT_EQ(terminate(copy.get()).hr, S_OK);
    };
    restoreAndCheck({{"SaveStateFilePath", templateFile}}, "copy1");
    restoreAndCheck({{"TemplateSystemId", sourceId}}, "copy2");
    EXPECT_EQ(terminate(source.get()).hr, S_OK);
}

// What a restore is refused, before any QEMU starts: each names its field.
TEST_F(SaveRestore, RestoreRefusesFilesThatHoldNoSavedState)
{
    const std::string dir = freshTestDirectory();
    auto createRefused = [&](const json& restoreState) {
        json document = agentVm();
        document["VirtualMachine"]["RestoreState"] = restoreState;
        SystemHandle system;
        return createSystem(testSystemId(), document.dump(), system);
    };
    const std::string empty = dir + "/empty.vmrs";
    ASSERT_EQ(HcsCreateEmptyRuntimeStateFile(wide(empty).c_str()), S_OK);
    CallOutcome fromEmpty = createRefused({{"SaveStateFilePath", empty}});
    EXPECT_EQ(fromEmpty.hr, HRESULT_FROM_WIN32(ERROR_INVALID_DATA)) << fromEmpty.document;
    EXPECT_NE(fromEmpty.document.find("VirtualMachine.RestoreState.SaveStateFilePath"), std::string::npos);
    EXPECT_NE(fromEmpty.document.find("no saved state"), std::string::npos) << fromEmpty.document;

    std::ofstream(dir + "/text.save") << "not a migration stream";
    CallOutcome fromText = createRefused({{"SaveStateFilePath", dir + "/text.save"}});
    EXPECT_EQ(fromText.hr, HRESULT_FROM_WIN32(ERROR_INVALID_DATA)) << fromText.document;

    CallOutcome missing = createRefused({{"SaveStateFilePath", dir + "/missing.save"}});
    EXPECT_EQ(missing.hr, HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)) << missing.document;

    CallOutcome noTemplate = createRefused({{"TemplateSystemId", "no-such-template"}});
    EXPECT_EQ(noTemplate.hr, HCS_E_SYSTEM_NOT_FOUND) << noTemplate.document;
    EXPECT_NE(noTemplate.document.find("VirtualMachine.RestoreState.TemplateSystemId"), std::string::npos);

    CallOutcome neither = createRefused(json::object());
    EXPECT_EQ(neither.hr, HCS_E_INVALID_JSON) << neither.document;

    // A guest state file is a UEFI variable store made by HcsCreateEmptyGuestStateFile.
    const std::string vmgs = dir + "/guest.vmgs";
    ASSERT_EQ(HcsCreateEmptyGuestStateFile(wide(vmgs).c_str()), S_OK);
    EXPECT_EQ(fs::file_size(vmgs), fs::file_size("/usr/share/OVMF/OVMF_VARS_4M.fd"));
    EXPECT_EQ(HcsCreateEmptyGuestStateFile(wide(vmgs).c_str()), HRESULT_FROM_WIN32(ERROR_FILE_EXISTS));
    EXPECT_EQ(HcsCreateEmptyGuestStateFile(L"relative.vmgs"), E_INVALIDARG);
    EXPECT_EQ(HcsCreateEmptyGuestStateFile(nullptr), E_INVALIDARG);
}

// HcsCrashComputeSystem: the NMI panics the guest, pvpanic reports it: SystemCrashInitiated and
// SystemCrashReport carry Windows' CrashReport, SystemExited says UnexpectedExit, Crash completes.
TEST_F(SaveRestore, CrashEndsWithUnexpectedExitAndACrashReport)
{
    SystemHandle system;
    CallOutcome created = createSystem(testSystemId(), agentVm().dump(), system);
    ASSERT_EQ(created.hr, S_OK) << describe(created.hr) << " " << created.document;
    EventRecorder events;
    ASSERT_EQ(HcsSetComputeSystemCallback(system.get(), HcsEventOptionNone, &events, EventRecorder::callback), S_OK);
    CallOutcome started = start(system.get());
    ASSERT_EQ(started.hr, S_OK) << describe(started.hr) << " " << started.document;

    CallOutcome badOptions = runOperation(c_OperationTimeoutMs, [&](HCS_OPERATION op) {
        return HcsCrashComputeSystem(system.get(), op, L"{\"Type\":\"CrashHost\"}");
    });
    EXPECT_EQ(badOptions.hr, HCS_E_INVALID_JSON) << badOptions.document;

    CallOutcome crashed = runOperation(c_OperationTimeoutMs, [&](HCS_OPERATION op) {
        return HcsCrashComputeSystem(system.get(), op, L"{\"Type\":\"CrashGuest\"}");
    });
    EXPECT_EQ(crashed.hr, S_OK) << describe(crashed.hr) << " " << crashed.document;
    auto initiated = events.waitFor(HcsEventSystemCrashInitiated, 60s);
    ASSERT_TRUE(initiated) << "no SystemCrashInitiated: did the guest's pvpanic report the panic?";
    json report = json::parse(initiated->data, nullptr, false);
    EXPECT_EQ(report["SystemId"], testSystemId());
    auto final = events.waitFor(HcsEventSystemCrashReport, 60s);
    ASSERT_TRUE(final);
    EXPECT_EQ(json::parse(final->data, nullptr, false)["SystemId"], testSystemId());
    auto exited = events.waitFor(HcsEventSystemExited, 60s);
    ASSERT_TRUE(exited);
    json status = json::parse(exited->data, nullptr, false);
    EXPECT_EQ(status["ExitType"], "UnexpectedExit") << status.dump();
    EXPECT_EQ(status["Status"], static_cast<int32_t>(HCS_E_UNEXPECTED_EXIT)) << status.dump();
    json after = properties(system.get());
    EXPECT_EQ(after["State"], "Stopped");
    EXPECT_EQ(after["ExitType"], "UnexpectedExit");
    EXPECT_EQ(after["CrashReport"]["SystemId"], testSystemId());

    CallOutcome again = runOperation(
        c_OperationTimeoutMs, [&](HCS_OPERATION op) { return HcsCrashComputeSystem(system.get(), op, nullptr); });
    EXPECT_EQ(again.hr, HCS_E_INVALID_STATE) << again.document;
}

// hcsctl under a pseudo-terminal (util-linux `script`) and with stderr a file: the progress line of
// tools/hcsctl/progress.h shows on the terminal while a start waits for the guest to boot (seconds under TCG),
// while a save writes its file and while a restoring create loads it, is erased before the result, and
// nothing at all is added to stderr when it is not a terminal.
TEST_F(SaveRestore, HcsctlShowsProgressOnATerminalOnly)
{
    const std::string script = "/usr/bin/script";
    ASSERT_TRUE(fs::exists(script)) << script << " is missing (Debian's bsdutils / util-linux)";
    const std::string dir = freshTestDirectory();
    const std::string hcsctl = buildDirectory() + "/tools/hcsctl/hcsctl";
    const std::string id = testSystemId();
    const std::string restoredId = testSystemId("restored");
    json document = agentVm();
    document["ShouldTerminateOnLastHandleClosed"] = false;  // outlives each hcsctl
    std::ofstream(dir + "/vm.json") << document.dump();
    json restoring = agentVm();  // its own console socket: the source still runs
    restoring["ShouldTerminateOnLastHandleClosed"] = false;
    restoring["VirtualMachine"]["RestoreState"] = {{"SaveStateFilePath", dir + "/terminal.save"}};
    std::ofstream(dir + "/restore.json") << restoring.dump();
    const json terminalSave = {{"SaveStateFilePath", dir + "/terminal.save"}};
    const json plainSave = {{"SaveStateFilePath", dir + "/plain.save"}};

    struct Run {
        ProgramResult result;
        std::chrono::milliseconds took;
    };
    auto timed = [](const std::vector<std::string>& argv) {
        auto begin = std::chrono::steady_clock::now();
        ProgramResult result = runProgram(argv, 180s);
        EXPECT_EQ(result.exitCode, 0) << argv[1] << ": " << result.out << result.err;
        return Run{result,
                   std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin)};
    };
    auto plain = [&](std::vector<std::string> args) {
        args.insert(args.begin(), hcsctl);
        Run run = timed(args);
        EXPECT_EQ(run.result.err, "") << args[1] << " wrote to stderr that is not a terminal";
        return run;
    };
    auto onTerminal = [&](const std::vector<std::string>& args) {
        // A wide terminal: the line is cut to the terminal's width, and the ids here are long.
        std::string command = "stty cols 400 && '" + hcsctl + "'";
        for (const auto& arg : args) {
            std::string quoted;
            for (char c : arg)
                quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
            command += " '" + quoted + "'";
        }
        return timed({script, "-q", "-e", "-c", command, "/dev/null"});
    };
    // A drawn line begins with the erase sequence, and the last one is erased before the result.
    auto expectProgress = [](const Run& run, const std::string& what, const std::string& detail) {
        const std::string& out = run.result.out;
        EXPECT_NE(out.find("\r\033[K" + what + ": "), std::string::npos) << "no progress line in: " << out;
        EXPECT_NE(out.find(detail), std::string::npos) << "no \"" << detail << "\" in: " << out;
        EXPECT_NE(out.find("\r\033[K{}"), std::string::npos) << "the result does not follow an erased line: " << out;
    };
    const auto interval = std::chrono::milliseconds(250) * 3;  // the first draw comes after 250 ms

    plain({"create", id, dir + "/vm.json"});
    Run started = onTerminal({"start", id});  // boots the kernel and waits for the agent: seconds
    expectProgress(started, "start " + id, "state Running, waiting for the guest agent");
    plain({"pause", id});
    Run saved = onTerminal({"save", id, terminalSave.dump()});
    if (saved.took > interval) {
        expectProgress(saved, "save " + id, " MiB written");
    } else {
        std::cerr << "the save took " << saved.took.count() << " ms: too short to check its progress line\n";
    }
    plain({"resume", id});
    plain({"pause", id});
    Run quiet = plain({"save", id, plainSave.dump()});
    std::cerr << "the save without a terminal took " << quiet.took.count() << " ms\n";
    EXPECT_GT(fs::file_size(dir + "/plain.save"), 1u << 20);
    Run restored = onTerminal({"create", restoredId, dir + "/restore.json"});
    if (restored.took > interval) {
        expectProgress(restored, "create " + restoredId, "loading the saved state (");
    } else {
        std::cerr << "the restore took " << restored.took.count() << " ms: too short to check its progress line\n";
    }
    plain({"terminate", restoredId});
    plain({"terminate", id});
}

}  // namespace
}  // namespace hcs_test
