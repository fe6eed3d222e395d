// Shared fixture of the computecore unit tests: a fresh FakeChannel per test, installed through the
// library's test seam, and small helpers that create systems and drive replies.
#pragma once

#include <computecore.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include <future>

#include "fake_channel.h"
#include "hcs/client/client.h"
#include "hcs/client/testing.h"

namespace hc::hcs::testing {

inline constexpr const wchar_t* kConfig = LR"({"SchemaVersion":{"Major":2,"Minor":1},"VirtualMachine":{}})";

// Owns a wide result string the library allocated.
struct LocalString {
    PWSTR value = nullptr;
    ~LocalString() { LocalFree(value); }
    PWSTR* put()
    {
        LocalFree(value);
        value = nullptr;
        return &value;
    }
    std::wstring str() const { return value ? std::wstring(value) : std::wstring(); }
};

class HcsClientTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        channel = std::make_shared<FakeChannel>();
        setServiceChannelForTesting(channel);
    }
    void TearDown() override { setServiceChannelForTesting(nullptr); }

    // A system handle whose Create was answered with S_OK.
    HCS_SYSTEM createSystem(const wchar_t* id = L"vm")
    {
        HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
        HCS_SYSTEM system = nullptr;
        EXPECT_EQ(HcsCreateComputeSystem(id, kConfig, op, nullptr, &system), S_OK);
        auto request = channel->requests("CreateComputeSystem").back();
        channel->reply(request.id, S_OK);
        EXPECT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);
        HcsCloseOperation(op);
        return system;
    }

    // The id of the last request sent for `method`.
    uint64_t lastRequest(const std::string& method)
    {
        auto all = channel->requests(method);
        EXPECT_FALSE(all.empty()) << "no " << method << " request was sent";
        return all.empty() ? 0 : all.back().id;
    }

    // Returns once every callback and event posted so far has been delivered (or dropped): the
    // dispatcher runs tasks in order, so a marker posted now runs after them. What a test asserts
    // did NOT happen is asserted after this, never after a sleep.
    static void drainCallbacks()
    {
        std::promise<void> reached;
        Client::instance().dispatcher().post([&reached] { reached.set_value(); });
        reached.get_future().wait();
    }

    std::shared_ptr<FakeChannel> channel;
};

}  // namespace hc::hcs::testing
