// HCS_OPERATION rules: states, results, waits, reuse, cancel, close and callbacks (the seed's first two
// completion patterns), driven through the C API with a fake service channel.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>

#include "client_fixture.h"

using namespace hc::hcs::testing;
using namespace std::chrono_literals;

namespace {

struct Signal {
    std::mutex mutex;
    std::condition_variable cv;
    int count = 0;
    void set()
    {
        std::lock_guard lock(mutex);
        ++count;
        cv.notify_all();
    }
    bool waitFor(int n, std::chrono::milliseconds timeout = 5s)
    {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, timeout, [&] { return count >= n; });
    }
    int get()
    {
        std::lock_guard lock(mutex);
        return count;
    }
};

void signalCallback(HCS_OPERATION, void* context)
{
    static_cast<Signal*>(context)->set();
}

using OperationTest = HcsClientTest;

TEST_F(OperationTest, CreateGivesDistinctHandlesAndIds)
{
    HCS_OPERATION a = HcsCreateOperation(nullptr, nullptr);
    HCS_OPERATION b = HcsCreateOperation(nullptr, nullptr);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_NE(a, b);
    EXPECT_NE(HcsGetOperationId(a), HcsGetOperationId(b));
    EXPECT_NE(HcsGetOperationId(a), HCS_INVALID_OPERATION_ID);
    HcsCloseOperation(a);
    HcsCloseOperation(b);
}

TEST_F(OperationTest, NeverUsedOperationIsNotStarted)
{
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    LocalString doc;
    EXPECT_EQ(HcsGetOperationResult(op, doc.put()), HCS_E_OPERATION_NOT_STARTED);
    EXPECT_EQ(doc.value, nullptr);
    EXPECT_EQ(HcsWaitForOperationResult(op, INFINITE, doc.put()), HCS_E_OPERATION_NOT_STARTED);
    EXPECT_EQ(HcsCancelOperation(op), HCS_E_OPERATION_NOT_STARTED);
    EXPECT_EQ(HcsGetOperationType(op), HcsOperationTypeNone);
    EXPECT_EQ(HcsGetComputeSystemFromOperation(op), nullptr);
    EXPECT_EQ(HcsGetProcessFromOperation(op), nullptr);
    HcsCloseOperation(op);
}

TEST_F(OperationTest, ContextCanBeReadAndReplaced)
{
    int first = 0, second = 0;
    HCS_OPERATION op = HcsCreateOperation(&first, nullptr);
    EXPECT_EQ(HcsGetOperationContext(op), &first);
    EXPECT_EQ(HcsSetOperationContext(op, &second), S_OK);
    EXPECT_EQ(HcsGetOperationContext(op), &second);
    HcsCloseOperation(op);
}

TEST_F(OperationTest, NullClosedGarbageAndWrongKindHandlesAreRejected)
{
    HCS_OPERATION closed = HcsCreateOperation(nullptr, nullptr);
    HcsCloseOperation(closed);
    HCS_SYSTEM system = createSystem();
    const auto garbage = reinterpret_cast<HCS_OPERATION>(uintptr_t{0xdeadbeef});
    const auto systemAsOperation = reinterpret_cast<HCS_OPERATION>(system);

    EXPECT_EQ(HcsGetOperationResult(nullptr, nullptr), E_INVALIDARG);
    for (HCS_OPERATION bad : {closed, garbage, systemAsOperation}) {
        EXPECT_EQ(HcsGetOperationResult(bad, nullptr), E_HANDLE);
        EXPECT_EQ(HcsWaitForOperationResult(bad, 0, nullptr), E_HANDLE);
        EXPECT_EQ(HcsCancelOperation(bad), E_HANDLE);
        EXPECT_EQ(HcsSetOperationContext(bad, nullptr), E_HANDLE);
        EXPECT_EQ(HcsSetOperationCallback(bad, nullptr, nullptr), E_HANDLE);
        EXPECT_EQ(HcsGetOperationContext(bad), nullptr);
        EXPECT_EQ(HcsGetOperationType(bad), HcsOperationTypeNone);
        EXPECT_EQ(HcsGetOperationId(bad), HCS_INVALID_OPERATION_ID);
        EXPECT_EQ(HcsStartComputeSystem(system, bad, nullptr), E_HANDLE);
        HcsCloseOperation(bad);  // harmless
    }
    EXPECT_EQ(HcsStartComputeSystem(system, nullptr, nullptr), E_INVALIDARG);
    EXPECT_TRUE(channel->requests("StartComputeSystem").empty());
    HcsCloseOperation(nullptr);
    HcsCloseComputeSystem(system);
}

