// Real FUSE mounts: asynchronous completion, shared hydration, failures, cancellation, Stop with
// requests pending.
#include "test_provider.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <future>
#include <thread>

namespace hc::projfs::test {
namespace {

class AsyncMountTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        provider.addFile(L"data.bin", std::string(20000, 'q'));
        provider.addFile(L"small.txt", "small");
        ASSERT_EQ(provider.start(root.path()), S_OK);
    }
    void TearDown() override { provider.stop(); }
    std::string at(const std::string& rel) const { return root.path() + "/" + rel; }

    TempRoot root;
    TestProvider provider;
};

TEST_F(AsyncMountTest, PendingFileDataCompletedFromAnotherThread)
{
    provider.pendFileData = true;
    auto reader = std::async(std::launch::async, [&] { return readFile(at("data.bin")); });
    ASSERT_TRUE(provider.waitForPending(1));
    EXPECT_EQ(reader.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
    EXPECT_EQ(std::async(std::launch::async, [&] { return provider.completeFileData(0); }).get(), S_OK);
    EXPECT_EQ(reader.get(), std::string(20000, 'q'));
    EXPECT_EQ(fileState(at("data.bin")), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    // The command is gone now.
    EXPECT_EQ(PrjCompleteCommand(provider.context(), provider.pendingIds[0], S_OK, nullptr), E_INVALIDARG);
}

TEST_F(AsyncMountTest, ConcurrentReadersShareOneHydration)
{
    provider.pendFileData = true;
    auto first = std::async(std::launch::async, [&] { return readFile(at("data.bin")); });
    auto second = std::async(std::launch::async, [&] { return readFile(at("data.bin")); });
    ASSERT_TRUE(provider.waitForPending(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(provider.fileData, 1);
    ASSERT_EQ(provider.completeFileData(0), S_OK);
    EXPECT_EQ(first.get(), std::string(20000, 'q'));
    EXPECT_EQ(second.get(), std::string(20000, 'q'));
    EXPECT_EQ(provider.fileData, 1);
}

TEST_F(AsyncMountTest, FailedHydrationLeavesPlaceholderAndRetries)
{
    provider.failFileData = true;
    int fd = ::open(at("data.bin").c_str(), O_RDONLY);
    EXPECT_EQ(fd, -1);
    EXPECT_EQ(errno, EIO);
    EXPECT_EQ(fileState(at("data.bin")), PRJ_FILE_STATE_PLACEHOLDER);
    provider.failFileData = false;
    EXPECT_EQ(readFile(at("data.bin")), std::string(20000, 'q'));
    EXPECT_EQ(provider.fileData, 2);
}

TEST_F(AsyncMountTest, WriteFileDataChecksStreamBoundsAndAlignment)
{
    provider.pendFileData = true;
    auto reader = std::async(std::launch::async, [&] { return readFile(at("data.bin")); });
    ASSERT_TRUE(provider.waitForPending(1));
    GUID stream = provider.pendingStreams[0];
    char buf[8192] = {};
    auto ctx = provider.context();
    EXPECT_EQ(PrjWriteFileData(ctx, &stream, buf, 100, 4096), HRESULT_FROM_WIN32(ERROR_OFFSET_ALIGNMENT_VIOLATION));
    EXPECT_EQ(PrjWriteFileData(ctx, &stream, buf, 0, 100), HRESULT_FROM_WIN32(ERROR_OFFSET_ALIGNMENT_VIOLATION));
    EXPECT_EQ(PrjWriteFileData(ctx, &stream, buf, 20480, 4096), E_INVALIDARG);
    EXPECT_EQ(PrjWriteFileData(ctx, &stream, buf, 16384, 8192), E_INVALIDARG);
    EXPECT_EQ(PrjWriteFileData(ctx, &stream, nullptr, 0, 4096), E_INVALIDARG);
    GUID unknown{1, 2, 3, {4}};
    EXPECT_EQ(PrjWriteFileData(ctx, &unknown, buf, 0, 4096), HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE));
    // Success without all the data is a failed hydration.
    EXPECT_EQ(PrjWriteFileData(ctx, &stream, buf, 0, 4096), S_OK);
    EXPECT_EQ(PrjCompleteCommand(ctx, provider.pendingIds[0], S_OK, nullptr), S_OK);
    EXPECT_EQ(reader.get(), "<cannot open>");
    EXPECT_EQ(PrjWriteFileData(ctx, &stream, buf, 4096, 4096), HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE));
    EXPECT_EQ(fileState(at("data.bin")), PRJ_FILE_STATE_PLACEHOLDER);
}

TEST_F(AsyncMountTest, KilledReaderCancelsTheCommand)
{
    provider.pendFileData = true;
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        int fd = ::open(at("data.bin").c_str(), O_RDONLY);
        ::_exit(fd >= 0 ? 0 : 1);
    }
    ASSERT_TRUE(provider.waitForPending(1));
    ::kill(child, SIGKILL);
    ASSERT_TRUE(provider.waitForCancel(1));
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(provider.cancelledIds[0], provider.pendingIds[0]);
    // The data stream no longer takes data; completing the cancelled command is a harmless no-op, once.
    char buf[4096] = {};
    EXPECT_EQ(PrjWriteFileData(provider.context(), &provider.pendingStreams[0], buf, 0, 4096),
              HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE));
    EXPECT_EQ(PrjCompleteCommand(provider.context(), provider.pendingIds[0], S_OK, nullptr), S_OK);
    EXPECT_EQ(PrjCompleteCommand(provider.context(), provider.pendingIds[0], S_OK, nullptr), E_INVALIDARG);
    EXPECT_EQ(fileState(at("data.bin")), PRJ_FILE_STATE_PLACEHOLDER);
    provider.pendFileData = false;
    EXPECT_EQ(readFile(at("data.bin")), std::string(20000, 'q'));
}

