// Argument and state errors of the ProjFS C API, and the thread limits of PRJ_STARTVIRTUALIZING_OPTIONS.
#include "fixture.h"

#include <sys/stat.h>

#include <atomic>

using namespace projfs_test;
using namespace std::chrono_literals;

namespace {

GUID someGuid()
{
    GUID g = {};
    g.Data1 = 0x12345678;
    g.Data4[0] = 0x42;
    return g;
}

}  // namespace

TEST_F(ProjfsTest, StartVirtualizingArgumentErrors)
{
    PRJ_CALLBACKS callbacks = provider.callbacks();
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context = nullptr;
    const std::wstring path = root.widePath();
    EXPECT_EQ(PrjStartVirtualizing(nullptr, &callbacks, &provider, nullptr, &context), E_INVALIDARG);
    EXPECT_EQ(PrjStartVirtualizing(path.c_str(), nullptr, &provider, nullptr, &context), E_INVALIDARG);
    EXPECT_EQ(PrjStartVirtualizing(path.c_str(), &callbacks, &provider, nullptr, nullptr), E_INVALIDARG);
    PRJ_CALLBACKS missing = callbacks;
    missing.GetFileDataCallback = nullptr;
    EXPECT_EQ(PrjStartVirtualizing(path.c_str(), &missing, &provider, nullptr, &context), E_INVALIDARG);
    EXPECT_FALSE(isMounted(root.path()));
}

TEST_F(ProjfsTest, StartVirtualizingStateErrors)
{
    PRJ_CALLBACKS callbacks = provider.callbacks();
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context = nullptr;

    const std::string unmarked = root.scratch() + "/unmarked";
    ASSERT_EQ(mkdir(unmarked.c_str(), 0755), 0);
    EXPECT_EQ(PrjStartVirtualizing(wide(unmarked).c_str(), &callbacks, &provider, nullptr, &context),
              HRESULT_FROM_WIN32(ERROR_REPARSE_TAG_MISMATCH));

    start();
    EXPECT_EQ(PrjStartVirtualizing(root.widePath().c_str(), &callbacks, &provider, nullptr, &context),
              HRESULT_FROM_WIN32(ERROR_ALREADY_INITIALIZED));

    // A root containing the running one.
    const GUID id = someGuid();
    HRESULT mark = PrjMarkDirectoryAsPlaceholder(wide(root.scratch()).c_str(), nullptr, nullptr, &id);
    EXPECT_TRUE(mark == S_OK || mark == HRESULT_FROM_WIN32(ERROR_REPARSE_POINT_ENCOUNTERED)) << std::hex << mark;
    EXPECT_EQ(PrjStartVirtualizing(wide(root.scratch()).c_str(), &callbacks, &second, nullptr, &context),
              HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_INVALID_OPERATION));

    // A root inside the running one.
    ASSERT_EQ(mkdir(root.path("inner").c_str(), 0755), 0) << strerror(errno);
    // Marking it may be refused (it is inside a running root); either way starting there is the
    // nesting error, not "not a root".
    PrjMarkDirectoryAsPlaceholder(root.widePath("inner").c_str(), nullptr, nullptr, &id);
    EXPECT_EQ(PrjStartVirtualizing(root.widePath("inner").c_str(), &callbacks, &second, nullptr, &context),
              HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_INVALID_OPERATION));
    EXPECT_TRUE(isMounted(root.path())) << "the failed starts leave the running root alone";
}

TEST_F(ProjfsTest, MarkDirectoryAsPlaceholderErrors)
{
    const GUID id = someGuid();
    const std::string dir = root.scratch() + "/fresh";
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
    EXPECT_EQ(PrjMarkDirectoryAsPlaceholder(wide(dir).c_str(), nullptr, nullptr, &id), S_OK);
    EXPECT_EQ(PrjMarkDirectoryAsPlaceholder(wide(dir).c_str(), nullptr, nullptr, &id),
              HRESULT_FROM_WIN32(ERROR_REPARSE_POINT_ENCOUNTERED));
    ASSERT_EQ(writeFile(root.scratch() + "/file", "f"), 0);
    EXPECT_EQ(PrjMarkDirectoryAsPlaceholder(wide(root.scratch() + "/file").c_str(), nullptr, nullptr, &id),
              HRESULT_FROM_WIN32(ERROR_DIRECTORY));
    EXPECT_EQ(PrjMarkDirectoryAsPlaceholder(nullptr, nullptr, nullptr, &id), E_INVALIDARG);
    EXPECT_EQ(PrjMarkDirectoryAsPlaceholder(wide(dir).c_str(), nullptr, nullptr, nullptr), E_INVALIDARG);
}

