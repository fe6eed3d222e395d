// Compute system event callbacks: system events, operation completions through the handle's callback
// (the seed's third pattern), the callback conflict rule, ServiceDisconnect, and closing handles while
// or inside callbacks.
#include <future>
#include <mutex>

#include "client_fixture.h"

using namespace hc::hcs::testing;
using namespace std::chrono_literals;

namespace {

struct Recorder {
    std::mutex mutex;
    std::vector<HCS_EVENT_TYPE> types;
    std::vector<std::wstring> data;
    std::vector<HCS_OPERATION> operations;
    std::vector<HRESULT> results;
    bool closeOperations = false;

    static void callback(HCS_EVENT* event, void* context)
    {
        auto* self = static_cast<Recorder*>(context);
        HRESULT result = S_OK;
        if (event->Type == HcsEventOperationCallback) {
            result = HcsGetOperationResult(event->Operation, nullptr);
            if (self->closeOperations) HcsCloseOperation(event->Operation);
        }
        std::lock_guard lock(self->mutex);
        self->types.push_back(event->Type);
        self->data.push_back(event->EventData ? event->EventData : L"<null>");
        self->operations.push_back(event->Operation);
        self->results.push_back(result);
    }
    size_t count()
    {
        std::lock_guard lock(mutex);
        return types.size();
    }
};

class EventTest : public HcsClientTest {
protected:
    uint64_t numberOf(int createIndex)
    {
        return channel->requests("CreateComputeSystem").at(createIndex).params["handle"];
    }
};

TEST_F(EventTest, SystemExitedReachesTheCallbackWithItsData)
{
    HCS_SYSTEM system = createSystem();
    Recorder recorder;
    ASSERT_EQ(HcsSetComputeSystemCallback(system, HcsEventOptionNone, &recorder, Recorder::callback), S_OK);
    channel->fireEvent({numberOf(0), HcsEventSystemExited, R"({"Status":0,"ExitType":"GracefulExit"})"});
    ASSERT_TRUE(eventually([&] { return recorder.count() == 1; }));
    EXPECT_EQ(recorder.types[0], HcsEventSystemExited);
    EXPECT_EQ(recorder.data[0], LR"({"Status":0,"ExitType":"GracefulExit"})");
    EXPECT_EQ(recorder.operations[0], nullptr);
    HcsCloseComputeSystem(system);
}

TEST_F(EventTest, EventsGoOnlyToTheHandleTheyNameAndNeedACallback)
{
    HCS_SYSTEM a = createSystem(L"a");
    HCS_SYSTEM b = createSystem(L"b");
    Recorder recorder;
    ASSERT_EQ(HcsSetComputeSystemCallback(b, HcsEventOptionNone, &recorder, Recorder::callback), S_OK);
    channel->fireEvent({numberOf(0), HcsEventSystemExited, "{}"});  // a: no callback, dropped
    channel->fireEvent({999, HcsEventSystemExited, "{}"});          // nobody
    channel->fireEvent({numberOf(1), HcsEventSystemCrashInitiated, "{}"});
    drainCallbacks();
    EXPECT_EQ(recorder.count(), 1u);
    EXPECT_EQ(recorder.types[0], HcsEventSystemCrashInitiated);
    HcsCloseComputeSystem(a);
    HcsCloseComputeSystem(b);
}

TEST_F(EventTest, SetCallbackValidatesAndOnlyOnce)
{
    HCS_SYSTEM system = createSystem();
    Recorder recorder;
    EXPECT_EQ(HcsSetComputeSystemCallback(system, HcsEventOptionNone, &recorder, nullptr), E_INVALIDARG);
    EXPECT_EQ(HcsSetComputeSystemCallback(system, static_cast<HCS_EVENT_OPTIONS>(0x40), &recorder, Recorder::callback),
              E_INVALIDARG);
    EXPECT_EQ(HcsSetComputeSystemCallback(nullptr, HcsEventOptionNone, &recorder, Recorder::callback), E_INVALIDARG);
    ASSERT_EQ(HcsSetComputeSystemCallback(system, HcsEventOptionNone, &recorder, Recorder::callback), S_OK);
    EXPECT_EQ(
        HcsSetComputeSystemCallback(system, HcsEventOptionEnableOperationCallbacks, &recorder, Recorder::callback),
        HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET);
    HcsCloseComputeSystem(system);
}

TEST_F(EventTest, OperationCompletionsArriveThroughTheEventCallback)
{
    HCS_SYSTEM system = createSystem();
    Recorder recorder;
    recorder.closeOperations = true;
    ASSERT_EQ(
        HcsSetComputeSystemCallback(system, HcsEventOptionEnableOperationCallbacks, &recorder, Recorder::callback),
        S_OK);
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsStartComputeSystem(system, op, nullptr), S_OK);
    channel->reply(lastRequest("StartComputeSystem"), S_OK);
    ASSERT_TRUE(eventually([&] { return recorder.count() == 1; }));
    EXPECT_EQ(recorder.types[0], HcsEventOperationCallback);
    EXPECT_EQ(recorder.operations[0], op);
    EXPECT_EQ(recorder.results[0], S_OK);
    EXPECT_EQ(HcsGetOperationResult(op, nullptr), E_HANDLE);  // the callback closed it
    HcsCloseComputeSystem(system);
}