TEST_F(AsyncMountTest, PendingPlaceholderInfo)
{
    provider.pendPlaceholder = true;
    auto stat = std::async(std::launch::async, [&] {
        struct stat st {};
        return ::stat(at("small.txt").c_str(), &st) == 0 ? st.st_size : -1;
    });
    ASSERT_TRUE(provider.waitForPending(1));
    ASSERT_EQ(provider.completeFileData(0), S_OK);
    EXPECT_EQ(stat.get(), 5);
    std::lock_guard lock(provider.mutex);
    ASSERT_FALSE(provider.triggeringPids.empty());
    EXPECT_EQ(provider.triggeringPids[0], static_cast<uint32_t>(::getpid()));
}

// A slow GetPlaceholderInfo must not hold up first lookups of other names in the same directory.
TEST_F(AsyncMountTest, PendingPlaceholderInfoDoesNotBlockSiblingLookups)
{
    provider.pendPlaceholder = true;
    auto first = std::async(std::launch::async, [&] {
        struct stat st {};
        return ::stat(at("small.txt").c_str(), &st) == 0 ? st.st_size : -1;
    });
    ASSERT_TRUE(provider.waitForPending(1));
    auto second = std::async(std::launch::async, [&] {
        struct stat st {};
        return ::stat(at("data.bin").c_str(), &st) == 0 ? st.st_size : -1;
    });
    ASSERT_TRUE(provider.waitForPending(2)) << "the second lookup never reached the provider";
    ASSERT_EQ(provider.completeFileData(1), S_OK);
    EXPECT_EQ(second.get(), 20000);
    ASSERT_EQ(provider.completeFileData(0), S_OK);
    EXPECT_EQ(first.get(), 5);
}