TEST_F(OperationTest, PendingUntilTheReplyThenTheResult)
{
    HCS_SYSTEM system = createSystem();
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsStartComputeSystem(system, op, nullptr), S_OK);
    LocalString doc;
    EXPECT_EQ(HcsGetOperationResult(op, doc.put()), HCS_E_OPERATION_PENDING);
    EXPECT_EQ(HcsWaitForOperationResult(op, 0, doc.put()), HCS_E_OPERATION_TIMEOUT);
    EXPECT_EQ(HcsGetOperationType(op), HcsOperationTypeStart);
    EXPECT_EQ(HcsGetComputeSystemFromOperation(op), system);

    const uint64_t id = lastRequest("StartComputeSystem");
    std::thread reader([&] {
        std::this_thread::sleep_for(20ms);
        channel->reply(id, S_OK, "{}");
    });
    EXPECT_EQ(HcsWaitForOperationResult(op, INFINITE, doc.put()), S_OK);
    EXPECT_EQ(doc.value, nullptr);  // Start has no result document: hcsd's "{}" is not handed out
    EXPECT_EQ(HcsGetOperationResult(op, doc.put()), S_OK);
    reader.join();
    HcsCloseOperation(op);
    HcsCloseComputeSystem(system);
}

TEST_F(OperationTest, TimeoutLeavesTheOperationValid)
{
    HCS_SYSTEM system = createSystem();
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsGetComputeSystemProperties(system, op, nullptr), S_OK);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(HcsWaitForOperationResult(op, 50, nullptr), HCS_E_OPERATION_TIMEOUT);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 45ms);
    channel->reply(lastRequest("GetComputeSystemProperties"), S_OK, R"({"Id":"vm","SystemType":"VirtualMachine"})");
    LocalString doc;
    EXPECT_EQ(HcsWaitForOperationResult(op, 1000, doc.put()), S_OK);
    EXPECT_EQ(doc.str(), LR"({"Id":"vm","SystemType":"VirtualMachine"})");
    HcsCloseOperation(op);
    HcsCloseComputeSystem(system);
}

TEST_F(OperationTest, InFlightOperationCannotStartAnotherCall)
{
    HCS_SYSTEM system = createSystem();
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsStartComputeSystem(system, op, nullptr), S_OK);
    EXPECT_EQ(HcsPauseComputeSystem(system, op, nullptr), HCS_E_OPERATION_ALREADY_STARTED);
    EXPECT_EQ(HcsEnumerateComputeSystems(nullptr, op), HCS_E_OPERATION_ALREADY_STARTED);
    HCS_SYSTEM other = nullptr;
    EXPECT_EQ(HcsCreateComputeSystem(L"other", kConfig, op, nullptr, &other), HCS_E_OPERATION_ALREADY_STARTED);
    EXPECT_EQ(other, nullptr);
    EXPECT_TRUE(channel->requests("PauseComputeSystem").empty());
    EXPECT_TRUE(channel->requests("EnumerateComputeSystems").empty());
    EXPECT_EQ(HcsGetOperationType(op), HcsOperationTypeStart);  // the tracked call is unchanged
    channel->reply(lastRequest("StartComputeSystem"), S_OK);
    EXPECT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);
    HcsCloseOperation(op);
    HcsCloseComputeSystem(system);
}

