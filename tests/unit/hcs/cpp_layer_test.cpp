// hostcompute/hcs.hpp: RAII handles close what they own, Outcome carries HRESULT and document, the
// std::function completions and event handlers run and are released safely.
#include <fcntl.h>
#include <unistd.h>
#include <hostcompute/hcs.hpp>

#include "client_fixture.h"

using namespace hc::hcs::testing;
namespace hcs = hostcompute::hcs;

namespace {

class CppLayerTest : public HcsClientTest {
protected:
    void SetUp() override
    {
        HcsClientTest::SetUp();
        // hcsd stand-in: answers everything at once; Start fails, properties have a document.
        channel->setAutoReply([](const FakeChannel::Request& request) -> std::optional<hc::hcs::ServiceReply> {
            if (request.method == "StartComputeSystem")
                return hc::hcs::ServiceReply{HCS_E_INVALID_STATE, R"({"Error":-2143878907,"ErrorMessage":"no"})"};
            if (request.method == "GetComputeSystemProperties")
                return hc::hcs::ServiceReply{S_OK, R"({"State":"Created"})"};
            if (request.method == "EnumerateComputeSystems") return hc::hcs::ServiceReply{S_OK, "[]"};
            if (request.method == "CreateProcess") {
                // The guest's ends of stdin and stdout are a loop: what the caller writes comes back.
                int fds[2];
                if (pipe2(fds, O_CLOEXEC) != 0) return hc::hcs::ServiceReply{E_FAIL, ""};
                hc::hcs::ServiceReply reply{S_OK, R"({"ProcessId":31,"StdInput":0,"StdOutput":1})"};
                reply.fds.emplace_back(fds[1]);
                reply.fds.emplace_back(fds[0]);
                return reply;
            }
            if (request.method == "WaitForProcessExit")
                return hc::hcs::ServiceReply{S_OK, R"({"ProcessId":31,"Exited":true,"ExitCode":0})"};
            return hc::hcs::ServiceReply{S_OK, ""};
        });
    }
};

TEST_F(CppLayerTest, SystemCallsReturnOutcomes)
{
    auto created = hcs::System::create(L"vm", kConfig);
    ASSERT_TRUE(created.ok()) << std::hex << created.outcome.hr;
    hcs::System vm = std::move(created.value);
    ASSERT_TRUE(vm);
    auto started = vm.start();
    EXPECT_EQ(started.hr, HCS_E_INVALID_STATE);
    EXPECT_EQ(started.document, LR"({"Error":-2143878907,"ErrorMessage":"no"})");
    auto properties = vm.properties(LR"({"PropertyTypes":[]})");
    EXPECT_TRUE(properties.ok());
    EXPECT_EQ(properties.document, LR"({"State":"Created"})");
    EXPECT_TRUE(vm.terminate().ok());
    EXPECT_TRUE(vm.modify(L"{}").ok());
    EXPECT_TRUE(hcs::enumerateSystems().ok());
    EXPECT_EQ(channel->requests("CloseComputeSystem").size(), 0u);
    vm = hcs::System();  // releases the handle
    EXPECT_EQ(channel->requests("CloseComputeSystem").size(), 1u);
}

TEST_F(CppLayerTest, CreateRejectedSynchronouslyGivesNoHandle)
{
    auto created = hcs::System::create(L"", kConfig);
    EXPECT_EQ(created.outcome.hr, E_INVALIDARG);
    EXPECT_FALSE(created.value);
}

TEST_F(CppLayerTest, OperationCompletionRunsTheFunction)
{
    std::atomic<int> calls{0};
    std::atomic<HRESULT> seen{E_FAIL};
    {
        hcs::Operation operation([&](hcs::Operation& op, const hcs::Outcome& outcome) {
            EXPECT_EQ(op.type(), HcsOperationTypeEnumerate);
            seen = outcome.hr;
            ++calls;
        });
        ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, operation.get()), S_OK);
        EXPECT_TRUE(operation.wait().ok());
        ASSERT_TRUE(eventually([&] { return calls == 1; }));
    }  // closed here; the function is freed after the close
    EXPECT_EQ(seen, S_OK);
}