TEST_F(ProjfsTest, ApiArgumentErrorsWhileRunning)
{
    start();
    PRJ_PLACEHOLDER_INFO info = {};
    EXPECT_EQ(PrjWritePlaceholderInfo(root.context(), L"x.txt", &info, sizeof(info) - 1),
              HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER));
    EXPECT_EQ(PrjWritePlaceholderInfo(root.context(), L"x.txt", nullptr, sizeof(info)), E_INVALIDARG);
    EXPECT_EQ(PrjWritePlaceholderInfo(root.context(), nullptr, &info, sizeof(info)), E_INVALIDARG);
    EXPECT_TRUE(FAILED(PrjWritePlaceholderInfo(nullptr, L"x.txt", &info, sizeof(info))));

    char data[16] = {};
    const GUID stream = someGuid();
    EXPECT_EQ(PrjWriteFileData(root.context(), &stream, nullptr, 0, 16), E_INVALIDARG);
    EXPECT_EQ(PrjWriteFileData(root.context(), &stream, data, 0, 0), E_INVALIDARG);
    EXPECT_EQ(PrjWriteFileData(root.context(), &stream, data, 0, sizeof(data)),
              HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE))
        << "no such data stream is waiting";
    EXPECT_EQ(PrjWriteFileData(root.context(), nullptr, data, 0, sizeof(data)), E_INVALIDARG);

    PRJ_FILE_STATE state{};
    EXPECT_EQ(PrjGetOnDiskFileState(nullptr, &state), E_INVALIDARG);
    EXPECT_EQ(PrjGetOnDiskFileState(root.widePath().c_str(), nullptr), E_INVALIDARG);
    PRJ_FILE_BASIC_INFO basic = {};
    EXPECT_EQ(PrjFillDirEntryBuffer(L"name", &basic, nullptr), E_INVALIDARG);
    EXPECT_EQ(PrjGetVirtualizationInstanceInfo(root.context(), nullptr), E_INVALIDARG);
    PRJ_VIRTUALIZATION_INSTANCE_INFO instance = {};
    EXPECT_EQ(PrjGetVirtualizationInstanceInfo(root.context(), &instance), S_OK);
    EXPECT_GT(instance.WriteAlignment, 0u);
    PrjFreeAlignedBuffer(nullptr);  // must be harmless
    void* buffer = PrjAllocateAlignedBuffer(root.context(), 4096);
    ASSERT_NE(buffer, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer) % instance.WriteAlignment, 0u);
    PrjFreeAlignedBuffer(buffer);
}

namespace {

// Reads `files` distinct files from `threads` threads at once. The files are made placeholders
// first (one thread), so the parallel part is GetFileData, which the kernel does not serialize
// per directory the way it may serialize lookups.
void readInParallel(TestProvider& provider, const VirtualizationRoot& root, int files, int threads,
                    std::chrono::milliseconds delay)
{
    for (int i = 0; i < files; ++i) {
        struct stat st {};
        ::stat(root.path("f" + std::to_string(i)).c_str(), &st);
    }
    provider.setCallbackDelay(delay);
    std::atomic<int> next{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            for (int i; (i = next++) < files;)
                readFile(root.path("f" + std::to_string(i)));
        });
    }
    for (auto& worker : workers)
        worker.join();
}

}  // namespace

TEST_F(ProjfsTest, ConcurrentThreadCountCapsParallelCallbacks)
{
    for (int i = 0; i < 24; ++i)
        provider.addFile("f" + std::to_string(i), "x");
    PRJ_STARTVIRTUALIZING_OPTIONS options = {};
    options.ConcurrentThreadCount = 2;
    options.PoolThreadCount = 4;
    start(&options);
    readInParallel(provider, root, 24, 8, 40ms);
    EXPECT_EQ(provider.count(Callback::FileData), 24);
    EXPECT_EQ(provider.maxConcurrency(), 2) << "at most 2 at once, and the load did reach 2";
    EXPECT_LE(provider.callbackThreads().size(), 4u) << "PoolThreadCount threads receive requests";
}

TEST_F(ProjfsTest, SingleThreadPool)
{
    for (int i = 0; i < 8; ++i)
        provider.addFile("f" + std::to_string(i), "x");
    PRJ_STARTVIRTUALIZING_OPTIONS options = {};
    options.ConcurrentThreadCount = 1;
    options.PoolThreadCount = 1;
    start(&options);
    readInParallel(provider, root, 8, 4, 20ms);
    EXPECT_EQ(provider.maxConcurrency(), 1);
    EXPECT_EQ(provider.callbackThreads().size(), 1u);
}
