// The lifecycle tables: every (state, call) pair against the expected outcome, and the state
// changes allowed at all (calls, QEMU events, exits, re-adoption).
#include <gtest/gtest.h>

#include "hcs/service/lifecycle.h"
#include "hcs/service/managed_system.h"

namespace hc::hcs::service {
namespace {

using S = SystemState;
using M = protocol::Method;

struct Expect {
    S from;
    M call;
    HRESULT hr;  // S_OK = allowed
    S to;
};

const Expect kExpected[] = {
    {S::Created, M::StartComputeSystem, S_OK, S::Running},
    {S::Created, M::TerminateComputeSystem, S_OK, S::Stopped},
    {S::Created, M::ShutDownComputeSystem, HCS_E_INVALID_STATE, S::Created},
    {S::Created, M::PauseComputeSystem, HCS_E_INVALID_STATE, S::Created},
    {S::Created, M::ResumeComputeSystem, HCS_E_INVALID_STATE, S::Created},
    {S::Created, M::SaveComputeSystem, HCS_E_INVALID_STATE, S::Created},
    {S::Created, M::GetComputeSystemProperties, S_OK, S::Created},
    {S::Running, M::StartComputeSystem, HCS_E_INVALID_STATE, S::Running},
    {S::Running, M::ShutDownComputeSystem, S_OK, S::Stopped},
    {S::Running, M::TerminateComputeSystem, S_OK, S::Stopped},
    {S::Running, M::PauseComputeSystem, S_OK, S::Paused},
    {S::Running, M::ResumeComputeSystem, HCS_E_INVALID_STATE, S::Running},
    {S::Running, M::SaveComputeSystem, HCS_E_INVALID_STATE, S::Running},  // spec: Save of a running system
    {S::Paused, M::ResumeComputeSystem, S_OK, S::Running},
    {S::Paused, M::PauseComputeSystem, HCS_E_INVALID_STATE, S::Paused},
    {S::Paused, M::StartComputeSystem, HCS_E_INVALID_STATE, S::Paused},
    {S::Paused, M::TerminateComputeSystem, S_OK, S::Stopped},
    {S::Paused, M::ShutDownComputeSystem, HCS_E_INVALID_STATE, S::Paused},
    {S::Paused, M::SaveComputeSystem, S_OK, S::Paused},  // AsTemplate then moves on to SavedAsTemplate
    {S::Running, M::CrashComputeSystem, S_OK, S::Stopped},
    {S::Paused, M::CrashComputeSystem, HCS_E_INVALID_STATE, S::Paused},
    {S::SavedAsTemplate, M::TerminateComputeSystem, S_OK, S::Stopped},
    {S::SavedAsTemplate, M::GetComputeSystemProperties, S_OK, S::SavedAsTemplate},
    {S::SavedAsTemplate, M::ResumeComputeSystem, HCS_E_INVALID_STATE, S::SavedAsTemplate},
    {S::SavedAsTemplate, M::SaveComputeSystem, HCS_E_INVALID_STATE, S::SavedAsTemplate},
    {S::SavedAsTemplate, M::StartComputeSystem, HCS_E_INVALID_STATE, S::SavedAsTemplate},
    {S::Stopping, M::TerminateComputeSystem, S_OK, S::Stopped},
    {S::Stopping, M::StartComputeSystem, HCS_E_INVALID_STATE, S::Stopping},
    {S::Stopping, M::ShutDownComputeSystem, HCS_E_INVALID_STATE, S::Stopping},
    {S::Stopped, M::ShutDownComputeSystem, HCS_E_SYSTEM_ALREADY_STOPPED, S::Stopped},
    {S::Stopped, M::TerminateComputeSystem, HCS_E_SYSTEM_ALREADY_STOPPED, S::Stopped},
    {S::Stopped, M::StartComputeSystem, HCS_E_INVALID_STATE, S::Stopped},
    {S::Stopped, M::PauseComputeSystem, HCS_E_INVALID_STATE, S::Stopped},
    {S::Stopped, M::GetComputeSystemProperties, S_OK, S::Stopped},
    {S::Creating, M::StartComputeSystem, HCS_E_INVALID_STATE, S::Creating},
    {S::Adopting, M::GetComputeSystemProperties, HCS_E_INVALID_STATE, S::Adopting},
};

TEST(Lifecycle, CallTableMatchesExpectations)
{
    for (const Expect& e : kExpected) {
        auto r = checkCall(e.from, e.call);
        SCOPED_TRACE(std::string(stateName(e.from)) + " + " + callName(e.call));
        EXPECT_EQ(r.hr(), e.hr);
        if (r.ok()) {
            EXPECT_EQ(*r, e.to);
        }
    }
}

TEST(Lifecycle, EveryAllowedCallLeadsWhereTheTransitionTableAllows)
{
    const S states[] = {S::Creating,        S::Adopting, S::Created, S::Running, S::Paused,
                        S::SavedAsTemplate, S::Stopping, S::Stopped, S::Removed};
    for (S from : states) {
        for (int m = 0; m <= static_cast<int>(M::GetServiceProperties); ++m) {
            auto r = checkCall(from, static_cast<M>(m));
            if (!r.ok() || *r == from) continue;
            SCOPED_TRACE(std::string(stateName(from)) + " + " + callName(static_cast<M>(m)));
            // Stopping is the way to Stopped for ShutDown/Terminate/Crash; Start/Pause/Resume go direct.
            EXPECT_TRUE(validTransition(from, *r) || (validTransition(from, S::Stopping) && *r == S::Stopped));
        }
    }
}

TEST(Lifecycle, TransitionsThatMustNeverHappen)
{
    EXPECT_FALSE(validTransition(S::Stopped, S::Running));
    EXPECT_FALSE(validTransition(S::Removed, S::Created));
    EXPECT_FALSE(validTransition(S::Stopping, S::Running));
    EXPECT_FALSE(validTransition(S::Creating, S::Running));
    EXPECT_FALSE(validTransition(S::Removed, S::Stopped));
    EXPECT_TRUE(validTransition(S::Creating, S::Removed));
    EXPECT_TRUE(validTransition(S::Adopting, S::Paused));
    EXPECT_TRUE(validTransition(S::Stopped, S::Removed));
    EXPECT_TRUE(validTransition(S::Paused, S::SavedAsTemplate));
    EXPECT_FALSE(validTransition(S::SavedAsTemplate, S::Running));
    EXPECT_FALSE(validTransition(S::Running, S::SavedAsTemplate));
}

TEST(Lifecycle, SetStateRefusesWhatTheTableRefuses)
{
    EventLoop loop;
    ComputeSystem system(loop, "vm", S::Creating);
    EXPECT_FALSE(system.setState(S::Running, "test"));
    EXPECT_EQ(system.state(), S::Creating);
    EXPECT_TRUE(system.setState(S::Created, "test"));
    EXPECT_TRUE(system.setState(S::Stopping, "test"));
    EXPECT_FALSE(system.setState(S::Paused, "test"));
    EXPECT_TRUE(system.setState(S::Stopped, "test"));
    EXPECT_TRUE(system.setState(S::Removed, "test"));
    EXPECT_EQ(system.state(), S::Removed);
}

TEST(Lifecycle, InvalidStateMessageNamesStateAndCall)
{
    auto r = checkCall(S::Created, M::PauseComputeSystem);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "Pause is not valid for a compute system in state Created");
    auto stopped = checkCall(S::Stopped, M::TerminateComputeSystem);
    EXPECT_NE(stopped.error().message.find("already Stopped"), std::string::npos);
}

TEST(Lifecycle, QemuStatusMapsToState)
{
    EXPECT_EQ(stateFromQemuStatus("running", true), S::Running);
    EXPECT_EQ(stateFromQemuStatus("paused", true), S::Paused);
    EXPECT_EQ(stateFromQemuStatus("prelaunch", false), S::Created);
}

}  // namespace
}  // namespace hc::hcs::service
