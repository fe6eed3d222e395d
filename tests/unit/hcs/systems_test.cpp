// HCS_SYSTEM calls: synchronous argument checks, the requests sent to hcsd, synchronous Open/Wait/VM-access/
// service calls, namespaces, and the functions that are not implemented yet.
#include <filesystem>
#include <future>

#include "client_fixture.h"

using namespace hc::hcs::testing;
using namespace std::chrono_literals;

namespace {

using SystemTest = HcsClientTest;

const wchar_t kBadUtf16[] = {L'v', static_cast<wchar_t>(0xD800), L'\0'};  // a lone surrogate

TEST_F(SystemTest, CreateChecksArgumentsBeforeSendingAnything)
{
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_SYSTEM system = reinterpret_cast<HCS_SYSTEM>(uintptr_t{0x1234});
    EXPECT_EQ(HcsCreateComputeSystem(nullptr, kConfig, op, nullptr, &system), E_INVALIDARG);
    EXPECT_EQ(system, nullptr);  // cleared on failure
    EXPECT_EQ(HcsCreateComputeSystem(L"", kConfig, op, nullptr, &system), E_INVALIDARG);
    EXPECT_EQ(HcsCreateComputeSystem(L"vm", nullptr, op, nullptr, &system), E_INVALIDARG);
    EXPECT_EQ(HcsCreateComputeSystem(kBadUtf16, kConfig, op, nullptr, &system), E_INVALIDARG);
    EXPECT_EQ(HcsCreateComputeSystem(L"vm", kBadUtf16, op, nullptr, &system), E_INVALIDARG);
    EXPECT_EQ(HcsCreateComputeSystem(L"vm", kConfig, op, nullptr, nullptr), E_POINTER);
    EXPECT_EQ(HcsCreateComputeSystem(L"vm", kConfig, nullptr, nullptr, &system), E_INVALIDARG);
    const auto* sd = reinterpret_cast<const SECURITY_DESCRIPTOR*>(&system);
    EXPECT_EQ(HcsCreateComputeSystem(L"vm", kConfig, op, sd, &system), E_INVALIDARG);
    EXPECT_TRUE(channel->requests().empty());
    EXPECT_EQ(HcsGetOperationResult(op, nullptr), HCS_E_OPERATION_NOT_STARTED);
    HcsCloseOperation(op);
}

TEST_F(SystemTest, CreateSendsIdConfigurationAndAFreshHandleNumber)
{
    HCS_SYSTEM a = createSystem(L"vm-a");
    HCS_SYSTEM b = createSystem(L"vm-b");
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    auto requests = channel->requests("CreateComputeSystem");
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].params["id"], "vm-a");
    EXPECT_EQ(requests[0].params["configuration"], R"({"SchemaVersion":{"Major":2,"Minor":1},"VirtualMachine":{}})");
    EXPECT_NE(requests[0].params["handle"], requests[1].params["handle"]);
    HcsCloseComputeSystem(a);
    HcsCloseComputeSystem(b);
}

TEST_F(SystemTest, FailedCreateStillGivesAHandleToClose)
{
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_SYSTEM system = nullptr;
    ASSERT_EQ(HcsCreateComputeSystem(L"vm", L"{}", op, nullptr, &system), S_OK);
    ASSERT_NE(system, nullptr);
    channel->reply(lastRequest("CreateComputeSystem"), HCS_E_INVALID_JSON,
                   R"({"Error":-2143878899,"ErrorMessage":"VirtualMachine: missing"})");
    LocalString doc;
    EXPECT_EQ(HcsWaitForOperationResult(op, 5000, doc.put()), HCS_E_INVALID_JSON);
    EXPECT_NE(doc.str().find(L"VirtualMachine"), std::wstring::npos);
    HcsCloseComputeSystem(system);
    EXPECT_EQ(channel->requests("CloseComputeSystem").size(), 1u);
    HcsCloseOperation(op);
}

