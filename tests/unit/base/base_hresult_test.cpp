// errno <-> HRESULT: the one mapping table, round trips, unknown values, names.
#include "base/hresult.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <climits>

namespace {

using hc::errnoFromHresult;
using hc::hresultFromErrno;

TEST(HresultFromErrno, SuccessAndSign)
{
    EXPECT_EQ(hresultFromErrno(0), S_OK);
    EXPECT_EQ(hresultFromErrno(ENOENT), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    EXPECT_EQ(hresultFromErrno(-ENOENT), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));  // -errno as libfuse uses
}

TEST(HresultFromErrno, UnknownIsAFailureNeverSuccess)
{
    for (int err : {4095, 12345, 999999}) {
        const HRESULT hr = hresultFromErrno(err);
        EXPECT_TRUE(FAILED(hr)) << err;
        EXPECT_EQ(hr, HRESULT_FROM_WIN32(ERROR_INTERNAL_ERROR)) << err;
    }
}

TEST(ErrnoFromHresult, SuccessAndUnknown)
{
    EXPECT_EQ(errnoFromHresult(S_OK), 0);
    EXPECT_EQ(errnoFromHresult(S_FALSE), 0);
    EXPECT_EQ(errnoFromHresult(static_cast<HRESULT>(0x80001234)), EIO);
    EXPECT_EQ(errnoFromHresult(E_UNEXPECTED), EIO);
}

// errnos that survive errno -> HRESULT -> errno unchanged.
TEST(ErrnoHresult, RoundTrips)
{
    for (int err :
         {ENOENT, EACCES,  EBADF, ENOMEM,  EINVAL,       EEXIST, ENOTEMPTY,    ENOTDIR,   EISDIR,    ENOSPC,
          EMFILE, EXDEV,   EROFS, EBUSY,   ENAMETOOLONG, ELOOP,  ENOTSUP,      ENOSYS,    ETIMEDOUT, ECANCELED,
          EAGAIN, ENOBUFS, EPIPE, ENODATA, EIO,          ENXIO,  ECONNREFUSED, ECONNRESET}) {
        const HRESULT hr = hresultFromErrno(err);
        EXPECT_TRUE(FAILED(hr)) << err;
        EXPECT_EQ(errnoFromHresult(hr), err) << "errno " << err << " -> " << hc::hresultName(hr);
    }
}

// errnos that share an HRESULT with a preferred errno come back as that one.
TEST(ErrnoHresult, ManyToOneMappingsComeBackAsThePreferredErrno)
{
    EXPECT_EQ(errnoFromHresult(hresultFromErrno(EPERM)), EACCES);
    EXPECT_EQ(errnoFromHresult(hresultFromErrno(ENFILE)), EMFILE);
    EXPECT_EQ(errnoFromHresult(hresultFromErrno(EINTR)), ECANCELED);
    EXPECT_EQ(errnoFromHresult(hresultFromErrno(ERANGE)), ENOBUFS);
}

TEST(ErrnoHresult, ProjFsAndHcsValues)
{
    EXPECT_EQ(hresultFromErrno(ENOENT), static_cast<HRESULT>(0x80070002));
    EXPECT_EQ(hresultFromErrno(EACCES), static_cast<HRESULT>(0x80070005));
    EXPECT_EQ(hresultFromErrno(EINVAL), E_INVALIDARG);
    EXPECT_EQ(hresultFromErrno(ENOMEM), E_OUTOFMEMORY);
    EXPECT_EQ(hresultFromErrno(ENOTEMPTY), static_cast<HRESULT>(0x80070091));
    EXPECT_EQ(hresultFromErrno(ENOTDIR), static_cast<HRESULT>(0x8007010B));
    EXPECT_EQ(hresultFromErrno(ENXIO), static_cast<HRESULT>(0x80070171));
    EXPECT_EQ(errnoFromHresult(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND)), ENOENT);
    EXPECT_EQ(errnoFromHresult(HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER)), ENOBUFS);
    EXPECT_EQ(errnoFromHresult(HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_INVALID_OPERATION)), EOPNOTSUPP);
    EXPECT_EQ(errnoFromHresult(HCS_E_CONNECT_FAILED), ECONNREFUSED);
    EXPECT_EQ(errnoFromHresult(E_FAIL), EIO);
}

