// Save, restore and crash in hcsd's core against the fake VM: the QMP sequence (getfd with the file's
// descriptor, migrate to it, the MIGRATION event), the states it leaves, cancellation, the file checks
// that name their field, a restoring Create that answers only once the state is loaded, and a crash's
// events and exit attribution.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "service_fixture.h"

namespace hc::hcs::service {
namespace {

namespace fs = std::filesystem;

class ServiceSaveTest : public ServiceFixture {
protected:
    FakeVm& pausedSystem(uint64_t s)
    {
        FakeVm& vm = createReady(s, 1, "vm", config());
        uint64_t start = call(s, Method::StartComputeSystem, 1);
        EXPECT_TRUE(vm.reply("cont"));
        EXPECT_EQ(hrOf(awaitReply(s, start)), S_OK);
        uint64_t pause = call(s, Method::PauseComputeSystem, 1);
        EXPECT_TRUE(vm.reply("stop"));
        EXPECT_EQ(hrOf(awaitReply(s, pause)), S_OK);
        return vm;
    }
    // Plays QEMU through a save up to the migration running.
    void answerSaveSetup(FakeVm& vm)
    {
        ASSERT_TRUE(vm.reply("migrate-set-capabilities"));
        ASSERT_TRUE(vm.reply("migrate-set-parameters"));
        ASSERT_TRUE(vm.reply("getfd"));
        ASSERT_TRUE(vm.reply("migrate"));
    }
    static std::string errorText(const json& reply) { return reply.value("error", json::object()).dump(); }
};

TEST_F(ServiceSaveTest, SaveMigratesIntoTheFileAndAsTemplateEndsSavedAsTemplate)
{
    uint64_t s = connect();
    FakeVm& vm = pausedSystem(s);
    const std::string file = dir_ + "/vm.save";
    uint64_t save = call(s, Method::SaveComputeSystem, 1, json{{"SaveStateFilePath", file}}.dump());
    answerSaveSetup(vm);
    EXPECT_EQ(vm.descriptorsSent(), 1u);
    settle();
    EXPECT_FALSE(findReply(s, save)) << "Save answered before QEMU finished the file";
    vm.event("MIGRATION", {{"status", "active"}});
    settle();
    EXPECT_FALSE(findReply(s, save));
    vm.event("MIGRATION", {{"status", "completed"}});
    EXPECT_EQ(hrOf(awaitReply(s, save)), S_OK);
    EXPECT_EQ(stateOf(s, 1), "Paused");
    // QEMU migrates a VM once per run: a second Save before Resume is refused by name.
    json again = awaitReply(s, call(s, Method::SaveComputeSystem, 1, json{{"SaveStateFilePath", file}}.dump()));
    EXPECT_EQ(hrOf(again), HCS_E_INVALID_STATE);
    EXPECT_NE(errorText(again).find("Resume it before saving again"), std::string::npos) << again.dump();
    uint64_t resume = call(s, Method::ResumeComputeSystem, 1);
    ASSERT_TRUE(vm.reply("cont"));
    ASSERT_EQ(hrOf(awaitReply(s, resume)), S_OK);
    uint64_t pause = call(s, Method::PauseComputeSystem, 1);
    ASSERT_TRUE(vm.reply("stop"));
    ASSERT_EQ(hrOf(awaitReply(s, pause)), S_OK);
    struct stat st {};
    ASSERT_EQ(stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    uint64_t asTemplate =
        call(s, Method::SaveComputeSystem, 1, json{{"SaveType", "AsTemplate"}, {"SaveStateFilePath", file}}.dump());
    answerSaveSetup(vm);
    vm.event("MIGRATION", {{"status", "completed"}});
    EXPECT_EQ(hrOf(awaitReply(s, asTemplate)), S_OK);
    EXPECT_EQ(stateOf(s, 1), "SavedAsTemplate");
    EXPECT_EQ(hrOf(awaitReply(s, call(s, Method::ResumeComputeSystem, 1))), HCS_E_INVALID_STATE);
    EXPECT_EQ(hrOf(awaitReply(s, call(s, Method::SaveComputeSystem, 1, json{{"SaveStateFilePath", file}}.dump()))),
              HCS_E_INVALID_STATE);
}

TEST_F(ServiceSaveTest, AFailedMigrationFailsTheSave)
{
    uint64_t s = connect();
    FakeVm& vm = pausedSystem(s);
    uint64_t save = call(s, Method::SaveComputeSystem, 1, json{{"SaveStateFilePath", dir_ + "/vm.save"}}.dump());
    answerSaveSetup(vm);
    vm.event("MIGRATION", {{"status", "failed"}});
    json reply = awaitReply(s, save);
    EXPECT_NE(hrOf(reply), S_OK);
    EXPECT_NE(errorText(reply).find("Save failed"), std::string::npos) << reply.dump();
    EXPECT_EQ(stateOf(s, 1), "Paused");
}

TEST_F(ServiceSaveTest, CancellingASaveCancelsQemusMigration)
{
    uint64_t s = connect();
    FakeVm& vm = pausedSystem(s);
    uint64_t save = call(s, Method::SaveComputeSystem, 1, json{{"SaveStateFilePath", dir_ + "/vm.save"}}.dump());
    answerSaveSetup(vm);
    json cancel = awaitReply(s, send(s, Method::Cancel, protocol::CancelParams{save}));
    EXPECT_EQ(cancel["result"]["cancelled"], true);
    EXPECT_EQ(hrOf(awaitReply(s, save)), HCS_E_OPERATION_ALREADY_CANCELLED);
    ASSERT_TRUE(vm.reply("migrate_cancel"));
    vm.event("MIGRATION", {{"status", "cancelled"}});  // late: nobody answers twice
    ASSERT_TRUE(vm.reply("query-status", json{{"status", "paused"}, {"running", false}}));
    EXPECT_EQ(stateOf(s, 1), "Paused");
}

TEST_F(ServiceSaveTest, SaveFileChecksNameTheirField)
{
    uint64_t s = connect();
    pausedSystem(s);
    auto saveTo = [&](const json& options) {
        return awaitReply(s, call(s, Method::SaveComputeSystem, 1, options.dump()));
    };

    const std::string victim = dir_ + "/victim";
    std::ofstream(victim) << "keep";
    ASSERT_EQ(symlink(victim.c_str(), (dir_ + "/link").c_str()), 0);
    json viaLink = saveTo({{"SaveStateFilePath", dir_ + "/link"}});
    EXPECT_EQ(hrOf(viaLink), HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED));
    EXPECT_NE(errorText(viaLink).find("SaveOptions.SaveStateFilePath"), std::string::npos) << viaLink.dump();
    EXPECT_EQ(fs::file_size(victim), 4u);

    json directory = saveTo({{"SaveStateFilePath", dir_}});
    EXPECT_EQ(hrOf(directory), E_INVALIDARG);
    EXPECT_NE(errorText(directory).find("directory"), std::string::npos) << directory.dump();

    ASSERT_EQ(mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
    EXPECT_EQ(hrOf(saveTo({{"SaveStateFilePath", dir_ + "/fifo"}})), E_INVALIDARG);

    json noPath = saveTo(json::object());
    EXPECT_EQ(hrOf(noPath), E_INVALIDARG);
    EXPECT_NE(errorText(noPath).find("RuntimeStateFilePath"), std::string::npos) << noPath.dump();
    EXPECT_EQ(hrOf(saveTo({{"SaveStateFilePath", "relative.save"}})), HCS_E_INVALID_JSON);
    EXPECT_EQ(hrOf(saveTo({{"SaveType", "ToCloud"}})), HCS_E_INVALID_JSON);
    EXPECT_EQ(hrOf(saveTo({{"Unknown", 1}})), HCS_E_INVALID_JSON);
    EXPECT_EQ(stateOf(s, 1), "Paused");
}

TEST_F(ServiceSaveTest, ARestoringCreateAnswersOnceTheStateIsLoaded)
{
    // A file with QEMU's migration magic stands in for a saved state.
    const std::string file = dir_ + "/vm.save";
    std::ofstream(file) << "QEVM\x00\x00\x00\x03";
    json c = config();
    c["VirtualMachine"]["RestoreState"] = {{"SaveStateFilePath", file}};
    uint64_t s = connect();
    uint64_t create = send(s, Method::CreateComputeSystem, protocol::CreateParams{1, "restored", c.dump()});
    FakeVm& vm = launcher_.lastVm();
    vm.ready();
    ASSERT_TRUE(vm.reply("migrate-set-capabilities"));
    ASSERT_TRUE(vm.reply("getfd"));
    ASSERT_TRUE(vm.reply("migrate-incoming"));
    EXPECT_EQ(vm.descriptorsSent(), 1u);
    settle();
    EXPECT_FALSE(findReply(s, create)) << "Create answered before the state was loaded";
    vm.event("MIGRATION", {{"status", "completed"}});
    EXPECT_EQ(hrOf(awaitReply(s, create)), S_OK);
    EXPECT_EQ(stateOf(s, 1), "Created");
    const auto& args = launcher_.processes.back()->args;
    EXPECT_NE(std::find(args.begin(), args.end(), "-incoming"), args.end());

    // A file that is not a saved state is refused before any QEMU starts, naming the field.
    std::ofstream(dir_ + "/text") << "hello";
    c["VirtualMachine"]["RestoreState"] = {{"SaveStateFilePath", dir_ + "/text"}};
    json refused = awaitReply(s, send(s, Method::CreateComputeSystem, protocol::CreateParams{2, "bad", c.dump()}));
    EXPECT_EQ(hrOf(refused), HRESULT_FROM_WIN32(ERROR_INVALID_DATA));
    EXPECT_NE(errorText(refused).find("VirtualMachine.RestoreState.SaveStateFilePath"), std::string::npos);
}

TEST_F(ServiceSaveTest, CrashReportsThePanicAndEndsWithUnexpectedExit)
{
    uint64_t s = connect();
    json c = config();
    c["VirtualMachine"]["Devices"]["GuestCrashReporting"] = json::object();
    FakeVm& vm = createReady(s, 1, "vm", c);
    EXPECT_EQ(hrOf(awaitReply(s, call(s, Method::CrashComputeSystem, 1))), HCS_E_INVALID_STATE);  // not running
    uint64_t start = call(s, Method::StartComputeSystem, 1);
    ASSERT_TRUE(vm.reply("cont"));
    ASSERT_EQ(hrOf(awaitReply(s, start)), S_OK);
    EXPECT_EQ(hrOf(awaitReply(s, call(s, Method::CrashComputeSystem, 1, R"({"Type":"Reboot"})"))), HCS_E_INVALID_JSON);
    uint64_t crash = call(s, Method::CrashComputeSystem, 1, R"({"Type":"CrashGuest"})");
    ASSERT_TRUE(vm.reply("inject-nmi"));
    vm.event("GUEST_PANICKED", {{"action", "poweroff"}});
    vm.event("SHUTDOWN", {{"guest", true}, {"reason", "guest-panic"}});
    vm.exitNow();
    EXPECT_EQ(hrOf(awaitReply(s, crash)), S_OK);
    std::vector<std::string> names;
    json exitData;
    for (const json& e : events(s, 1)) {
        names.push_back(e["event"]);
        if (e["event"] == "SystemCrashInitiated") {
            EXPECT_EQ(e["data"]["SystemId"], "vm");
        }
        if (e["event"] == "SystemExited") exitData = e["data"];
    }
    EXPECT_EQ(names, (std::vector<std::string>{"SystemCrashInitiated", "SystemCrashReport", "SystemExited"}));
    EXPECT_EQ(exitData["ExitType"], "UnexpectedExit");
    EXPECT_EQ(exitData["Status"], static_cast<int32_t>(HCS_E_UNEXPECTED_EXIT));
    EXPECT_EQ(exitData["Attribution"][0]["SystemExit"]["Initiator"], "Client");
}

TEST_F(ServiceSaveTest, AGuestThatIgnoresTheNmiIsKilledAfterTheCrashTimeout)
{
    crashTimeout_ = 50ms;
    startService();  // with the short crash timeout
    uint64_t s = connect();
    FakeVm& vm = createReady(s, 1, "vm", config());
    uint64_t start = call(s, Method::StartComputeSystem, 1);
    ASSERT_TRUE(vm.reply("cont"));
    ASSERT_EQ(hrOf(awaitReply(s, start)), S_OK);
    uint64_t crash = call(s, Method::CrashComputeSystem, 1);
    ASSERT_TRUE(vm.reply("inject-nmi"));
    EXPECT_EQ(hrOf(awaitReply(s, crash)), S_OK);  // killed: the exit is there
    json status = awaitReply(s, send(s, Method::WaitForComputeSystemExit, protocol::WaitExitParams{1, 0}))["result"];
    EXPECT_EQ(status["ExitType"], "UnexpectedExit");
}

}  // namespace
}  // namespace hc::hcs::service
