// Hydration in several GetFileData requests (lengths are 32-bit, so a file over 4 GiB needs more than
// one): the request plan on its own, then real FUSE mounts with the instance's request limit set to
// 64 KiB so a 1 MiB file takes 17 requests — synchronous and pending providers, providers that return
// more than asked, failures, a provider that claims success without data, cancellation of the request
// in flight.
#include "projfs/core/hydration.h"
#include "test_provider.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <future>
#include <random>
#include <thread>

namespace hc::projfs::test {
namespace {

constexpr uint64_t kGiB = 1ull << 30;
constexpr uint32_t kMaxRequest = 64 * 1024;
constexpr uint64_t kFileSize = 1024 * 1024 + 1000;  // 16 full requests and a short last one

// ---- the request plan ----

TEST(FileDataRequestPlan, DefaultLimitIsTheLargestAlignedUint32)
{
    EXPECT_EQ(defaultMaxFileDataRequest(), 0xFFFFF000u);
    EXPECT_EQ(normalizedMaxFileDataRequest(0), 0xFFFFF000u);
    EXPECT_EQ(normalizedMaxFileDataRequest(UINT32_MAX), 0xFFFFF000u);
    EXPECT_EQ(normalizedMaxFileDataRequest(65536), 65536u);
    EXPECT_EQ(normalizedMaxFileDataRequest(65537), 65536u);
    EXPECT_EQ(normalizedMaxFileDataRequest(1), 4096u);
}

TEST(FileDataRequestPlan, FiveGiBFileTakesTwoRequests)
{
    const uint64_t size = 5 * kGiB;
    const uint32_t max = defaultMaxFileDataRequest();
    ReceivedRanges received;
    auto first = nextFileDataRequest(received, size, max);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->offset, 0u);
    EXPECT_EQ(first->length, max);
    received.add(0, first->length);
    auto second = nextFileDataRequest(received, size, max);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->offset, uint64_t{max});
    EXPECT_EQ(second->length, size - max);  // 1 GiB + 4 KiB
    received.add(second->offset, second->offset + second->length);
    EXPECT_FALSE(nextFileDataRequest(received, size, max));
    EXPECT_TRUE(received.covers(size));
}

TEST(FileDataRequestPlan, NineGiBFileTakesThreeRequests)
{
    const uint64_t size = 9 * kGiB + 123;  // an unaligned end
    const uint32_t max = defaultMaxFileDataRequest();
    ReceivedRanges received;
    std::vector<FileDataRequest> made;
    while (auto next = nextFileDataRequest(received, size, max)) {
        ASSERT_LT(made.size(), 10u);
        made.push_back(*next);
        received.add(next->offset, next->offset + next->length);
    }
    ASSERT_EQ(made.size(), 3u);
    EXPECT_EQ(made[1].offset, uint64_t{max});
    EXPECT_EQ(made[2].offset, 2ull * max);
    EXPECT_EQ(made[2].length, size - 2ull * max);
    EXPECT_EQ(made[0].offset % 4096 + made[1].offset % 4096 + made[2].offset % 4096, 0u);
}

TEST(FileDataRequestPlan, AsksForTheFirstGapOnly)
{
    const uint64_t size = 256 * 1024 + 5;
    ReceivedRanges received;
    received.add(0, 64 * 1024);
    received.add(128 * 1024, 192 * 1024);
    auto next = nextFileDataRequest(received, size, 1024 * 1024);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->offset, 64u * 1024);
    EXPECT_EQ(next->length, 64u * 1024);  // up to the range already there
    received.add(next->offset, next->offset + next->length);
    next = nextFileDataRequest(received, size, 1024 * 1024);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->offset, 192u * 1024);
    EXPECT_EQ(next->length, 64u * 1024 + 5);
}

TEST(FileDataRequestPlan, ReceivedRangesCoverAndGaps)
{
    ReceivedRanges received;
    EXPECT_TRUE(received.covers(0));
    EXPECT_TRUE(received.covers(10, 10));
    EXPECT_FALSE(received.covers(0, 1));
    received.add(4096, 8192);
    received.add(0, 4096);  // merges with the next
    received.add(16384, 20000);
    EXPECT_TRUE(received.covers(0, 8192));
    EXPECT_TRUE(received.covers(100, 200));
    EXPECT_FALSE(received.covers(0, 8193));
    EXPECT_FALSE(received.covers(8192, 16384));
    EXPECT_TRUE(received.covers(16384, 20000));
    EXPECT_FALSE(received.covers(20000));
    EXPECT_EQ(received.firstGap(20000), std::make_optional(std::pair<uint64_t, uint64_t>(8192, 16384)));
    received.add(8192, 16384);
    EXPECT_FALSE(received.firstGap(20000));
    EXPECT_EQ(received.firstGap(30000), std::make_optional(std::pair<uint64_t, uint64_t>(20000, 30000)));
}