TEST_F(OperationTest, OneOperationIsReusedForSuccessiveCalls)
{
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_SYSTEM system = nullptr;
    LocalString doc;
    ASSERT_EQ(HcsCreateComputeSystem(L"vm", kConfig, op, nullptr, &system), S_OK);
    channel->reply(lastRequest("CreateComputeSystem"), S_OK);
    EXPECT_EQ(HcsWaitForOperationResult(op, 5000, doc.put()), S_OK);
    EXPECT_EQ(HcsGetOperationType(op), HcsOperationTypeCreate);

    ASSERT_EQ(HcsStartComputeSystem(system, op, nullptr), S_OK);
    EXPECT_EQ(HcsGetOperationResult(op, doc.put()), HCS_E_OPERATION_PENDING);
    channel->reply(lastRequest("StartComputeSystem"), S_OK);
    EXPECT_EQ(HcsWaitForOperationResult(op, 5000, doc.put()), S_OK);
    EXPECT_EQ(HcsGetOperationType(op), HcsOperationTypeStart);

    ASSERT_EQ(HcsGetComputeSystemProperties(system, op, LR"({"PropertyTypes":[]})"), S_OK);
    channel->reply(lastRequest("GetComputeSystemProperties"), S_OK, R"({"State":"Running"})");
    EXPECT_EQ(HcsWaitForOperationResult(op, 5000, doc.put()), S_OK);
    EXPECT_EQ(doc.str(), LR"({"State":"Running"})");

    ASSERT_EQ(HcsTerminateComputeSystem(system, op, nullptr), S_OK);
    channel->reply(lastRequest("TerminateComputeSystem"), HCS_E_SYSTEM_ALREADY_STOPPED,
                   R"({"Error":-2143878896,"ErrorMessage":"already stopped"})");
    EXPECT_EQ(HcsWaitForOperationResult(op, 5000, doc.put()), HCS_E_SYSTEM_ALREADY_STOPPED);
    EXPECT_EQ(doc.str(), LR"({"Error":-2143878896,"ErrorMessage":"already stopped"})");  // replaced, not appended
    EXPECT_EQ(HcsGetOperationType(op), HcsOperationTypeTerminate);
    HcsCloseOperation(op);
    HcsCloseComputeSystem(system);
}

TEST_F(OperationTest, EveryResultCopyIsTheCallersToFree)
{
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, op), S_OK);
    channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, R"([{"Id":"é"}])");
    PWSTR first = nullptr;
    PWSTR second = nullptr;
    EXPECT_EQ(HcsGetOperationResult(op, &first), S_OK);
    EXPECT_EQ(HcsWaitForOperationResult(op, 0, &second), S_OK);
    ASSERT_NE(first, nullptr);
    ASSERT_NE(second, nullptr);
    EXPECT_NE(first, second);
    EXPECT_STREQ(first, LR"([{"Id":"é"}])");
    LocalFree(first);
    CoTaskMemFree(second);                                // both free functions release library results
    EXPECT_EQ(HcsGetOperationResult(op, nullptr), S_OK);  // the document is optional
    HcsCloseOperation(op);
}

