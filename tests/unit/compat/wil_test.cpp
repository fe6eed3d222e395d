// wil/result.h and wil/resource.h: the error macros throw, return and log the HRESULT they were given; the
// RAII types close exactly once.
#include <gtest/gtest.h>
#include <wil/resource.h>
#include <wil/result.h>

#include <string>

namespace {

int g_closed = 0;
void closeCounted(int* p)
{
    ++g_closed;
    delete p;
}
using unique_counted = wil::unique_any<int*, decltype(&closeCounted), closeCounted>;

TEST(WilResult, ThrowIfFailedThrowsResultExceptionWithTheHresult)
{
    EXPECT_EQ(THROW_IF_FAILED(S_FALSE), S_FALSE);  // success passes through
    try {
        THROW_IF_FAILED(E_ACCESSDENIED);
        FAIL() << "no exception";
    } catch (const wil::ResultException& e) {
        EXPECT_EQ(e.GetErrorCode(), E_ACCESSDENIED);
        EXPECT_NE(std::string(e.what()).find("0x80070005"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("E_ACCESSDENIED"), std::string::npos) << e.what();
    }
}

TEST(WilResult, MessagesAcceptTheWindowsWideStringConversion)
{
    const wchar_t* doc = L"{\"Error\":1}";
    try {
        THROW_IF_FAILED_MSG(HCS_E_INVALID_JSON, "ResultDoc: %ws (%d)", doc, 7);
        FAIL() << "no exception";
    } catch (const wil::ResultException& e) {
        EXPECT_EQ(e.GetErrorCode(), HCS_E_INVALID_JSON);
        EXPECT_NE(std::string(e.what()).find("ResultDoc: {\"Error\":1} (7)"), std::string::npos) << e.what();
    }
    EXPECT_EQ(wil::details::FormatMessageText("%5.2ws|%%|%ls|%wc", L"abc", L"x", L'y'), "   ab|%|x|y");
}

TEST(WilResult, ThrowHrIfAndLastError)
{
    EXPECT_NO_THROW(THROW_HR_IF(E_FAIL, false));
    EXPECT_THROW(THROW_HR_IF(E_UNEXPECTED, 1 + 1 == 2), wil::ResultException);
    SetLastError(ERROR_FILE_NOT_FOUND);
    try {
        THROW_LAST_ERROR_IF(true);
    } catch (const wil::ResultException& e) {
        EXPECT_EQ(e.GetErrorCode(), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    }
}

HRESULT returnsThroughMacros(HRESULT first, bool* reachedEnd)
{
    RETURN_IF_FAILED(first);
    RETURN_HR_IF(E_INVALIDARG, first == S_FALSE);
    *reachedEnd = true;
    return S_OK;
}

HRESULT catchesIntoHresult(int which)
{
    try {
        if (which == 0) {
            THROW_HR(E_HANDLE);
        }
        if (which == 1) {
            throw std::bad_alloc();
        }
        throw 5;
    }
    CATCH_RETURN();
}

TEST(WilResult, ReturnLogAndCatchMacros)
{
    bool reachedEnd = false;
    EXPECT_EQ(returnsThroughMacros(E_POINTER, &reachedEnd), E_POINTER);
    EXPECT_FALSE(reachedEnd);
    EXPECT_EQ(returnsThroughMacros(S_FALSE, &reachedEnd), E_INVALIDARG);
    EXPECT_EQ(returnsThroughMacros(S_OK, &reachedEnd), S_OK);
    EXPECT_TRUE(reachedEnd);

    testing::internal::CaptureStderr();
    EXPECT_EQ(LOG_IF_FAILED(E_ABORT), E_ABORT);
    EXPECT_EQ(LOG_IF_FAILED(S_OK), S_OK);
    std::string logged = testing::internal::GetCapturedStderr();
    EXPECT_NE(logged.find("0x80004004 E_ABORT"), std::string::npos) << logged;
    EXPECT_EQ(logged.find("S_OK"), std::string::npos) << logged;

    EXPECT_EQ(catchesIntoHresult(0), E_HANDLE);
    EXPECT_EQ(catchesIntoHresult(1), E_OUTOFMEMORY);
    EXPECT_EQ(catchesIntoHresult(2), HRESULT_FROM_WIN32(ERROR_UNHANDLED_EXCEPTION));
}

TEST(WilResultDeathTest, FailFastAborts)
{
    EXPECT_DEATH(FAIL_FAST_IF_FAILED(E_FAIL), "FAIL_FAST");
}

TEST(WilResource, UniqueAnyClosesExactlyOnce)
{
    g_closed = 0;
    {
        unique_counted a(new int(1));
        EXPECT_TRUE(a);
        unique_counted b(std::move(a));
        EXPECT_FALSE(a);
        EXPECT_TRUE(b.is_valid());
        int** slot = &b;  // operator&: closes what b held, gives the slot for an out-parameter
        EXPECT_EQ(g_closed, 1);
        *slot = new int(2);
        EXPECT_EQ(*b.get(), 2);
        int* released = b.release();
        EXPECT_FALSE(b);
        b.reset(released);
        b.reset();
        EXPECT_EQ(g_closed, 2);
        b.reset(new int(3));
    }
    EXPECT_EQ(g_closed, 3);
}

TEST(WilResource, StringsFileHandlesAndEvents)
{
    wil::unique_cotaskmem_string text(static_cast<PWSTR>(CoTaskMemAlloc(4 * sizeof(WCHAR))));
    ASSERT_TRUE(text);
    wcscpy_s(text.get(), 4, L"abc");
    wil::unique_hlocal_string local;
    EXPECT_FALSE(local);

    wil::unique_hfile file;
    EXPECT_EQ(file.get(), INVALID_HANDLE_VALUE);
    EXPECT_FALSE(file);

    wil::unique_event event;
    event.create(wil::EventOptions::ManualReset);
    EXPECT_FALSE(event.is_signaled());
    event.SetEvent();
    EXPECT_TRUE(event.wait(0));
    EXPECT_TRUE(event.wait());
    event.ResetEvent();
    EXPECT_FALSE(event.wait(10));
    HANDLE first = event.get();
    event.create();  // a new auto-reset event replaces (and closes) the first
    EXPECT_NE(event.get(), first);
    EXPECT_FALSE(CloseHandle(first));
    EXPECT_THROW(event.create(wil::EventOptions::None, L"named"), wil::ResultException);
}

TEST(WilResource, HcsHandleTypes)
{
    wil::unique_hcs_operation operation(HcsCreateOperation(nullptr, nullptr));
    EXPECT_TRUE(operation);
    wil::unique_hcs_system system;
    wil::unique_hcs_process process;
    EXPECT_FALSE(system);
    EXPECT_FALSE(process);
}

}  // namespace