TEST_F(SystemTest, EachCallSendsItsMethodWithHandleAndText)
{
    HCS_SYSTEM system = createSystem();
    const auto handleNumber = channel->requests("CreateComputeSystem")[0].params["handle"];
    struct Case {
        HRESULT (*call)(HCS_SYSTEM, HCS_OPERATION, PCWSTR);
        const char* method;
        const char* field;
        HCS_OPERATION_TYPE type;
    };
    const Case cases[] = {
        {HcsStartComputeSystem, "StartComputeSystem", "options", HcsOperationTypeStart},
        {HcsShutDownComputeSystem, "ShutDownComputeSystem", "options", HcsOperationTypeShutdown},
        {HcsTerminateComputeSystem, "TerminateComputeSystem", "options", HcsOperationTypeTerminate},
        {HcsCrashComputeSystem, "CrashComputeSystem", "options", HcsOperationTypeCrash},
        {HcsPauseComputeSystem, "PauseComputeSystem", "options", HcsOperationTypePause},
        {HcsResumeComputeSystem, "ResumeComputeSystem", "options", HcsOperationTypeResume},
        {HcsSaveComputeSystem, "SaveComputeSystem", "options", HcsOperationTypeSave},
        {HcsGetComputeSystemProperties, "GetComputeSystemProperties", "query", HcsOperationTypeGetProperties},
    };
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.method);
        ASSERT_EQ(c.call(system, op, nullptr), S_OK);
        auto sent = channel->requests(c.method);
        ASSERT_EQ(sent.size(), 1u);
        EXPECT_EQ(sent[0].params["handle"], handleNumber);
        EXPECT_TRUE(sent[0].params[c.field].is_null());
        EXPECT_EQ(HcsGetOperationType(op), c.type);
        channel->reply(sent[0].id, S_OK);
        ASSERT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);
        ASSERT_EQ(c.call(system, op, L"{\"Ä\":1}"), S_OK);
        EXPECT_EQ(channel->requests(c.method)[1].params[c.field], "{\"Ä\":1}");
        channel->reply(lastRequest(c.method), S_OK);
        ASSERT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);
        EXPECT_EQ(c.call(system, op, kBadUtf16), E_INVALIDARG);
        EXPECT_EQ(c.call(nullptr, op, nullptr), E_INVALIDARG);
        EXPECT_EQ(c.call(reinterpret_cast<HCS_SYSTEM>(op), op, nullptr), E_HANDLE);
    }
    HcsCloseOperation(op);
    HcsCloseComputeSystem(system);
}

TEST_F(SystemTest, ModifyNeedsAConfigurationAndNoIdentity)
{
    HCS_SYSTEM system = createSystem();
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    EXPECT_EQ(HcsModifyComputeSystem(system, op, nullptr, nullptr), E_INVALIDARG);
    int token = 0;
    EXPECT_EQ(HcsModifyComputeSystem(system, op, L"{}", &token), E_INVALIDARG);
    ASSERT_EQ(HcsModifyComputeSystem(system, op, LR"({"ResourcePath":"x"})", nullptr), S_OK);
    EXPECT_EQ(channel->requests("ModifyComputeSystem").at(0).params["configuration"], R"({"ResourcePath":"x"})");
    HcsCloseOperation(op);  // closed in flight: fine
    HcsCloseComputeSystem(system);
}

TEST_F(SystemTest, EnumerateSendsTheQuery)
{
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsEnumerateComputeSystems(LR"({"Owners":["me"]})", op), S_OK);
    EXPECT_EQ(channel->requests("EnumerateComputeSystems").at(0).params["query"], R"({"Owners":["me"]})");
    channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, R"([{"Id":"vm"}])");
    LocalString doc;
    EXPECT_EQ(HcsWaitForOperationResult(op, 5000, doc.put()), S_OK);
    EXPECT_EQ(doc.str(), LR"([{"Id":"vm"}])");
    EXPECT_EQ(HcsEnumerateComputeSystems(kBadUtf16, op), E_INVALIDARG);
    HcsCloseOperation(op);
}