// Two programs opening one listed file at once (the kernel does not serialise opens of one inode): one
// GetPlaceholderInfo, whose answer both take. Two calls wrote the placeholder twice, and the second write
// dropped the directory's listing under the other walkers (issue 12: ENOENT in `du` and `find` run together).
TEST_F(AsyncMountTest, OpensOfOneListedFileShareOneGetPlaceholderInfo)
{
    ASSERT_EQ(listDirectory(root.path()).size(), 2u);  // READDIRPLUS: both names are listed items now
    provider.pendPlaceholder = true;
    auto first = std::async(std::launch::async, [&] { return readFile(at("small.txt")); });
    auto second = std::async(std::launch::async, [&] { return readFile(at("small.txt")); });
    ASSERT_TRUE(provider.waitForPending(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(provider.placeholderInfo, 1) << "the second open asked the provider again";
    const size_t asked = static_cast<size_t>(provider.placeholderInfo.load());
    for (size_t i = 0; i < asked; ++i)  // (each of them, when the test fails: no open is left hanging)
        EXPECT_EQ(provider.completeFileData(i), S_OK);
    EXPECT_EQ(first.get(), "small");
    EXPECT_EQ(second.get(), "small");
    EXPECT_EQ(provider.placeholderInfo, 1);
}

// The request that asked is interrupted (its process killed): its GetPlaceholderInfo is cancelled, and
// an open that was waiting for that answer asks again instead of failing.
TEST_F(AsyncMountTest, AWaitingOpenAsksAgainWhenTheAskingOneIsKilled)
{
    ASSERT_EQ(listDirectory(root.path()).size(), 2u);
    provider.pendPlaceholder = true;
    pid_t asking = ::fork();
    if (asking == 0) {
        int fd = ::open(at("small.txt").c_str(), O_RDONLY);
        ::_exit(fd >= 0 ? 0 : 1);
    }
    ASSERT_GT(asking, 0);
    ASSERT_TRUE(provider.waitForPending(1));
    auto waiting = std::async(std::launch::async, [&] { return readFile(at("small.txt")); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(provider.placeholderInfo, 1);
    ::kill(asking, SIGKILL);
    ASSERT_TRUE(provider.waitForCancel(1));
    int status = 0;
    ASSERT_EQ(::waitpid(asking, &status, 0), asking);
    ASSERT_TRUE(provider.waitForPending(2)) << "the waiting open did not ask again";
    ASSERT_EQ(provider.completeFileData(1), S_OK);
    EXPECT_EQ(waiting.get(), "small");
    EXPECT_EQ(provider.placeholderInfo, 2);
}

// The provider may look at its own root from inside GetPlaceholderInfo (for a sibling of the name being
// looked up): it sees the disk and gets no callback, and nothing deadlocks.
TEST_F(AsyncMountTest, ProviderLooksUpASiblingFromInsideGetPlaceholderInfo)
{
    std::atomic<int> siblingStat{99};
    provider.setHook(provider.placeholderHook,
                     std::function<void(const PRJ_CALLBACK_DATA*)>([&](const PRJ_CALLBACK_DATA*) {
                         struct stat st {};
                         siblingStat = ::stat(at("data.bin").c_str(), &st);
                     }));
    auto first = std::async(std::launch::async, [&] {
        struct stat st {};
        return ::stat(at("small.txt").c_str(), &st) == 0 ? st.st_size : -1;
    });
    ASSERT_EQ(first.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "deadlocked";
    EXPECT_EQ(first.get(), 5);
    EXPECT_EQ(siblingStat, -1);  // data.bin is not on disk yet and the provider's own I/O is not projected
    EXPECT_EQ(provider.placeholderInfo, 1);
}

TEST_F(AsyncMountTest, StopFailsPendingRequestsAndForgetsTheContext)
{
    provider.pendFileData = true;
    auto reader = std::async(std::launch::async, [&] { return readFile(at("data.bin")); });
    ASSERT_TRUE(provider.waitForPending(1));
    auto ctx = provider.context();
    provider.stop();
    EXPECT_EQ(reader.get(), "<cannot open>");
    EXPECT_EQ(PrjCompleteCommand(ctx, provider.pendingIds[0], S_OK, nullptr), E_INVALIDARG);
    EXPECT_EQ(provider.cancels, 0);
}

TEST(ApiArgumentsTest, BadArgumentsAreRejected)
{
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT bogus = reinterpret_cast<PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT>(0x1234);
    EXPECT_EQ(PrjCompleteCommand(bogus, 1, S_OK, nullptr), E_INVALIDARG);
    PRJ_VIRTUALIZATION_INSTANCE_INFO info{};
    EXPECT_EQ(PrjGetVirtualizationInstanceInfo(bogus, &info), E_INVALIDARG);
    EXPECT_EQ(PrjWritePlaceholderInfo(bogus, L"x", nullptr, 0), E_INVALIDARG);
    EXPECT_EQ(PrjAllocateAlignedBuffer(bogus, 10), nullptr);
    EXPECT_EQ(PrjFillDirEntryBuffer(L"x", nullptr, reinterpret_cast<PRJ_DIR_ENTRY_BUFFER_HANDLE>(0x99)), E_INVALIDARG);
    PRJ_FILE_STATE state{};
    EXPECT_EQ(PrjGetOnDiskFileState(L"/nonexistent/projfs", &state), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    EXPECT_EQ(PrjGetOnDiskFileState(nullptr, &state), E_INVALIDARG);
    PrjStopVirtualizing(bogus);  // no crash
    GUID id{};
    EXPECT_EQ(PrjMarkDirectoryAsPlaceholder(L"/nonexistent/projfs", nullptr, nullptr, &id),
              HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND));
    EXPECT_EQ(PrjMarkDirectoryAsPlaceholder(L"/etc/hostname", nullptr, nullptr, &id),
              HRESULT_FROM_WIN32(ERROR_DIRECTORY));
}

TEST(ApiArgumentsTest, MarkTwiceIsReparsePointEncountered)
{
    TempRoot root;
    GUID id{7, 7, 7, {7}};
    EXPECT_EQ(PrjMarkDirectoryAsPlaceholder(root.wide().c_str(), nullptr, nullptr, &id), S_OK);
    EXPECT_EQ(PrjMarkDirectoryAsPlaceholder(root.wide().c_str(), nullptr, nullptr, &id),
              HRESULT_FROM_WIN32(ERROR_REPARSE_POINT_ENCOUNTERED));
    EXPECT_EQ(fileState(root.path()), PRJ_FILE_STATE_PLACEHOLDER);
}

TEST(ApiArgumentsTest, InstanceInfoReportsMarkedGuidAndAlignment)
{
    TempRoot root;
    TestProvider provider;
    ASSERT_EQ(provider.start(root.path()), S_OK);
    PRJ_VIRTUALIZATION_INSTANCE_INFO info{};
    ASSERT_EQ(PrjGetVirtualizationInstanceInfo(provider.context(), &info), S_OK);
    EXPECT_EQ(info.WriteAlignment, 4096u);
    EXPECT_NE(info.InstanceID.Data1 | info.InstanceID.Data2, 0u);
    TempRoot nestedParent;
    provider.stop();
}

}  // namespace
}  // namespace hc::projfs::test
