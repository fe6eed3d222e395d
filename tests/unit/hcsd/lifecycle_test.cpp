// The lifecycle table: every (state, call) pair, checked against the expected outcome.
#include <gtest/gtest.h>

#include "hcs/service/lifecycle.h"

namespace hc::hcs::service {
namespace {

using S = SystemState;
using C = SystemCall;

struct Expect {
    S from;
    C call;
    HRESULT hr;  // S_OK = allowed
    S to;
};

const Expect kExpected[] = {
    {S::Created, C::Start, S_OK, S::Running},
    {S::Created, C::Terminate, S_OK, S::Stopped},
    {S::Created, C::ShutDown, HCS_E_INVALID_STATE, S::Created},
    {S::Created, C::Pause, HCS_E_INVALID_STATE, S::Created},
    {S::Created, C::Resume, HCS_E_INVALID_STATE, S::Created},
    {S::Created, C::Save, HCS_E_INVALID_STATE, S::Created},
    {S::Created, C::GetProperties, S_OK, S::Created},
    {S::Running, C::Start, HCS_E_INVALID_STATE, S::Running},
    {S::Running, C::ShutDown, S_OK, S::Stopped},
    {S::Running, C::Terminate, S_OK, S::Stopped},
    {S::Running, C::Pause, S_OK, S::Paused},
    {S::Running, C::Resume, HCS_E_INVALID_STATE, S::Running},
    {S::Running, C::Save, HCS_E_INVALID_STATE, S::Running},  // spec: Save of a running system
    {S::Paused, C::Resume, S_OK, S::Running},
    {S::Paused, C::Pause, HCS_E_INVALID_STATE, S::Paused},
    {S::Paused, C::Start, HCS_E_INVALID_STATE, S::Paused},
    {S::Paused, C::Terminate, S_OK, S::Stopped},
    {S::Paused, C::ShutDown, HCS_E_INVALID_STATE, S::Paused},
    {S::Stopped, C::ShutDown, HCS_E_SYSTEM_ALREADY_STOPPED, S::Stopped},
    {S::Stopped, C::Terminate, HCS_E_SYSTEM_ALREADY_STOPPED, S::Stopped},
    {S::Stopped, C::Start, HCS_E_INVALID_STATE, S::Stopped},
    {S::Stopped, C::Pause, HCS_E_INVALID_STATE, S::Stopped},
    {S::Stopped, C::GetProperties, S_OK, S::Stopped},
};

TEST(Lifecycle, TableMatchesExpectations)
{
    for (const Expect& e : kExpected) {
        auto r = checkCall(e.from, e.call);
        SCOPED_TRACE(std::string(stateName(e.from)) + " + " + callName(e.call));
        EXPECT_EQ(r.hr(), e.hr);
        if (r.ok()) {
            EXPECT_EQ(*r, e.to);
            if (*r != e.from) {
                EXPECT_TRUE(validTransition(e.from, *r));
            }
        }
    }
}

TEST(Lifecycle, InvalidStateMessageNamesStateAndCall)
{
    auto r = checkCall(S::Created, C::Pause);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "Pause is not valid for a compute system in state Created");
    auto stopped = checkCall(S::Stopped, C::Terminate);
    EXPECT_NE(stopped.error().message.find("already Stopped"), std::string::npos);
}

TEST(Lifecycle, EveryCallFromStoppedLeavesItStopped)
{
    for (int c = 0; c <= static_cast<int>(C::GetProperties); ++c) {
        auto r = checkCall(S::Stopped, static_cast<C>(c));
        if (r.ok()) {
            EXPECT_EQ(*r, S::Stopped);
        }
    }
    EXPECT_FALSE(validTransition(S::Stopped, S::Running));
    EXPECT_FALSE(validTransition(S::Created, S::Paused));
}

}  // namespace
}  // namespace hc::hcs::service
