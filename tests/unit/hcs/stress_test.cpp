// Many threads racing replies, waits, cancels, closes (also inside callbacks), events and system handle
// closes on shared handles. Run under ThreadSanitizer and AddressSanitizer: they report the data
// races and use-after-frees; the test itself checks that no callback runs after its close returned,
// that each use completes at most once, and that nothing is left in the handle tables.
#include <random>

#include "client_fixture.h"
#include "hcs/client/client.h"

using namespace hc::hcs::testing;
using namespace std::chrono_literals;

namespace {

// Per-operation context: freed right after HcsCloseOperation returns, so a late callback is a
// use-after-free that ASan reports, and `closeReturned` catches it without ASan.
struct OpContext {
    std::atomic<bool> closeReturned{false};
    std::atomic<int> callbacks{0};
    std::atomic<bool> closeInCallback{false};
    std::atomic<bool> closedByCallback{false};
    std::atomic<int>* violations = nullptr;
};

void countingCallback(HCS_OPERATION operation, void* context)
{
    auto* ctx = static_cast<OpContext*>(context);
    if (ctx->closeReturned) ++*ctx->violations;
    ++ctx->callbacks;
    (void)HcsGetOperationResult(operation, nullptr);
    if (ctx->closeInCallback) {
        ctx->closedByCallback = true;
        HcsCloseOperation(operation);
    }
}

struct SystemContext {
    std::atomic<bool> closeReturned{false};
    std::atomic<int>* violations = nullptr;
};

void systemCallback(HCS_EVENT* event, void* context)
{
    auto* ctx = static_cast<SystemContext*>(context);
    if (ctx->closeReturned) ++*ctx->violations;
    if (event->Type == HcsEventOperationCallback) HcsCloseOperation(event->Operation);
}

TEST_F(HcsClientTest, StressCompletionsWaitsCancelsAndCloses)
{
    auto& client = hc::hcs::Client::instance();
    const size_t operationsBefore = client.operations().size();
    const size_t systemsBefore = client.systems().size();
    std::atomic<int> violations{0};
    std::atomic<bool> stop{false};
    std::atomic<int> systemsUsed{0};

    // The "reader thread": answers random pending requests, sometimes with a failure.
    std::thread reader([&] {
        std::mt19937 random(1);
        while (!stop) {
            auto ids = channel->pendingIds();
            if (ids.empty()) {
                std::this_thread::yield();
                continue;
            }
            const uint64_t id = ids[random() % ids.size()];
            channel->reply(id, random() % 4 == 0 ? HCS_E_INVALID_STATE : S_OK, random() % 2 ? "{}" : "");
        }
    });
    // Events on random handle numbers, including ones being closed.
    std::thread events([&] {
        std::mt19937 random(2);
        while (!stop) {
            channel->fireEvent({1 + random() % 40, HcsEventSystemExited, R"({"Status":0})"});
            std::this_thread::sleep_for(200us);
        }
    });

    constexpr int kThreads = 6;
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    std::vector<std::thread> workers;
    for (int t = 0; t < kThreads; ++t) {
        workers.emplace_back([&, t] {
            std::mt19937 random(100 + t);
            int iteration = 0;
            while (std::chrono::steady_clock::now() < deadline || iteration < 20) {
                ++iteration;
                ++systemsUsed;
                // A system with an event callback taking operation completions, used by a few calls.
                SystemContext systemContext;
                systemContext.violations = &violations;
                HCS_SYSTEM system = nullptr;
                HCS_OPERATION createOp = HcsCreateOperation(nullptr, nullptr);
                ASSERT_EQ(HcsCreateComputeSystem(L"vm", kConfig, createOp, nullptr, &system), S_OK);
                const bool eventOperations = random() % 2;
                ASSERT_EQ(HcsSetComputeSystemCallback(
                              system, eventOperations ? HcsEventOptionEnableOperationCallbacks : HcsEventOptionNone,
                              &systemContext, systemCallback),
                          S_OK);
                if (!eventOperations) HcsCloseOperation(createOp);  // else the callback closes it (or close below)

                for (int i = 0; i < 4; ++i) {
                    auto* ctx = new OpContext;
                    ctx->violations = &violations;
                    const int pattern = random() % 5;
                    ctx->closeInCallback = pattern == 0;
                    HCS_OPERATION op =
                        eventOperations ? HcsCreateOperation(ctx, nullptr) : HcsCreateOperation(ctx, countingCallback);
                    HRESULT started = HcsGetComputeSystemProperties(system, op, nullptr);
                    ASSERT_EQ(started, S_OK);
                    switch (pattern) {
                        case 0:
                            break;  // closed by its callback, or below
                        case 1:
                            (void)HcsCancelOperation(op);
                            break;
                        case 2:
                            (void)HcsWaitForOperationResult(op, random() % 3, nullptr);
                            break;
                        case 3: {
                            (void)HcsCancelOperation(op);
                            HRESULT hr = HcsWaitForOperationResult(op, INFINITE, nullptr);
                            if (!(hr == S_OK || hr == HCS_E_INVALID_STATE || hr == HCS_E_OPERATION_ALREADY_CANCELLED ||
                                  hr == E_HANDLE))
                                ++violations;
                            break;
                        }
                        default:
                            break;  // closed while in flight
                    }
                    if (pattern == 0 && !eventOperations) {
                        // Wait until the callback closed it, then free the context.
                        (void)HcsWaitForOperationResult(op, INFINITE, nullptr);
                        for (int spin = 0; spin < 5000 && !ctx->closedByCallback; ++spin)
                            std::this_thread::sleep_for(100us);
                        if (!ctx->closedByCallback) HcsCloseOperation(op);
                    } else {
                        HcsCloseOperation(op);  // may race the callback closing it: both are fine
                    }
                    ctx->closeReturned = true;
                    if (ctx->callbacks > 1) ++violations;
                    delete ctx;
                }
                HcsCloseComputeSystem(system);
                systemContext.closeReturned = true;
                if (eventOperations) HcsCloseOperation(createOp);
            }
        });
    }
    for (auto& worker : workers)
        worker.join();
    stop = true;
    reader.join();
    events.join();
    // Answer what is left so every reply handler has run, then let queued callbacks drain.
    for (uint64_t id : channel->pendingIds())
        channel->reply(id, S_OK);
    std::this_thread::sleep_for(50ms);
    std::printf("%d systems, %d operations raced\n", systemsUsed.load(), systemsUsed.load() * 4);
    EXPECT_EQ(violations, 0);
    EXPECT_EQ(client.operations().size(), operationsBefore);
    EXPECT_EQ(client.systems().size(), systemsBefore);
}

}  // namespace
