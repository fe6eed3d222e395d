// The gtest fixture shared by the ProjFS integration tests: a TestProvider and a VirtualizationRoot,
// declared so the root (and its mount) goes away before the providers it calls.
#pragma once

#include "test_provider.h"
#include "virtualization_root.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace projfs_test {

class ProjfsTest : public ::testing::Test {
protected:
    void start(const PRJ_STARTVIRTUALIZING_OPTIONS* options = nullptr)
    {
        ASSERT_EQ(root.start(provider, options), S_OK) << "PrjStartVirtualizing failed";
    }

    // Polls `predicate` until true or `timeout`.
    template <typename Predicate>
    static bool eventually(Predicate predicate, std::chrono::milliseconds timeout = std::chrono::seconds(5))
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!predicate()) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return true;
    }

    TestProvider provider;
    TestProvider second;      // for tests that restart the root with another provider
    VirtualizationRoot root;  // destroyed first: stops virtualizing before the providers go
};

}  // namespace projfs_test