TEST_F(SystemTest, OpenIsSynchronous)
{
    channel->setAutoReply([this](const FakeChannel::Request& request) -> std::optional<hc::hcs::ServiceReply> {
        if (request.method != "OpenComputeSystem") return std::nullopt;
        const bool known = request.params["id"] == "vm";
        replyFromAnotherThread(channel, request.id, known ? S_OK : HCS_E_SYSTEM_NOT_FOUND,
                               known ? "" : R"({"Error":-2143878898,"ErrorMessage":"no such system"})", 10ms);
        return std::nullopt;
    });
    HCS_SYSTEM system = nullptr;
    EXPECT_EQ(HcsOpenComputeSystem(L"vm", GENERIC_ALL, &system), S_OK);
    EXPECT_NE(system, nullptr);
    HCS_SYSTEM missing = reinterpret_cast<HCS_SYSTEM>(uintptr_t{0x99});
    EXPECT_EQ(HcsOpenComputeSystem(L"nope", GENERIC_ALL, &missing), HCS_E_SYSTEM_NOT_FOUND);
    EXPECT_EQ(missing, nullptr);
    EXPECT_EQ(HcsOpenComputeSystem(nullptr, GENERIC_ALL, &missing), E_INVALIDARG);
    EXPECT_EQ(HcsOpenComputeSystem(L"vm", GENERIC_ALL, nullptr), E_POINTER);
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    EXPECT_EQ(HcsStartComputeSystem(system, op, nullptr), S_OK);
    HcsCloseOperation(op);
    HcsCloseComputeSystem(system);
}

TEST_F(SystemTest, CloseInvalidatesTheHandleAndTellsTheService)
{
    HCS_SYSTEM system = createSystem();
    const auto handleNumber = channel->requests("CreateComputeSystem")[0].params["handle"];
    HcsCloseComputeSystem(system);
    auto closes = channel->requests("CloseComputeSystem");
    ASSERT_EQ(closes.size(), 1u);
    EXPECT_EQ(closes[0].params["handle"], handleNumber);
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    EXPECT_EQ(HcsStartComputeSystem(system, op, nullptr), E_HANDLE);
    EXPECT_EQ(HcsWaitForComputeSystemExit(system, 0, nullptr), E_HANDLE);
    EXPECT_EQ(HcsSetComputeSystemCallback(system, HcsEventOptionNone, nullptr, [](HCS_EVENT*, void*) {}), E_HANDLE);
    HcsCloseComputeSystem(system);  // a second close is harmless
    HcsCloseComputeSystem(reinterpret_cast<HCS_SYSTEM>(uintptr_t{0xdeadbeef}));
    HcsCloseComputeSystem(nullptr);
    EXPECT_EQ(channel->requests("CloseComputeSystem").size(), 1u);
    HcsCloseOperation(op);
}

TEST_F(SystemTest, WaitForExitReturnsTheExitStatus)
{
    HCS_SYSTEM system = createSystem();
    auto waiter = std::async(std::launch::async, [&] {
        LocalString doc;
        HRESULT hr = HcsWaitForComputeSystemExit(system, 3000, doc.put());
        return std::make_pair(hr, doc.str());
    });
    auto request = channel->waitForRequest("WaitForComputeSystemExit");
    ASSERT_TRUE(request);
    EXPECT_EQ(request->params["timeoutMs"], 3000);
    channel->reply(request->id, S_OK, R"({"Status":0,"ExitType":"GracefulExit"})");
    auto [hr, doc] = waiter.get();
    EXPECT_EQ(hr, S_OK);
    EXPECT_EQ(doc, LR"({"Status":0,"ExitType":"GracefulExit"})");

    auto timedOut = std::async(std::launch::async, [&] { return HcsWaitForComputeSystemExit(system, 0, nullptr); });
    request = channel->waitForRequest("WaitForComputeSystemExit", 1);
    ASSERT_TRUE(request);
    channel->reply(request->id, HCS_E_OPERATION_TIMEOUT);
    EXPECT_EQ(timedOut.get(), HCS_E_OPERATION_TIMEOUT);
    HcsCloseComputeSystem(system);
}