TEST_F(OperationTest, CompletionCallbackRunsOnTheDispatchThreadAndMayCloseTheOperation)
{
    struct Seen {
        Signal done;
        std::thread::id thread;
        HRESULT result = E_FAIL;
        HCS_OPERATION_TYPE type = HcsOperationTypeNone;
        HRESULT afterClose = S_OK;
    } seen;
    // Seed pattern 2: the handle is not stored; the callback closes it.
    HCS_SYSTEM system = nullptr;
    ASSERT_EQ(HcsCreateComputeSystem(L"vm", kConfig,
                                     HcsCreateOperation(&seen,
                                                        [](HCS_OPERATION operation, void* context) {
                                                            auto* s = static_cast<Seen*>(context);
                                                            s->thread = std::this_thread::get_id();
                                                            s->type = HcsGetOperationType(operation);
                                                            s->result = HcsGetOperationResult(operation, nullptr);
                                                            HcsCloseOperation(operation);
                                                            s->afterClose = HcsGetOperationResult(operation, nullptr);
                                                            s->done.set();
                                                        }),
                                     nullptr, &system),
              S_OK);
    std::thread::id readerThread;
    std::thread reader([&] {
        readerThread = std::this_thread::get_id();
        channel->reply(lastRequest("CreateComputeSystem"), S_OK);
    });
    reader.join();
    ASSERT_TRUE(seen.done.waitFor(1));
    EXPECT_EQ(seen.type, HcsOperationTypeCreate);
    EXPECT_EQ(seen.result, S_OK);
    EXPECT_EQ(seen.afterClose, E_HANDLE);
    EXPECT_NE(seen.thread, readerThread);
    EXPECT_NE(seen.thread, std::this_thread::get_id());
    HcsCloseComputeSystem(system);
}

TEST_F(OperationTest, ReplyInsideSendStillCompletesAsynchronously)
{
    channel->setAutoReply([](const FakeChannel::Request&) { return hc::hcs::ServiceReply{S_OK, "[]"}; });
    Signal done;
    HCS_OPERATION op = HcsCreateOperation(&done, signalCallback);
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, op), S_OK);
    ASSERT_TRUE(done.waitFor(1));
    EXPECT_EQ(HcsGetOperationResult(op, nullptr), S_OK);
    HcsCloseOperation(op);
}

TEST_F(OperationTest, ClosingWhileInFlightDiscardsTheResultAndTheCallback)
{
    Signal called;
    HCS_OPERATION op = HcsCreateOperation(&called, signalCallback);
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, op), S_OK);
    const uint64_t id = lastRequest("EnumerateComputeSystems");
    HcsCloseOperation(op);
    EXPECT_EQ(HcsGetOperationResult(op, nullptr), E_HANDLE);
    // The late reply is accepted by the channel and dropped by the library.
    EXPECT_TRUE(channel->reply(id, S_OK, "[]"));
    Signal marker;  // callbacks run in order: once this one ran, a callback for `op` would have too
    HCS_OPERATION probe = HcsCreateOperation(&marker, signalCallback);
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, probe), S_OK);
    channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, "[]");
    ASSERT_TRUE(marker.waitFor(1));
    EXPECT_EQ(called.get(), 0);
    HcsCloseOperation(probe);
}

TEST_F(OperationTest, WaiterWakesWithEHandleWhenTheOperationIsClosed)
{
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, op), S_OK);
    auto waiter = std::async(std::launch::async, [&] { return HcsWaitForOperationResult(op, INFINITE, nullptr); });
    std::this_thread::sleep_for(20ms);
    HcsCloseOperation(op);
    ASSERT_EQ(waiter.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(waiter.get(), E_HANDLE);
}

TEST_F(OperationTest, NoCallbackStartsAfterCloseReturns)
{
    // Block the dispatch thread in A's callback, complete B, close B, release A: B's callback must
    // never run although it was queued before the close.
    struct Blocker {
        Signal entered;
        std::promise<void> release;
    } blocker;
    auto released = blocker.release.get_future().share();
    struct Ctx {
        Blocker* blocker;
        std::shared_future<void> released;
    } ctx{&blocker, released};
    HCS_OPERATION a = HcsCreateOperation(&ctx, [](HCS_OPERATION, void* context) {
        auto* c = static_cast<Ctx*>(context);
        c->blocker->entered.set();
        c->released.wait();
    });
    Signal bCalled;
    HCS_OPERATION b = HcsCreateOperation(&bCalled, signalCallback);
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, a), S_OK);
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, b), S_OK);
    auto requests = channel->requests("EnumerateComputeSystems");
    channel->reply(requests[0].id, S_OK, "[]");
    ASSERT_TRUE(blocker.entered.waitFor(1));
    channel->reply(requests[1].id, S_OK, "[]");
    HcsCloseOperation(b);
    blocker.release.set_value();
    Signal marker;
    HCS_OPERATION probe = HcsCreateOperation(&marker, signalCallback);
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, probe), S_OK);
    channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, "[]");
    ASSERT_TRUE(marker.waitFor(1));
    EXPECT_EQ(bCalled.get(), 0);
    HcsCloseOperation(a);
    HcsCloseOperation(probe);
}