// ---- real mounts ----

std::string patterned(size_t size)
{
    std::string out(size, '\0');
    std::mt19937 gen(20261122);
    for (auto& c : out)
        c = static_cast<char>(gen());
    return out;
}

// The requests a hydration from scratch makes when each request returns `step` bytes from its offset.
std::vector<std::pair<uint64_t, uint32_t>> plannedRequests(uint64_t size, uint64_t step, uint32_t max)
{
    std::vector<std::pair<uint64_t, uint32_t>> out;
    for (uint64_t offset = 0; offset < size; offset += step)
        out.emplace_back(offset, static_cast<uint32_t>(std::min<uint64_t>(max, size - offset)));
    return out;
}

// A mismatch names the first differing offset instead of printing a megabyte.
::testing::AssertionResult sameContent(const std::string& actual, const std::string& expected)
{
    if (actual == expected) return ::testing::AssertionSuccess();
    if (actual.size() != expected.size()) {
        return ::testing::AssertionFailure()
               << "size " << actual.size() << " (\"" << actual.substr(0, 40) << "\"), expected " << expected.size();
    }
    auto diff = std::mismatch(actual.begin(), actual.end(), expected.begin());
    return ::testing::AssertionFailure() << "content differs from offset " << (diff.first - actual.begin());
}

// errno of open(path, O_RDONLY), 0 when it opened.
int openErrno(const std::string& path)
{
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return errno;
    ::close(fd);
    return 0;
}

class LargeFileHydrationTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        content = patterned(kFileSize);
        provider.addFile(L"big.bin", content);
        provider.maxFileDataRequest = kMaxRequest;
        provider.exactRange = true;
        ASSERT_EQ(provider.start(root.path()), S_OK);
    }
    void TearDown() override { provider.stop(); }
    std::string path() const { return root.path() + "/big.bin"; }

    // One hydration's requests: the planned offsets and lengths, one DataStreamId, a new CommandId each.
    static void expectRequests(const std::vector<TestProvider::FileDataRequest>& seen,
                               const std::vector<std::pair<uint64_t, uint32_t>>& planned)
    {
        ASSERT_EQ(seen.size(), planned.size());
        for (size_t i = 0; i < seen.size(); ++i) {
            EXPECT_EQ(seen[i].offset, planned[i].first) << "request " << i;
            EXPECT_EQ(seen[i].length, planned[i].second) << "request " << i;
            EXPECT_EQ(formatGuid(seen[i].dataStreamId), formatGuid(seen[0].dataStreamId)) << "request " << i;
            if (i > 0) {
                EXPECT_GT(seen[i].commandId, seen[i - 1].commandId) << "request " << i;
            }
        }
    }

    TempRoot root;
    TestProvider provider;
    std::string content;
};