TEST_F(EventTest, SeedPatternThreeCompletionBeforeTheCallbackIsSetIsStillDelivered)
{
    // The seed creates, then sets the callback; here the Create reply arrives in between.
    channel->setAutoReply([](const FakeChannel::Request& request) -> std::optional<hc::hcs::ServiceReply> {
        if (request.method == "CreateComputeSystem") return hc::hcs::ServiceReply{S_OK, ""};
        return std::nullopt;
    });
    HCS_SYSTEM system = nullptr;
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsCreateComputeSystem(L"Test", kConfig, op, nullptr, &system), S_OK);
    std::this_thread::sleep_for(10ms);
    Recorder recorder;
    recorder.closeOperations = true;
    ASSERT_EQ(
        HcsSetComputeSystemCallback(system, HcsEventOptionEnableOperationCallbacks, &recorder, Recorder::callback),
        S_OK);
    ASSERT_TRUE(eventually([&] { return recorder.count() == 1; }));
    EXPECT_EQ(recorder.types[0], HcsEventOperationCallback);
    EXPECT_EQ(recorder.operations[0], op);
    EXPECT_EQ(recorder.results[0], S_OK);

    // ... and then an operation with its own callback is refused synchronously.
    HCS_OPERATION withCallback = HcsCreateOperation(nullptr, [](HCS_OPERATION, void*) {});
    EXPECT_EQ(HcsStartComputeSystem(system, withCallback, nullptr), HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET);
    EXPECT_TRUE(channel->requests("StartComputeSystem").empty());
    HcsCloseOperation(withCallback);
    HcsCloseComputeSystem(system);
}

TEST_F(EventTest, AnAlreadySeenCompletionIsNotDeliveredAgain)
{
    HCS_SYSTEM system = nullptr;
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsCreateComputeSystem(L"vm", kConfig, op, nullptr, &system), S_OK);
    channel->reply(lastRequest("CreateComputeSystem"), S_OK);
    ASSERT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);  // seen by a waiter
    Recorder recorder;
    ASSERT_EQ(
        HcsSetComputeSystemCallback(system, HcsEventOptionEnableOperationCallbacks, &recorder, Recorder::callback),
        S_OK);
    channel->fireEvent({numberOf(0), HcsEventSystemExited, "{}"});  // a marker behind any delivery
    drainCallbacks();
    ASSERT_EQ(recorder.count(), 1u);
    EXPECT_EQ(recorder.types[0], HcsEventSystemExited);
    HcsCloseOperation(op);
    HcsCloseComputeSystem(system);
}

TEST_F(EventTest, OperationsWithoutTheOptionDoNotReachTheEventCallback)
{
    HCS_SYSTEM system = createSystem();
    Recorder recorder;
    ASSERT_EQ(HcsSetComputeSystemCallback(system, HcsEventOptionNone, &recorder, Recorder::callback), S_OK);
    std::atomic<int> own{0};
    HCS_OPERATION op = HcsCreateOperation(&own, [](HCS_OPERATION, void* c) { ++*static_cast<std::atomic<int>*>(c); });
    ASSERT_EQ(HcsStartComputeSystem(system, op, nullptr), S_OK);  // allowed: no operation callbacks on the handle
    channel->reply(lastRequest("StartComputeSystem"), S_OK);
    ASSERT_TRUE(eventually([&] { return own == 1; }));
    EXPECT_EQ(recorder.count(), 0u);
    HcsCloseOperation(op);
    HcsCloseComputeSystem(system);
}