TEST_F(OperationTest, CloseWaitsForTheOperationsRunningCallback)
{
    struct Ctx {
        Signal entered;
        std::atomic<bool> finished{false};
    } ctx;
    HCS_OPERATION op = HcsCreateOperation(&ctx, [](HCS_OPERATION, void* context) {
        auto* c = static_cast<Ctx*>(context);
        c->entered.set();
        std::this_thread::sleep_for(100ms);
        c->finished = true;
    });
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, op), S_OK);
    channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, "[]");
    ASSERT_TRUE(ctx.entered.waitFor(1));
    HcsCloseOperation(op);
    EXPECT_TRUE(ctx.finished);  // the context may be freed once close returned
}

TEST_F(OperationTest, CallbacksMayCallSynchronousFunctions)
{
    // Replies come from a separate "reader" thread, like the real channel's.
    channel->setAutoReply([this](const FakeChannel::Request& request) -> std::optional<hc::hcs::ServiceReply> {
        if (request.method == "OpenComputeSystem" || request.method == "GetComputeSystemProperties") {
            replyFromAnotherThread(channel, request.id, S_OK, "{}", 5ms);
        }
        return std::nullopt;
    });
    struct Ctx {
        HCS_SYSTEM system = nullptr;
        HRESULT open = E_FAIL, wait = E_FAIL, start = E_FAIL;
        Signal done;
    } ctx;
    ctx.system = createSystem();
    HCS_OPERATION outer = HcsCreateOperation(&ctx, [](HCS_OPERATION operation, void* context) {
        auto* c = static_cast<Ctx*>(context);
        HCS_SYSTEM opened = nullptr;
        c->open = HcsOpenComputeSystem(L"vm", GENERIC_ALL, &opened);
        HCS_OPERATION inner = HcsCreateOperation(nullptr, nullptr);
        c->start = HcsGetComputeSystemProperties(c->system, inner, nullptr);
        c->wait = HcsWaitForOperationResult(inner, 5000, nullptr);
        HcsCloseOperation(inner);
        HcsCloseComputeSystem(opened);
        HcsCloseComputeSystem(c->system);
        HcsCloseOperation(operation);
        c->done.set();
    });
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, outer), S_OK);
    channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, "[]");
    ASSERT_TRUE(ctx.done.waitFor(1, 10s));
    EXPECT_EQ(ctx.open, S_OK);
    EXPECT_EQ(ctx.start, S_OK);
    EXPECT_EQ(ctx.wait, S_OK);
}

TEST_F(OperationTest, CancelEndsThePendingCallAndAsksTheService)
{
    Signal called;
    HCS_SYSTEM system = createSystem();
    HCS_OPERATION op = HcsCreateOperation(&called, signalCallback);
    ASSERT_EQ(HcsShutDownComputeSystem(system, op, nullptr), S_OK);
    const uint64_t id = lastRequest("ShutDownComputeSystem");
    EXPECT_EQ(HcsCancelOperation(op), S_OK);
    EXPECT_EQ(channel->cancelled(), std::vector<uint64_t>{id});
    LocalString doc;
    EXPECT_EQ(HcsWaitForOperationResult(op, 1000, doc.put()), HCS_E_OPERATION_ALREADY_CANCELLED);
    EXPECT_NE(doc.str().find(L"cancelled"), std::wstring::npos);
    ASSERT_TRUE(called.waitFor(1));
    // The service's late answer changes nothing, and a second cancel says it was done already.
    channel->reply(id, S_OK);
    EXPECT_EQ(HcsGetOperationResult(op, nullptr), HCS_E_OPERATION_ALREADY_CANCELLED);
    EXPECT_EQ(HcsCancelOperation(op), HCS_E_OPERATION_ALREADY_CANCELLED);
    drainCallbacks();
    EXPECT_EQ(called.get(), 1);
    HcsCloseOperation(op);
    HcsCloseComputeSystem(system);
}

