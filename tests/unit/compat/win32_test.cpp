// libhostcompute-win32: the functions <windows.h> declares, called as a Windows program calls them.
#include <gtest/gtest.h>
#include <objbase.h>
#include <projectedfslib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <windows.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

TEST(Win32Guid, CoCreateGuidMakesDistinctVersion4Guids)
{
    GUID a = GUID_NULL;
    GUID b = GUID_NULL;
    ASSERT_EQ(CoCreateGuid(&a), S_OK);
    ASSERT_EQ(CoCreateGuid(&b), S_OK);
    EXPECT_NE(a, b);
    EXPECT_FALSE(IsEqualGUID(a, GUID_NULL));
    EXPECT_EQ(a.Data3 >> 12, 4);         // version 4
    EXPECT_EQ(a.Data4[0] & 0xC0, 0x80);  // RFC 4122 variant
    EXPECT_EQ(CoCreateGuid(nullptr), E_POINTER);
}

TEST(Win32Guid, StringFromGuid2WritesTheRegistryFormat)
{
    const GUID guid = {0x0123ABCD, 0x4567, 0x89EF, {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}};
    WCHAR text[39];
    ASSERT_EQ(StringFromGUID2(&guid, text, ARRAYSIZE(text)), 39);
    EXPECT_STREQ(text, L"{0123ABCD-4567-89EF-0123-456789ABCDEF}");
    EXPECT_EQ(StringFromGUID2(&guid, text, 38), 0);  // no room for the NUL
    EXPECT_EQ(StringFromGUID2(nullptr, text, 39), 0);
    EXPECT_EQ(StringFromGUID2(&guid, nullptr, 39), 0);
}

TEST(Win32LastError, IsPerThread)
{
    SetLastError(ERROR_ACCESS_DENIED);
    DWORD other = 1;
    std::thread([&other] {
        other = GetLastError();
        SetLastError(ERROR_FILE_NOT_FOUND);
    }).join();
    EXPECT_EQ(other, static_cast<DWORD>(ERROR_SUCCESS));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
}

TEST(Win32Handles, BadHandlesFailWithInvalidHandle)
{
    int local = 0;
    for (HANDLE bad : {static_cast<HANDLE>(nullptr), INVALID_HANDLE_VALUE, static_cast<HANDLE>(&local)}) {
        SetLastError(ERROR_SUCCESS);
        EXPECT_FALSE(CloseHandle(bad));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        EXPECT_EQ(WaitForSingleObject(bad, 0), WAIT_FAILED);
        EXPECT_FALSE(SetEvent(bad));
        EXPECT_FALSE(ResetEvent(bad));
    }
    HANDLE event = CreateEvent(nullptr, TRUE, FALSE, nullptr);
    ASSERT_NE(event, nullptr);
    EXPECT_TRUE(CloseHandle(event));
    EXPECT_FALSE(CloseHandle(event));  // closed twice
    EXPECT_FALSE(SetEvent(event));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
}

TEST(Win32Events, ManualResetStaysSignalledAutoResetReleasesOneWaiter)
{
    HANDLE manual = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    ASSERT_NE(manual, nullptr);
    EXPECT_EQ(WaitForSingleObject(manual, 0), static_cast<DWORD>(WAIT_TIMEOUT));
    EXPECT_TRUE(SetEvent(manual));
    EXPECT_EQ(WaitForSingleObject(manual, 0), static_cast<DWORD>(WAIT_OBJECT_0));
    EXPECT_EQ(WaitForSingleObject(manual, INFINITE), static_cast<DWORD>(WAIT_OBJECT_0));
    EXPECT_TRUE(ResetEvent(manual));
    EXPECT_EQ(WaitForSingleObject(manual, 10), static_cast<DWORD>(WAIT_TIMEOUT));
    EXPECT_TRUE(CloseHandle(manual));

    HANDLE automatic = CreateEventW(nullptr, FALSE, TRUE, nullptr);
    ASSERT_NE(automatic, nullptr);
    EXPECT_EQ(WaitForSingleObject(automatic, 0), static_cast<DWORD>(WAIT_OBJECT_0));
    EXPECT_EQ(WaitForSingleObject(automatic, 0), static_cast<DWORD>(WAIT_TIMEOUT));  // consumed

    // Two waiters, one SetEvent: exactly one is released; the second SetEvent releases the other.
    std::atomic<int> released{0};
    std::vector<std::thread> waiters;
    for (int i = 0; i < 2; ++i) {
        waiters.emplace_back([&] {
            if (WaitForSingleObject(automatic, 10'000) == WAIT_OBJECT_0) {
                ++released;
            }
        });
    }
    SetEvent(automatic);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (released.load() == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
    }
    EXPECT_EQ(released.load(), 1);
    SetEvent(automatic);
    for (auto& waiter : waiters) {
        waiter.join();
    }
    EXPECT_EQ(released.load(), 2);
    EXPECT_TRUE(CloseHandle(automatic));
}

TEST(Win32Events, NamedEventsAreNotSupported)
{
    EXPECT_EQ(CreateEventW(nullptr, TRUE, FALSE, L"Global\\name"), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_SUPPORTED));
}

