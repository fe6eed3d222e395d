// One guest for a whole test suite (booting under TCG takes seconds): a suite derives from
// SharedGuestTest<Suite> and calls startSharedGuest(id, document) from its SetUpTestSuite. Each suite
// (template argument) has its own guest; the last handle goes with TearDownTestSuite, and the VM with it.
// A test whose suite's guest did not start fails at once; a failing test prints hcsd's log.
#pragma once

#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "support/hcs_test_support.h"

namespace hcs_test {

template <class Suite>
class SharedGuestTest : public testing::Test {
protected:
    static void startSharedGuest(const std::string& id, const std::string& document)
    {
        s_id = id;  // no test is current yet: testSystemId() needs one
        s_system = new SystemHandle();
        CallOutcome created = createSystem(s_id, document, *s_system);
        ASSERT_EQ(created.hr, S_OK) << describe(created.hr) << " " << created.document;
        CallOutcome started = start(s_system->get());
        ASSERT_EQ(started.hr, S_OK) << describe(started.hr) << " " << started.document;
    }
    static void TearDownTestSuite()
    {
        delete s_system;
        s_system = nullptr;
    }
    void SetUp() override { ASSERT_TRUE(s_system && s_system->get()) << "the shared guest did not start"; }
    void TearDown() override
    {
        if (HasFailure()) std::cerr << "hcsd log:\n" << hcsd().log() << std::endl;
    }
    static HCS_SYSTEM system() { return s_system->get(); }

    static inline std::string s_id;
    static inline SystemHandle* s_system = nullptr;
};

}  // namespace hcs_test