TEST_F(OperationTest, CancelAfterTheRealResultKeepsIt)
{
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, op), S_OK);
    channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, "[]");
    EXPECT_EQ(HcsCancelOperation(op), S_OK);
    EXPECT_TRUE(channel->cancelled().empty());
    EXPECT_EQ(HcsGetOperationResult(op, nullptr), S_OK);
    HcsCloseOperation(op);
}

TEST_F(OperationTest, CancelRacingTheReplyCompletesExactlyOnce)
{
    for (int i = 0; i < 200; ++i) {
        Signal called;
        HCS_OPERATION op = HcsCreateOperation(&called, signalCallback);
        ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, op), S_OK);
        const uint64_t id = lastRequest("EnumerateComputeSystems");
        std::thread reader([&] { channel->reply(id, S_OK, "[]"); });
        const HRESULT cancel = HcsCancelOperation(op);
        reader.join();
        EXPECT_TRUE(cancel == S_OK) << std::hex << cancel;
        const HRESULT result = HcsWaitForOperationResult(op, 5000, nullptr);
        EXPECT_TRUE(result == S_OK || result == HCS_E_OPERATION_ALREADY_CANCELLED) << std::hex << result;
        ASSERT_TRUE(called.waitFor(1));
        HcsCloseOperation(op);  // waits for nothing more: exactly one callback ran
        EXPECT_EQ(called.get(), 1);
    }
}

TEST_F(OperationTest, SetCallbackOnlyWhileNotInFlight)
{
    Signal called;
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    EXPECT_EQ(HcsSetOperationCallback(op, &called, signalCallback), S_OK);
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, op), S_OK);
    EXPECT_EQ(HcsSetOperationCallback(op, nullptr, nullptr), HCS_E_OPERATION_ALREADY_STARTED);
    channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, "[]");
    ASSERT_TRUE(called.waitFor(1));
    EXPECT_EQ(HcsSetOperationCallback(op, nullptr, nullptr), S_OK);  // NULL removes the callback
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, op), S_OK);
    channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, "[]");
    EXPECT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);
    drainCallbacks();
    EXPECT_EQ(called.get(), 1);
    HcsCloseOperation(op);
}

TEST_F(OperationTest, OperationWithNotificationsReportsCompletionAsAnEvent)
{
    EXPECT_EQ(HcsCreateOperationWithNotifications(HcsOperationOptionNone, nullptr, nullptr), nullptr);
    EXPECT_EQ(HcsCreateOperationWithNotifications(static_cast<HCS_OPERATION_OPTIONS>(0x100), nullptr,
                                                  [](HCS_EVENT*, void*) {}),
              nullptr);
    struct Ctx {
        Signal done;
        HCS_EVENT_TYPE type = HcsEventInvalid;
        HCS_OPERATION operation = nullptr;
    } ctx;
    HCS_OPERATION op = HcsCreateOperationWithNotifications(HcsOperationOptionProgressUpdate, &ctx,
                                                           [](HCS_EVENT* event, void* context) {
                                                               auto* c = static_cast<Ctx*>(context);
                                                               c->type = event->Type;
                                                               c->operation = event->Operation;
                                                               c->done.set();
                                                           });
    ASSERT_NE(op, nullptr);
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, op), S_OK);
    channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, "[]");
    ASSERT_TRUE(ctx.done.waitFor(1));
    EXPECT_EQ(ctx.type, HcsEventOperationCallback);
    EXPECT_EQ(ctx.operation, op);
    HcsCloseOperation(op);
}