TEST_F(SystemTest, ServicePropertiesAreSynchronous)
{
    channel->setAutoReply([](const FakeChannel::Request& request) -> std::optional<hc::hcs::ServiceReply> {
        if (request.method == "GetServiceProperties") return hc::hcs::ServiceReply{S_OK, R"({"Accelerator":"tcg"})"};
        return std::nullopt;
    });
    EXPECT_EQ(HcsGetServiceProperties(nullptr, nullptr), E_POINTER);
    LocalString doc;
    EXPECT_EQ(HcsGetServiceProperties(LR"({"PropertyTypes":["Basic"]})", doc.put()), S_OK);
    EXPECT_EQ(doc.str(), LR"({"Accelerator":"tcg"})");
    EXPECT_EQ(channel->requests("GetServiceProperties").at(0).params["query"], R"({"PropertyTypes":["Basic"]})");
}

TEST_F(SystemTest, VmAccessSendsTheIdAndAnAbsolutePathAndReturnsTheServiceAnswer)
{
    channel->setAutoReply([](const FakeChannel::Request& request) -> std::optional<hc::hcs::ServiceReply> {
        if (request.method != "GrantVmAccess" && request.method != "RevokeVmAccess") return std::nullopt;
        if (request.params["id"] != "vm")
            return hc::hcs::ServiceReply{HCS_E_SYSTEM_NOT_FOUND, R"({"ErrorMessage":"no such system"})"};
        return hc::hcs::ServiceReply{S_OK, "{}"};
    });
    EXPECT_EQ(HcsGrantVmAccess(nullptr, L"/tmp/f"), E_INVALIDARG);
    EXPECT_EQ(HcsGrantVmAccess(L"vm", nullptr), E_INVALIDARG);
    EXPECT_EQ(HcsGrantVmAccess(L"vm", L""), E_INVALIDARG);
    EXPECT_EQ(HcsRevokeVmAccess(L"vm", kBadUtf16), E_INVALIDARG);
    EXPECT_TRUE(channel->requests().empty());

    EXPECT_EQ(HcsGrantVmAccess(L"vm", L"/srv/disk.img"), S_OK);
    auto grants = channel->requests("GrantVmAccess");
    ASSERT_EQ(grants.size(), 1u);
    EXPECT_EQ(grants[0].params["id"], "vm");
    EXPECT_EQ(grants[0].params["path"], "/srv/disk.img");

    // A relative path is this process's: hcsd gets it made absolute.
    EXPECT_EQ(HcsRevokeVmAccess(L"vm", L"disk.img"), S_OK);
    auto revokes = channel->requests("RevokeVmAccess");
    ASSERT_EQ(revokes.size(), 1u);
    EXPECT_EQ(revokes[0].params["path"], (std::filesystem::current_path() / "disk.img").string());

    EXPECT_EQ(HcsGrantVmAccess(L"other", L"/srv/disk.img"), HCS_E_SYSTEM_NOT_FOUND);
}

TEST_F(SystemTest, OnlyTheDefaultNamespaceExists)
{
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_SYSTEM system = nullptr;
    EXPECT_EQ(HcsCreateComputeSystemInNamespace(nullptr, L"vm", kConfig, op, nullptr, &system), E_INVALIDARG);
    EXPECT_EQ(HcsCreateComputeSystemInNamespace(L"other", L"vm", kConfig, op, nullptr, &system), E_NOTIMPL);
    EXPECT_EQ(HcsEnumerateComputeSystemsInNamespace(L"other", nullptr, op), E_NOTIMPL);
    EXPECT_EQ(HcsOpenComputeSystemInNamespace(L"other", L"vm", GENERIC_ALL, &system), E_NOTIMPL);
    EXPECT_TRUE(channel->requests().empty());
    ASSERT_EQ(HcsEnumerateComputeSystemsInNamespace(L"", nullptr, op), S_OK);
    channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, "[]");
    ASSERT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);
    ASSERT_EQ(HcsCreateComputeSystemInNamespace(L"", L"vm", kConfig, op, nullptr, &system), S_OK);
    channel->reply(lastRequest("CreateComputeSystem"), S_OK);
    EXPECT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);
    HcsCloseComputeSystem(system);
    HcsCloseOperation(op);
}