// For every HRESULT the table knows, the errno it maps to is stable: going through errno and back
// to an HRESULT may pick a different spelling, but never a different errno.
TEST(ErrnoHresult, ErrnoOfEveryKnownHresultIsStable)
{
    const HRESULT known[] = {
        E_ACCESSDENIED,
        E_HANDLE,
        E_OUTOFMEMORY,
        E_INVALIDARG,
        E_NOTIMPL,
        E_FAIL,
        HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND),
        HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND),
        HRESULT_FROM_WIN32(ERROR_NOT_ENOUGH_MEMORY),
        HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS),
        HRESULT_FROM_WIN32(ERROR_FILE_EXISTS),
        HRESULT_FROM_WIN32(ERROR_DIR_NOT_EMPTY),
        HRESULT_FROM_WIN32(ERROR_DIRECTORY),
        HRESULT_FROM_WIN32(ERROR_DISK_FULL),
        HRESULT_FROM_WIN32(ERROR_TOO_MANY_OPEN_FILES),
        HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED),
        HRESULT_FROM_WIN32(ERROR_TIMEOUT),
        HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED),
        HRESULT_FROM_WIN32(ERROR_CANCELLED),
        HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER),
        HRESULT_FROM_WIN32(ERROR_IO_DEVICE),
        HRESULT_FROM_WIN32(ERROR_INTERNAL_ERROR),
        HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_UNAVAILABLE),
        HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_BUSY),
        HCS_E_CONNECT_FAILED,
        HCS_E_CONNECTION_CLOSED,
    };
    for (HRESULT hr : known) {
        const int err = errnoFromHresult(hr);
        EXPECT_NE(err, 0) << hc::hresultName(hr);
        EXPECT_EQ(errnoFromHresult(hresultFromErrno(err)), err) << hc::hresultName(hr);
    }
}

TEST(HresultName, NamesAndHex)
{
    EXPECT_EQ(hc::hresultName(S_OK), "S_OK");
    EXPECT_EQ(hc::hresultName(E_INVALIDARG), "E_INVALIDARG");
    EXPECT_EQ(hc::hresultName(HRESULT_FROM_WIN32(ERROR_IO_PENDING)), "ERROR_IO_PENDING");
    EXPECT_EQ(hc::hresultName(HCS_E_INVALID_STATE), "HCS_E_INVALID_STATE");
    EXPECT_EQ(hc::hresultName(HRESULT_FROM_NT(STATUS_CANNOT_DELETE)), "HRESULT_FROM_NT(STATUS_CANNOT_DELETE)");
    EXPECT_EQ(hc::hresultName(static_cast<HRESULT>(0x80071234)), "0x80071234");
    EXPECT_EQ(hc::hresultHex(E_INVALIDARG), "0x80070057");
    EXPECT_EQ(hc::hresultHex(S_OK), "0x00000000");
    EXPECT_EQ(hc::hresultHex(HRESULT_FROM_WIN32(ERROR_IO_PENDING)), "0x800703E5");
    EXPECT_EQ(HRESULT_FROM_NT(STATUS_CANNOT_DELETE), static_cast<HRESULT>(0xD0000121));
}

}  // namespace

TEST(HresultMacros, IsErrorOnNegativeHresults)
{
    EXPECT_TRUE(IS_ERROR(E_FAIL));
    EXPECT_TRUE(IS_ERROR(HCS_E_INVALID_STATE));
    EXPECT_FALSE(IS_ERROR(S_OK));
    EXPECT_FALSE(IS_ERROR(S_FALSE));
    EXPECT_NE(hc::hresultFromErrno(INT_MIN), S_OK);
}