TEST_F(EventTest, ServiceDisconnectReachesEveryHandleAndFailsPendingOperations)
{
    HCS_SYSTEM a = createSystem(L"a");
    HCS_SYSTEM b = createSystem(L"b");
    Recorder ra, rb;
    ASSERT_EQ(HcsSetComputeSystemCallback(a, HcsEventOptionNone, &ra, Recorder::callback), S_OK);
    ASSERT_EQ(HcsSetComputeSystemCallback(b, HcsEventOptionNone, &rb, Recorder::callback), S_OK);
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsStartComputeSystem(a, op, nullptr), S_OK);
    channel->disconnect();
    EXPECT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), HCS_E_SERVICE_DISCONNECT);
    ASSERT_TRUE(eventually([&] { return ra.count() == 1 && rb.count() == 1; }));
    EXPECT_EQ(ra.types[0], HcsEventServiceDisconnect);
    EXPECT_EQ(rb.types[0], HcsEventServiceDisconnect);
    // Later calls on the old handles still start and fail in the operation.
    ASSERT_EQ(HcsTerminateComputeSystem(a, op, nullptr), S_OK);
    EXPECT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), HCS_E_SERVICE_DISCONNECT);
    HcsCloseOperation(op);
    HcsCloseComputeSystem(a);
    HcsCloseComputeSystem(b);
}

TEST_F(EventTest, DisconnectEventAloneAlsoFailsPendingOperations)
{
    // A channel that reports the disconnect before failing its outstanding requests.
    HCS_SYSTEM system = createSystem();
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsStartComputeSystem(system, op, nullptr), S_OK);
    channel->fireEvent({0, HcsEventServiceDisconnect, {}});
    LocalString doc;
    EXPECT_EQ(HcsWaitForOperationResult(op, 5000, doc.put()), HCS_E_SERVICE_DISCONNECT);
    EXPECT_NE(doc.str().find(L"hcsd"), std::wstring::npos);
    EXPECT_TRUE(channel->reply(lastRequest("StartComputeSystem"), S_OK));  // late: ignored
    EXPECT_EQ(HcsGetOperationResult(op, nullptr), HCS_E_SERVICE_DISCONNECT);
    HcsCloseOperation(op);
    HcsCloseComputeSystem(system);
}

TEST_F(EventTest, CloseWaitsForARunningCallbackAndStopsLaterOnes)
{
    HCS_SYSTEM system = createSystem();
    struct Ctx {
        std::atomic<int> entered{0};
        std::atomic<int> finished{0};
    } ctx;
    ASSERT_EQ(HcsSetComputeSystemCallback(system, HcsEventOptionNone, &ctx,
                                          [](HCS_EVENT*, void* context) {
                                              auto* c = static_cast<Ctx*>(context);
                                              ++c->entered;
                                              std::this_thread::sleep_for(100ms);
                                              ++c->finished;
                                          }),
              S_OK);
    channel->fireEvent({numberOf(0), HcsEventSystemExited, "{}"});
    channel->fireEvent({numberOf(0), HcsEventSystemExited, "{}"});
    ASSERT_TRUE(eventually([&] { return ctx.entered == 1; }));
    HcsCloseComputeSystem(system);
    EXPECT_EQ(ctx.finished, 1);  // waited for the running one
    drainCallbacks();
    EXPECT_EQ(ctx.entered, 1);  // the queued second one never started
}

TEST_F(EventTest, ClosingTheHandleInsideItsOwnCallbackDoesNotDeadlock)
{
    struct Ctx {
        HCS_SYSTEM system;
        std::atomic<bool> closed{false};
    } ctx{createSystem()};
    ASSERT_EQ(HcsSetComputeSystemCallback(ctx.system, HcsEventOptionNone, &ctx,
                                          [](HCS_EVENT*, void* context) {
                                              auto* c = static_cast<Ctx*>(context);
                                              HcsCloseComputeSystem(c->system);
                                              c->closed = true;
                                          }),
              S_OK);
    channel->fireEvent({numberOf(0), HcsEventSystemExited, "{}"});
    EXPECT_TRUE(eventually([&] { return ctx.closed.load(); }));
    EXPECT_EQ(channel->requests("CloseComputeSystem").size(), 1u);
}

TEST_F(EventTest, PendingOperationOutlivesItsClosedHandle)
{
    HCS_SYSTEM system = createSystem();
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsShutDownComputeSystem(system, op, nullptr), S_OK);
    HcsCloseComputeSystem(system);
    channel->reply(lastRequest("ShutDownComputeSystem"), S_OK);
    EXPECT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);
    EXPECT_EQ(HcsGetComputeSystemFromOperation(op), system);  // the value, now closed
    HcsCloseOperation(op);
}

}  // namespace