TEST_F(SystemTest, CreateOptionsRegisterTheEventCallback)
{
    struct Ctx {
        std::atomic<int> events{0};
    } ctx;
    HCS_CREATE_OPTIONS_1 options{};
    options.Version = HcsCreateOptions_1;
    options.CallbackOptions = HcsEventOptionNone;
    options.CallbackContext = &ctx;
    options.Callback = [](HCS_EVENT* event, void* context) {
        if (event->Type == HcsEventSystemExited) ++static_cast<Ctx*>(context)->events;
    };
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_SYSTEM system = nullptr;
    ASSERT_EQ(HcsCreateComputeSystemInNamespace(L"", L"vm", kConfig, op,
                                                reinterpret_cast<const HCS_CREATE_OPTIONS*>(&options), &system),
              S_OK);
    EXPECT_EQ(HcsSetComputeSystemCallback(system, HcsEventOptionNone, nullptr, options.Callback),
              HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET);
    const uint64_t number = channel->requests("CreateComputeSystem").at(0).params["handle"];
    channel->fireEvent({number, HcsEventSystemExited, R"({"Status":0})"});
    EXPECT_TRUE(eventually([&] { return ctx.events == 1; }));

    HCS_CREATE_OPTIONS_1 bad = options;
    bad.Version = static_cast<HCS_CREATE_OPTIONS>(2);
    HCS_SYSTEM other = nullptr;
    HCS_OPERATION op2 = HcsCreateOperation(nullptr, nullptr);
    EXPECT_EQ(HcsCreateComputeSystemInNamespace(L"", L"vm2", kConfig, op2,
                                                reinterpret_cast<const HCS_CREATE_OPTIONS*>(&bad), &other),
              E_INVALIDARG);
    HcsCloseComputeSystem(system);
    HcsCloseOperation(op);
    HcsCloseOperation(op2);
}

TEST_F(SystemTest, UnimplementedFunctionsCheckArgumentsThenSayNotImplemented)
{
    HCS_SYSTEM system = createSystem();
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    EXPECT_EQ(HcsModifyServiceSettings(L"{}", nullptr), E_NOTIMPL);
    EXPECT_EQ(HcsModifyServiceSettings(nullptr, nullptr), E_INVALIDARG);
    EXPECT_EQ(HcsCreateEmptyGuestStateFile(L"x.vmgs"), E_INVALIDARG);  // implemented: a relative path is refused
    EXPECT_EQ(HcsCreateEmptyRuntimeStateFile(nullptr), E_INVALIDARG);
    EXPECT_EQ(HcsGrantVmGroupAccess(L"/tmp/f"), E_NOTIMPL);
    EXPECT_EQ(HcsRevokeVmGroupAccess(nullptr), E_INVALIDARG);
    EXPECT_EQ(HcsAddResourceToOperation(op, HcsResourceTypeFile, L"file://x", nullptr), E_NOTIMPL);
    EXPECT_EQ(HcsAddResourceToOperation(op, static_cast<HCS_RESOURCE_TYPE>(9), L"x", nullptr), E_INVALIDARG);
    EXPECT_EQ(HcsStartLiveMigrationOnSource(system, op, nullptr), E_NOTIMPL);
    EXPECT_EQ(HcsGetOperationResult(op, nullptr), HCS_E_OPERATION_NOT_STARTED);  // nothing started
    HcsCloseOperation(op);
    HcsCloseComputeSystem(system);
}

TEST_F(SystemTest, NoServiceMeansSynchronousFailure)
{
    hc::hcs::setServiceChannelForTesting(nullptr);  // connectService() of the tests always fails
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_SYSTEM system = nullptr;
    EXPECT_EQ(HcsCreateComputeSystem(L"vm", kConfig, op, nullptr, &system), HCS_E_SERVICE_NOT_AVAILABLE);
    EXPECT_EQ(system, nullptr);
    EXPECT_EQ(HcsGetOperationResult(op, nullptr), HCS_E_OPERATION_NOT_STARTED);
    HcsCloseOperation(op);
}

}  // namespace