TEST_F(LargeFileHydrationTest, SynchronousProviderIsAskedForEveryRange)
{
    EXPECT_TRUE(sameContent(readFile(path()), content));
    expectRequests(provider.fileDataRequestsSeen(), plannedRequests(kFileSize, kMaxRequest, kMaxRequest));
    EXPECT_EQ(provider.fileData, 17);
    EXPECT_EQ(fileState(path()), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    EXPECT_TRUE(sameContent(readFile(path()), content));  // hydrated: no more requests
    EXPECT_EQ(provider.fileData, 17);
}

TEST_F(LargeFileHydrationTest, ProviderReturningMoreThanAskedGetsFewerRequests)
{
    provider.fileDataSurplus = kMaxRequest;  // 128 KiB per request
    EXPECT_TRUE(sameContent(readFile(path()), content));
    expectRequests(provider.fileDataRequestsSeen(), plannedRequests(kFileSize, 2 * kMaxRequest, kMaxRequest));
    EXPECT_EQ(provider.fileData, 9);
    EXPECT_EQ(fileState(path()), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
}

TEST_F(LargeFileHydrationTest, ProviderReturningTheWholeFileAtOnceIsAskedOnce)
{
    provider.exactRange = false;
    EXPECT_TRUE(sameContent(readFile(path()), content));
    expectRequests(provider.fileDataRequestsSeen(), {{0, kMaxRequest}});
}

TEST_F(LargeFileHydrationTest, FailureInThirdRequestLeavesPlaceholderAndNextOpenStartsAgain)
{
    provider.failFileDataCall = 3;
    EXPECT_EQ(openErrno(path()), EIO);
    EXPECT_EQ(provider.fileData, 3);
    EXPECT_EQ(fileState(path()), PRJ_FILE_STATE_PLACEHOLDER);

    EXPECT_TRUE(sameContent(readFile(path()), content));
    auto seen = provider.fileDataRequestsSeen();
    ASSERT_EQ(seen.size(), 3u + 17u);
    EXPECT_NE(formatGuid(seen[3].dataStreamId), formatGuid(seen[0].dataStreamId));  // a new hydration
    expectRequests({seen.begin() + 3, seen.end()}, plannedRequests(kFileSize, kMaxRequest, kMaxRequest));
    EXPECT_EQ(fileState(path()), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
}

TEST_F(LargeFileHydrationTest, SuccessWithoutDataFailsTheOpenInsteadOfAskingAgain)
{
    provider.emptyFileDataCall = 2;
    EXPECT_EQ(openErrno(path()), EIO);
    EXPECT_EQ(provider.fileData, 2);
    EXPECT_EQ(fileState(path()), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_TRUE(sameContent(readFile(path()), content));
    EXPECT_EQ(provider.fileData, 2 + 17);
}

TEST_F(LargeFileHydrationTest, SuccessWithLessThanAskedFailsTheOpen)
{
    // The first request is answered in full, the second with 4 KiB of its 64 KiB only.
    provider.pendFileData = true;
    std::future<int> opened = std::async(std::launch::async, [&] { return openErrno(path()); });
    ASSERT_TRUE(provider.waitForPending(1));
    ASSERT_EQ(provider.completeFileData(0), S_OK);
    ASSERT_TRUE(provider.waitForPending(2));
    auto second = provider.pendingRanges[1];
    EXPECT_EQ(second.offset, kMaxRequest);
    std::string piece = content.substr(second.offset, 4096);
    EXPECT_EQ(PrjWriteFileData(provider.context(), &second.dataStreamId, piece.data(), second.offset, 4096), S_OK);
    EXPECT_EQ(PrjCompleteCommand(provider.context(), second.commandId, S_OK, nullptr), S_OK);
    EXPECT_EQ(opened.get(), EIO);
    EXPECT_EQ(provider.fileData, 2);
    EXPECT_EQ(fileState(path()), PRJ_FILE_STATE_PLACEHOLDER);
}

TEST_F(LargeFileHydrationTest, PendingRequestsCompletedFromAnotherThread)
{
    provider.pendFileData = true;
    auto reader = std::async(std::launch::async, [&] { return readFile(path()); });
    auto planned = plannedRequests(kFileSize, kMaxRequest, kMaxRequest);
    for (size_t i = 0; i < planned.size(); ++i) {
        ASSERT_TRUE(provider.waitForPending(i + 1)) << "request " << i;
        if (i == 1) {
            // Only the last request's completion marks the file.
            EXPECT_EQ(fileState(path()), PRJ_FILE_STATE_PLACEHOLDER);
            EXPECT_EQ(reader.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
        }
        EXPECT_EQ(std::async(std::launch::async, [&] { return provider.completeFileData(i); }).get(), S_OK);
    }
    EXPECT_TRUE(sameContent(reader.get(), content));
    expectRequests(provider.fileDataRequestsSeen(), planned);
    EXPECT_EQ(fileState(path()), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    EXPECT_EQ(PrjCompleteCommand(provider.context(), provider.pendingIds.back(), S_OK, nullptr), E_INVALIDARG);
}

TEST_F(LargeFileHydrationTest, ConcurrentReadersShareOneMultiRequestHydration)
{
    provider.pendFileData = true;
    auto first = std::async(std::launch::async, [&] { return readFile(path()); });
    ASSERT_TRUE(provider.waitForPending(1));
    ASSERT_EQ(provider.completeFileData(0), S_OK);
    ASSERT_TRUE(provider.waitForPending(2));
    auto second = std::async(std::launch::async, [&] { return readFile(path()); });  // joins mid-way
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (size_t i = 1; i < 17; ++i) {
        ASSERT_TRUE(provider.waitForPending(i + 1)) << "request " << i;
        ASSERT_EQ(provider.completeFileData(i), S_OK);
    }
    EXPECT_TRUE(sameContent(first.get(), content));
    EXPECT_TRUE(sameContent(second.get(), content));
    EXPECT_EQ(provider.fileData, 17);
}

TEST_F(LargeFileHydrationTest, PendingFailureInThirdRequestLeavesPlaceholder)
{
    provider.pendFileData = true;
    auto opened = std::async(std::launch::async, [&] { return openErrno(path()); });
    for (size_t i = 0; i < 2; ++i) {
        ASSERT_TRUE(provider.waitForPending(i + 1));
        ASSERT_EQ(provider.completeFileData(i), S_OK);
    }
    ASSERT_TRUE(provider.waitForPending(3));
    EXPECT_EQ(provider.pendingRanges[2].offset, 2u * kMaxRequest);
    ASSERT_EQ(provider.completeFileData(2, E_FAIL), S_OK);
    EXPECT_EQ(opened.get(), EIO);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(provider.fileData, 3);
    EXPECT_EQ(fileState(path()), PRJ_FILE_STATE_PLACEHOLDER);
    provider.pendFileData = false;
    EXPECT_TRUE(sameContent(readFile(path()), content));
    EXPECT_EQ(provider.fileData, 3 + 17);
}

TEST_F(LargeFileHydrationTest, PendingSuccessWithoutDataFailsTheOpen)
{
    provider.pendFileData = true;
    auto opened = std::async(std::launch::async, [&] { return openErrno(path()); });
    ASSERT_TRUE(provider.waitForPending(1));
    ASSERT_EQ(provider.completeFileData(0), S_OK);
    ASSERT_TRUE(provider.waitForPending(2));
    EXPECT_EQ(PrjCompleteCommand(provider.context(), provider.pendingIds[1], S_OK, nullptr), S_OK);
    EXPECT_EQ(opened.get(), EIO);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(provider.fileData, 2);
    EXPECT_EQ(fileState(path()), PRJ_FILE_STATE_PLACEHOLDER);
}

TEST_F(LargeFileHydrationTest, KilledReaderCancelsThePendingSecondRequest)
{
    provider.pendFileData = true;
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        int fd = ::open(path().c_str(), O_RDONLY);
        ::_exit(fd >= 0 ? 0 : 1);
    }
    ASSERT_TRUE(provider.waitForPending(1));
    ASSERT_EQ(provider.completeFileData(0), S_OK);
    ASSERT_TRUE(provider.waitForPending(2));
    ::kill(child, SIGKILL);
    ASSERT_TRUE(provider.waitForCancel(1));
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status));
    {
        std::lock_guard lock(provider.mutex);
        ASSERT_EQ(provider.cancelledIds.size(), 1u);
        EXPECT_EQ(provider.cancelledIds[0], provider.pendingIds[1]);
        EXPECT_EQ(provider.pendingRanges[1].offset, kMaxRequest);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(provider.fileData, 2);  // nothing more is asked for
    char buf[4096] = {};
    EXPECT_EQ(PrjWriteFileData(provider.context(), &provider.pendingStreams[1], buf, 2 * kMaxRequest, 4096),
              HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE));
    EXPECT_EQ(PrjCompleteCommand(provider.context(), provider.pendingIds[1], S_OK, nullptr), S_OK);  // a no-op
    EXPECT_EQ(fileState(path()), PRJ_FILE_STATE_PLACEHOLDER);
    provider.pendFileData = false;
    EXPECT_TRUE(sameContent(readFile(path()), content));
    EXPECT_EQ(provider.fileData, 2 + 17);
}

TEST_F(LargeFileHydrationTest, KilledReaderCancelsTheSynchronousSecondRequest)
{
    std::promise<void> secondRunning;
    provider.setHook(provider.fileDataHook, std::function<void()>([&] {
                         if (provider.fileData != 2) return;
                         secondRunning.set_value();
                         provider.waitForCancel(1);  // the provider is still working when the reader dies
                     }));
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        int fd = ::open(path().c_str(), O_RDONLY);
        ::_exit(fd >= 0 ? 0 : 1);
    }
    ASSERT_EQ(secondRunning.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
    ::kill(child, SIGKILL);
    ASSERT_TRUE(provider.waitForCancel(1));
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status));
    ASSERT_TRUE(eventually([&] { return provider.fileDataRequestsSeen().size() == 2; }));
    auto seen = provider.fileDataRequestsSeen();
    {
        std::lock_guard lock(provider.mutex);
        EXPECT_EQ(provider.cancelledIds[0], seen[1].commandId);
    }
    provider.setHook(provider.fileDataHook, std::function<void()>());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(provider.fileData, 2);
    EXPECT_EQ(fileState(path()), PRJ_FILE_STATE_PLACEHOLDER);
    EXPECT_TRUE(sameContent(readFile(path()), content));
}

}  // namespace
}  // namespace hc::projfs::test