TEST_F(CppLayerTest, EventHandlerReceivesEventsUntilTheSystemIsDestroyed)
{
    auto created = hcs::System::create(L"vm", kConfig);
    ASSERT_TRUE(created.ok());
    std::atomic<int> exits{0};
    {
        hcs::System vm = std::move(created.value);
        ASSERT_EQ(vm.onEvent([&](const HCS_EVENT& event) {
            if (event.Type == HcsEventSystemExited) ++exits;
        }),
                  S_OK);
        EXPECT_EQ(vm.onEvent([](const HCS_EVENT&) {}), HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET);
        const uint64_t number = channel->requests("CreateComputeSystem").at(0).params["handle"];
        channel->fireEvent({number, HcsEventSystemExited, "{}"});
        ASSERT_TRUE(eventually([&] { return exits == 1; }));
    }
    EXPECT_EQ(channel->requests("CloseComputeSystem").size(), 1u);
}

TEST_F(CppLayerTest, UniqueHandlesCloseOnce)
{
    hcs::UniqueOperation a(HcsCreateOperation(nullptr, nullptr));
    HCS_OPERATION raw = a.get();
    hcs::UniqueOperation b(std::move(a));
    EXPECT_FALSE(a);
    EXPECT_EQ(b.get(), raw);
    EXPECT_EQ(HcsGetOperationResult(raw, nullptr), HCS_E_OPERATION_NOT_STARTED);
    b.reset();
    EXPECT_EQ(HcsGetOperationResult(raw, nullptr), E_HANDLE);
}

TEST_F(CppLayerTest, ProcessOwnsItsStdioAndClosesItsHandle)
{
    auto created = hcs::System::create(L"vm", kConfig);
    ASSERT_TRUE(created.ok());
    hcs::System vm = std::move(created.value);
    std::atomic<int> exits{0};
    {
        auto started = hcs::Process::create(vm, LR"({"CommandArgs":["cat"]})");
        ASSERT_TRUE(started.ok()) << std::hex << started.outcome.hr;
        hcs::Process cat = std::move(started.value);
        EXPECT_EQ(cat.id(), 31u);
        ASSERT_TRUE(cat.stdIn());
        ASSERT_TRUE(cat.stdOut());
        EXPECT_FALSE(cat.stdErr());
        ASSERT_EQ(write(cat.stdIn().get(), "hi", 2), 2);
        char buffer[4] = {};
        ASSERT_EQ(read(cat.stdOut().get(), buffer, sizeof buffer), 2);
        EXPECT_STREQ(buffer, "hi");
        cat.stdIn().reset();  // EOF
        EXPECT_EQ(read(cat.stdOut().get(), buffer, sizeof buffer), 0);

        ASSERT_EQ(cat.onExit([&](const std::wstring& status) {
            if (status.find(L"\"Exited\":true") != std::wstring::npos) ++exits;
        }),
                  S_OK);
        EXPECT_TRUE(cat.signal(2).ok());
        EXPECT_EQ(channel->requests("SignalProcess").back().params["options"], R"({"Signal":2})");
        EXPECT_TRUE(cat.resize(40, 120).ok());
        EXPECT_EQ(channel->requests("ModifyProcess").back().params["settings"],
                  R"({"Operation":"ConsoleSize","ConsoleSize":{"Height":40,"Width":120}})");
        EXPECT_TRUE(cat.terminate().ok());
        EXPECT_TRUE(cat.properties().ok());
        EXPECT_EQ(cat.waitForExit(1000).document, LR"({"ProcessId":31,"Exited":true,"ExitCode":0})");
        const uint64_t number = channel->requests("CreateProcess").back().params["process"];
        channel->fireEvent({number, HcsEventProcessExited, R"({"ProcessId":31,"Exited":true,"ExitCode":0})"});
        ASSERT_TRUE(eventually([&] { return exits == 1; }));

        auto opened = hcs::Process::open(vm, 31);
        ASSERT_TRUE(opened.ok());
        EXPECT_EQ(opened.value.id(), 31u);
        EXPECT_FALSE(opened.value.stdOut());
        EXPECT_EQ(channel->requests("CloseProcess").size(), 0u);
    }
    EXPECT_EQ(channel->requests("CloseProcess").size(), 2u);
}

TEST_F(CppLayerTest, ServicePropertiesAndTakeLocalString)
{
    auto properties = hcs::serviceProperties();
    EXPECT_TRUE(properties.ok());
    EXPECT_EQ(hcs::takeLocalString(nullptr), L"");
}

}  // namespace