DWORD WINAPI waitThenReturn(LPVOID parameter)
{
    WaitForSingleObject(static_cast<HANDLE>(parameter), INFINITE);
    return 42;
}

TEST(Win32Threads, HandleIsSignalledWithTheExitCodeWhenTheFunctionReturns)
{
    HANDLE go = CreateEvent(nullptr, TRUE, FALSE, nullptr);
    DWORD id = 0;
    HANDLE thread = CreateThread(nullptr, 0, waitThenReturn, go, 0, &id);
    ASSERT_NE(thread, nullptr);
    EXPECT_NE(id, 0u);
    EXPECT_NE(id, GetCurrentThreadId());
    DWORD code = 0;
    ASSERT_TRUE(GetExitCodeThread(thread, &code));
    EXPECT_EQ(code, static_cast<DWORD>(STILL_ACTIVE));
    EXPECT_EQ(WaitForSingleObject(thread, 10), static_cast<DWORD>(WAIT_TIMEOUT));
    SetEvent(go);
    EXPECT_EQ(WaitForSingleObject(thread, 10'000), static_cast<DWORD>(WAIT_OBJECT_0));
    ASSERT_TRUE(GetExitCodeThread(thread, &code));
    EXPECT_EQ(code, 42u);
    EXPECT_FALSE(GetExitCodeThread(thread, nullptr));
    EXPECT_TRUE(CloseHandle(thread));
    EXPECT_TRUE(CloseHandle(go));

    EXPECT_EQ(CreateThread(nullptr, 0, nullptr, nullptr, 0, nullptr), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(CreateThread(nullptr, 0, waitThenReturn, nullptr, CREATE_SUSPENDED, nullptr), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_SUPPORTED));
}

TEST(Win32Threads, ClosingTheHandleEarlyLeavesTheThreadRunning)
{
    HANDLE go = CreateEvent(nullptr, TRUE, FALSE, nullptr);
    HANDLE done = CreateEvent(nullptr, TRUE, FALSE, nullptr);
    struct Pair {
        HANDLE go, done;
    } pair{go, done};
    HANDLE thread = CreateThread(
        nullptr, 0,
        [](LPVOID p) -> DWORD {
            auto* pair = static_cast<Pair*>(p);
            WaitForSingleObject(pair->go, INFINITE);
            SetEvent(pair->done);
            return 0;
        },
        &pair, 0, nullptr);
    ASSERT_NE(thread, nullptr);
    EXPECT_TRUE(CloseHandle(thread));
    SetEvent(go);
    EXPECT_EQ(WaitForSingleObject(done, 10'000), static_cast<DWORD>(WAIT_OBJECT_0));
    CloseHandle(go);
    CloseHandle(done);
}

TEST(Win32Time, SleepAndTickCount)
{
    ULONGLONG before = GetTickCount64();
    Sleep(20);
    EXPECT_GE(GetTickCount64() - before, 20u);
    EXPECT_EQ(GetCurrentProcessId(), static_cast<DWORD>(::getpid()));
}

std::wstring tempDirectory()
{
    char pattern[] = "/tmp/hc-win32-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    EXPECT_NE(made, nullptr);
    return std::wstring(made, made + std::strlen(made));
}

TEST(Win32Files, WindowsPathsCreateReadWriteAndDelete)
{
    std::wstring root = tempDirectory();
    std::wstring dir = root + L"\\sub";  // '\' is a separator, as on Windows
    ASSERT_TRUE(CreateDirectory(dir.c_str(), nullptr));
    EXPECT_FALSE(CreateDirectoryW(dir.c_str(), nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ALREADY_EXISTS));

    std::wstring file = dir + L"\\data.bin";
    HANDLE out = CreateFile2(file.c_str(), GENERIC_WRITE, FILE_SHARE_READ, CREATE_NEW, nullptr);
    ASSERT_NE(out, INVALID_HANDLE_VALUE);
    const char payload[] = "hello, win32";
    DWORD written = 0;
    ASSERT_TRUE(WriteFile(out, payload, sizeof payload, &written, nullptr));
    EXPECT_EQ(written, sizeof payload);
    EXPECT_TRUE(CloseHandle(out));

    EXPECT_EQ(CreateFile2(file.c_str(), GENERIC_WRITE, 0, CREATE_NEW, nullptr), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_EXISTS));

    HANDLE in = CreateFileW(file.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL,
                            nullptr);
    ASSERT_NE(in, INVALID_HANDLE_VALUE);
    char buffer[64] = {};
    DWORD read = 0;
    ASSERT_TRUE(ReadFile(in, buffer, sizeof buffer, &read, nullptr));  // short read at end of file
    EXPECT_EQ(read, sizeof payload);
    EXPECT_STREQ(buffer, payload);
    EXPECT_FALSE(ReadFile(in, nullptr, 4, &read, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(WaitForSingleObject(in, 0), static_cast<DWORD>(WAIT_OBJECT_0));
    EXPECT_TRUE(CloseHandle(in));
    EXPECT_FALSE(ReadFile(in, buffer, 1, &read, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));

    EXPECT_EQ(CreateFile2((dir + L"\\missing").c_str(), GENERIC_READ, 0, OPEN_EXISTING, nullptr), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));
    EXPECT_EQ(CreateFile2(nullptr, GENERIC_READ, 0, OPEN_EXISTING, nullptr), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(CreateFile2(file.c_str(), GENERIC_READ, 0, 99, nullptr), INVALID_HANDLE_VALUE);

    EXPECT_FALSE(RemoveDirectory(dir.c_str()));  // not empty
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_DIR_NOT_EMPTY));
    EXPECT_FALSE(DeleteFile(dir.c_str()));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    EXPECT_TRUE(DeleteFile(file.c_str()));
    EXPECT_TRUE(RemoveDirectory(dir.c_str()));
    EXPECT_TRUE(RemoveDirectory(root.c_str()));
}

TEST(Win32CrtStrings, WcsncpySFollowsTheMsvcRules)
{
    wchar_t dest[4];
    EXPECT_EQ(wcsncpy_s(dest, ARRAYSIZE(dest), L"abc", 3), 0);
    EXPECT_STREQ(dest, L"abc");
    EXPECT_EQ(wcsncpy_s(dest, ARRAYSIZE(dest), L"abcdef", 2), 0);
    EXPECT_STREQ(dest, L"ab");
    EXPECT_EQ(wcsncpy_s(dest, ARRAYSIZE(dest), L"abcd", 4), ERANGE);
    EXPECT_STREQ(dest, L"");
    EXPECT_EQ(wcsncpy_s(dest, ARRAYSIZE(dest), L"abcdef", _TRUNCATE), STRUNCATE);
    EXPECT_STREQ(dest, L"abc");
    EXPECT_EQ(wcsncpy_s(nullptr, 4, L"a", 1), EINVAL);
    EXPECT_EQ(wcsncpy_s(dest, 0, L"a", 1), EINVAL);
    EXPECT_EQ(wcsncpy_s(dest, ARRAYSIZE(dest), nullptr, 1), EINVAL);
    EXPECT_EQ(wcscpy_s(dest, ARRAYSIZE(dest), L"xyz"), 0);
    EXPECT_STREQ(dest, L"xyz");
    EXPECT_EQ(wcscpy_s(dest, ARRAYSIZE(dest), L"wxyz"), ERANGE);
}

// DEFINE_ENUM_FLAG_OPERATORS is reachable from <projectedfslib.h> alone (through hostcompute/win.h).
enum Methods { None = 0, Notify = 1, Query = 2 };
DEFINE_ENUM_FLAG_OPERATORS(Methods)

TEST(Win32Macros, TextArraySizeAndFlagOperatorsFromProjectedFsLib)
{
    TCHAR text[] = TEXT("abc");
    static_assert(sizeof(TCHAR) == sizeof(wchar_t), "TCHAR is WCHAR");
    EXPECT_EQ(ARRAYSIZE(text), 4u);
    EXPECT_STREQ(_T("x"), L"x");
    Methods m = None;
    m |= Notify;
    EXPECT_EQ(m & Notify, Notify);
    EXPECT_EQ(m & Query, None);
}
}  // namespace

// wmain: libhostcompute-win32-wmain decodes UTF-8 arguments and calls the program's wmain.
TEST(Win32Wmain, ArgumentsArriveAsWideStrings)
{
    std::string command = std::string(HC_WMAIN_PROBE) + " plain 'h\xC3\xA9llo' '\xF0\x9F\x98\x80' 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string out;
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
        out += buffer;
    }
    int status = ::pclose(pipe);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 4);  // wmain returned argc
    EXPECT_EQ(out, "1:5: 70 6C 61 69 6E\n2:5: 68 E9 6C 6C 6F\n3:1: 1F600\n");

    std::string invalid = std::string(HC_WMAIN_PROBE) + " $'\\xff' 2>&1";
    status = std::system(("bash -c \"" + invalid + "\" >/dev/null").c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 127);  // not UTF-8: refused with a message, wmain not called
}