TEST_F(OperationTest, ProcessInfoWaitNeedsAProcessOperation)
{
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, op), S_OK);
    channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, "[]");
    HCS_PROCESS_INFORMATION info;
    info.ProcessId = 77;
    EXPECT_EQ(HcsWaitForOperationResultAndProcessInfo(op, 0, &info, nullptr), E_INVALIDARG);
    EXPECT_EQ(info.ProcessId, 0u);
    info.ProcessId = 77;
    EXPECT_EQ(HcsGetOperationResultAndProcessInfo(op, &info, nullptr), S_OK);
    EXPECT_EQ(info.ProcessId, 0u);
    HcsCloseOperation(op);
}

TEST_F(OperationTest, PropertiesDescribeTheOperation)
{
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    EXPECT_EQ(HcsGetOperationProperties(op, nullptr, nullptr), E_POINTER);
    LocalString doc;
    EXPECT_EQ(HcsGetOperationProperties(op, L"{not json", doc.put()), HCS_E_INVALID_JSON);
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, op), S_OK);
    ASSERT_EQ(HcsGetOperationProperties(op, L"{}", doc.put()), S_OK);
    EXPECT_NE(doc.str().find(L"\"Type\":\"Enumerate\""), std::wstring::npos) << doc.str();
    EXPECT_NE(doc.str().find(L"\"State\":\"Pending\""), std::wstring::npos) << doc.str();
    channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, "[]");
    ASSERT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);
    ASSERT_EQ(HcsGetOperationProperties(op, nullptr, doc.put()), S_OK);
    EXPECT_NE(doc.str().find(L"\"Result\":0"), std::wstring::npos) << doc.str();
    HcsCloseOperation(op);
}

TEST_F(OperationTest, ResultDocumentThatIsNotUtf8IsAnAllocationFailure)
{
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, op), S_OK);
    channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, "[\"\xff\"]");
    LocalString doc;
    EXPECT_EQ(HcsGetOperationResult(op, doc.put()), HCS_E_OPERATION_RESULT_ALLOCATION_FAILED);
    EXPECT_EQ(doc.value, nullptr);
    EXPECT_EQ(HcsGetOperationResult(op, nullptr), S_OK);
    HcsCloseOperation(op);
}

}  // namespace

namespace {

// Reply on a "reader" thread -> waiter returns: one wake-up, no hop through the event thread.
// Also measures reply -> completion callback (one hop to the event thread). Prints medians.
TEST_F(OperationTest, CompletionLatency)
{
    constexpr int kRounds = 200;
    std::vector<double> waitMicros, callbackMicros;
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    Signal called;
    HCS_OPERATION withCallback = HcsCreateOperation(&called, signalCallback);
    for (int i = 0; i < kRounds; ++i) {
        ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, op), S_OK);
        const uint64_t id = lastRequest("EnumerateComputeSystems");
        std::chrono::steady_clock::time_point sent;
        std::thread reader([&] {
            std::this_thread::sleep_for(200us);
            sent = std::chrono::steady_clock::now();
            channel->reply(id, S_OK, "[]");
        });
        ASSERT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);
        const auto woke = std::chrono::steady_clock::now();
        reader.join();
        waitMicros.push_back(std::chrono::duration<double, std::micro>(woke - sent).count());

        ASSERT_EQ(HcsEnumerateComputeSystems(nullptr, withCallback), S_OK);
        const auto start = std::chrono::steady_clock::now();
        channel->reply(lastRequest("EnumerateComputeSystems"), S_OK, "[]");
        ASSERT_TRUE(called.waitFor(i + 1));
        callbackMicros.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(waitMicros.begin(), waitMicros.end());
    std::sort(callbackMicros.begin(), callbackMicros.end());
    std::printf("reply -> waiter returns: median %.1f us; reply -> callback ran: median %.1f us\n",
                waitMicros[kRounds / 2], callbackMicros[kRounds / 2]);
    EXPECT_LT(waitMicros[kRounds / 2], 5000.0);
    HcsCloseOperation(op);
    HcsCloseOperation(withCallback);
}

}  // namespace
