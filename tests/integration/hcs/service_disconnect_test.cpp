// hcsd dies: every open handle of this process hears HcsEventServiceDisconnect, and calls on those
// handles fail instead of hanging. Its own program because it kills the program's hcsd.
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>

#include "support/hcs_test_support.h"

namespace hcs_test {
namespace {

using namespace std::chrono_literals;

TEST(ServiceDisconnect, EveryHandleHearsItWhenHcsdIsKilled)
{
    constexpr int c_Handles = 3;
    // Two systems, one of them open twice: three handles, three callbacks.
    std::vector<std::unique_ptr<EventRecorder>> recorders;
    std::vector<SystemHandle> handles(c_Handles);
    for (int i = 0; i < c_Handles; ++i) {
        recorders.push_back(std::make_unique<EventRecorder>());
    }
    CallOutcome first = createSystem(testSystemId("a"), c_EmptyUefiVm, handles[0]);
    ASSERT_EQ(first.hr, S_OK) << describe(first.hr) << " " << first.document;
    ASSERT_EQ(HcsOpenComputeSystem(wide(testSystemId("a")).c_str(), GENERIC_ALL, handles[1].put()), S_OK);
    CallOutcome second = createSystem(testSystemId("b"), c_EmptyUefiVm, handles[2]);
    ASSERT_EQ(second.hr, S_OK) << describe(second.hr) << " " << second.document;
    for (int i = 0; i < c_Handles; ++i) {
        ASSERT_EQ(HcsSetComputeSystemCallback(handles[i].get(), HcsEventOptionNone, recorders[i].get(),
                                              EventRecorder::callback),
                  S_OK);
    }

    hcsd().kill(SIGKILL);
    ASSERT_TRUE(hcsd().process().wait(10s).has_value());

    for (int i = 0; i < c_Handles; ++i) {
        auto disconnected = recorders[i]->waitFor(HcsEventServiceDisconnect, 10s);
        EXPECT_TRUE(disconnected.has_value()) << "handle " << i << " heard no ServiceDisconnect";
    }
    // A call on a handle of the lost connection fails at once, synchronously or through its operation.
    CallOutcome properties = runOperation(10'000, [&](HCS_OPERATION operation) {
        return HcsGetComputeSystemProperties(handles[0].get(), operation, nullptr);
    });
    EXPECT_EQ(properties.hr, HCS_E_SERVICE_DISCONNECT) << describe(properties.hr) << " " << properties.document;
    PWSTR result = nullptr;
    HRESULT waited = HcsWaitForComputeSystemExit(handles[2].get(), 10'000, &result);
    LocalFree(result);
    EXPECT_EQ(waited, HCS_E_SERVICE_DISCONNECT) << describe(waited);
    // Closing handles of a dead connection is fine (no hang, no crash). Orphaned QEMU processes are
    // removed by the environment's stop().
    for (auto& handle : handles) {
        HcsCloseComputeSystem(handle.release());
    }
}

}  // namespace
}  // namespace hcs_test
