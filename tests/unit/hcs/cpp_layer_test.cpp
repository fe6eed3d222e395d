// hostcompute/hcs.hpp: RAII handles close what they own, Outcome carries HRESULT and document, the
// std::function completions and event handlers run and are released safely.
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

TEST_F(CppLayerTest, ServicePropertiesAndTakeLocalString)
{
    auto properties = hcs::serviceProperties();
    EXPECT_TRUE(properties.ok());
    EXPECT_EQ(hcs::takeLocalString(nullptr), L"");
}

}  // namespace
