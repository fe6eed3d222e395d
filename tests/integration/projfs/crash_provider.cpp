// crash_provider ROOT serve|stall — a provider process for crash tests (mirror_test.cpp kills it).
// Projects one file, "file.bin" (kFileSize bytes of a fixed pattern, last written at kFileTime), through
// the public C API only. `serve` answers GetFileData in full; `stall` writes the first half of the file,
// prints "half written" and never completes, so a test can SIGKILL the process in the middle of a
// hydration. Prints "ready" once the root is live; stops on SIGTERM.
#include <projectedfslib.h>

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr uint64_t kFileSize = 1 << 20;
constexpr int64_t kFileTime = 1000000000;  // 2001-09-09T01:46:40Z, in seconds since 1970
constexpr const wchar_t* kFileName = L"file.bin";

bool g_stall = false;
std::mutex g_mutex;
std::vector<GUID> g_listed;  // enumerations that returned the file already

bool isListed(const GUID& id)
{
    for (const GUID& listed : g_listed)
        if (std::memcmp(&listed, &id, sizeof id) == 0) return true;
    return false;
}

LARGE_INTEGER fileTime()
{
    LARGE_INTEGER t;
    t.QuadPart = (kFileTime + 11644473600LL) * 10000000LL;  // FILETIME: 100 ns since 1601
    return t;
}

PRJ_FILE_BASIC_INFO basicInfo()
{
    PRJ_FILE_BASIC_INFO info = {};
    info.FileSize = static_cast<INT64>(kFileSize);
    info.CreationTime = info.LastAccessTime = info.LastWriteTime = info.ChangeTime = fileTime();
    info.FileAttributes = FILE_ATTRIBUTE_NORMAL;
    return info;
}

HRESULT onStartEnum(const PRJ_CALLBACK_DATA*, const GUID*)
{
    return S_OK;
}

HRESULT onEndEnum(const PRJ_CALLBACK_DATA*, const GUID* id)
{
    std::lock_guard lock(g_mutex);
    std::erase_if(g_listed, [id](const GUID& listed) { return std::memcmp(&listed, id, sizeof *id) == 0; });
    return S_OK;
}

HRESULT onGetEnum(const PRJ_CALLBACK_DATA* data, const GUID* id, PCWSTR, PRJ_DIR_ENTRY_BUFFER_HANDLE buffer)
{
    if (data->FilePathName[0] != L'\0') return S_OK;
    std::lock_guard lock(g_mutex);
    if ((data->Flags & PRJ_CB_DATA_FLAG_ENUM_RESTART_SCAN) != 0) {
        std::erase_if(g_listed, [id](const GUID& listed) { return std::memcmp(&listed, id, sizeof *id) == 0; });
    }
    if (isListed(*id)) return S_OK;
    PRJ_FILE_BASIC_INFO info = basicInfo();
    HRESULT hr = PrjFillDirEntryBuffer(kFileName, &info, buffer);
    if (SUCCEEDED(hr)) g_listed.push_back(*id);
    return hr;
}

HRESULT onGetPlaceholderInfo(const PRJ_CALLBACK_DATA* data)
{
    if (PrjFileNameCompare(data->FilePathName, kFileName) != 0) return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
    PRJ_PLACEHOLDER_INFO info = {};
    info.FileBasicInfo = basicInfo();
    return PrjWritePlaceholderInfo(data->NamespaceVirtualizationContext, kFileName, &info, sizeof info);
}

HRESULT onGetFileData(const PRJ_CALLBACK_DATA* data, UINT64 offset, UINT32 length)
{
    std::vector<char> content(length);
    for (UINT32 i = 0; i < length; ++i)
        content[i] = static_cast<char>('a' + (offset + i) % 23);
    UINT32 now = g_stall ? length / 2 : length;
    HRESULT hr =
        PrjWriteFileData(data->NamespaceVirtualizationContext, &data->DataStreamId, content.data(), offset, now);
    if (FAILED(hr) || !g_stall) return hr;
    std::printf("half written\n");
    std::fflush(stdout);
    for (;;)
        std::this_thread::sleep_for(std::chrono::seconds(1));  // until the test kills the process
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 3 || (std::strcmp(argv[2], "serve") != 0 && std::strcmp(argv[2], "stall") != 0)) {
        std::fprintf(stderr, "usage: crash_provider ROOT serve|stall\n");
        return 2;
    }
    g_stall = std::strcmp(argv[2], "stall") == 0;
    std::wstring root(argv[1], argv[1] + std::strlen(argv[1]));
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    GUID id = {0x12345678, 0x1234, 0x1234, {1, 2, 3, 4, 5, 6, 7, 8}};
    HRESULT hr = PrjMarkDirectoryAsPlaceholder(root.c_str(), nullptr, nullptr, &id);
    if (FAILED(hr) && hr != HRESULT_FROM_WIN32(ERROR_REPARSE_POINT_ENCOUNTERED)) {
        std::fprintf(stderr, "crash_provider: PrjMarkDirectoryAsPlaceholder failed: 0x%08X\n",
                     static_cast<unsigned>(hr));
        return 1;
    }
    PRJ_CALLBACKS callbacks = {};
    callbacks.StartDirectoryEnumerationCallback = onStartEnum;
    callbacks.EndDirectoryEnumerationCallback = onEndEnum;
    callbacks.GetDirectoryEnumerationCallback = onGetEnum;
    callbacks.GetPlaceholderInfoCallback = onGetPlaceholderInfo;
    callbacks.GetFileDataCallback = onGetFileData;
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context = nullptr;
    hr = PrjStartVirtualizing(root.c_str(), &callbacks, nullptr, nullptr, &context);
    if (FAILED(hr)) {
        std::fprintf(stderr, "crash_provider: PrjStartVirtualizing failed: 0x%08X\n", static_cast<unsigned>(hr));
        return 1;
    }
    std::printf("ready\n");
    std::fflush(stdout);
    int signal = 0;
    sigwait(&stop, &signal);
    PrjStopVirtualizing(context);
    return 0;
}
