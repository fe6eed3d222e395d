// Files and directories by Windows path (either separator) on top of POSIX descriptors.
#include <compat/windows.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

#include "base/strings.h"
#include "compat/handles.h"

namespace hc::win32 {
namespace {

class File : public HandleObject {
public:
    explicit File(int fd) : fd_(fd) {}
    ~File() override { ::close(fd_); }
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    int fd() const { return fd_; }
    bool wait(DWORD) override { return true; }  // a file handle is always signalled (no overlapped I/O)

private:
    const int fd_;
};

// The UTF-8 path for a Windows path argument, '\' turned into '/'. False (with the last error set) when it is
// NULL, empty or not convertible.
bool linuxPath(LPCWSTR path, std::string& out)
{
    if (path == nullptr || path[0] == L'\0') {
        SetLastError(path == nullptr ? ERROR_INVALID_PARAMETER : ERROR_PATH_NOT_FOUND);
        return false;
    }
    auto utf8 = hc::toUtf8(path);
    if (!utf8) {
        SetLastError(ERROR_INVALID_NAME);
        return false;
    }
    out = std::move(*utf8);
    for (char& c : out) {
        if (c == '\\') {
            c = '/';
        }
    }
    return true;
}

std::shared_ptr<File> lookupFile(HANDLE handle)
{
    auto file = std::dynamic_pointer_cast<File>(lookupHandle(handle));
    if (file == nullptr) {
        SetLastError(ERROR_INVALID_HANDLE);
    }
    return file;
}

HANDLE openFile(LPCWSTR name, DWORD access, DWORD disposition)
{
    std::string path;
    if (!linuxPath(name, path)) {
        return INVALID_HANDLE_VALUE;
    }
    int flags = O_CLOEXEC;
    bool read = (access & (GENERIC_READ | GENERIC_ALL)) != 0;
    bool write = (access & (GENERIC_WRITE | GENERIC_ALL)) != 0;
    flags |= read && write ? O_RDWR : write ? O_WRONLY : O_RDONLY;
    switch (disposition) {
        case CREATE_NEW:
            flags |= O_CREAT | O_EXCL;
            break;
        case CREATE_ALWAYS:
            flags |= O_CREAT | O_TRUNC;
            break;
        case OPEN_EXISTING:
            break;
        case OPEN_ALWAYS:
            flags |= O_CREAT;
            break;
        case TRUNCATE_EXISTING:
            flags |= O_TRUNC;
            break;
        default:
            SetLastError(ERROR_INVALID_PARAMETER);
            return INVALID_HANDLE_VALUE;
    }
    int fd = ::open(path.c_str(), flags, 0666);
    if (fd < 0) {
        int err = errno;
        if (err == EEXIST) {
            SetLastError(ERROR_FILE_EXISTS);
        } else {
            setLastErrorFromErrno(err);
        }
        return INVALID_HANDLE_VALUE;
    }
    SetLastError(ERROR_SUCCESS);
    return registerHandle(std::make_shared<File>(fd));
}

}  // namespace
}  // namespace hc::win32

using namespace hc::win32;

extern "C" {

HOSTCOMPUTE_API HANDLE WINAPI CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                                          LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                                          DWORD dwFlagsAndAttributes, HANDLE hTemplateFile)
{
    (void)dwShareMode;  // Linux has no share modes
    (void)lpSecurityAttributes;
    (void)dwFlagsAndAttributes;
    (void)hTemplateFile;
    return openFile(lpFileName, dwDesiredAccess, dwCreationDisposition);
}

HOSTCOMPUTE_API HANDLE WINAPI CreateFile2(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                                          DWORD dwCreationDisposition,
                                          LPCREATEFILE2_EXTENDED_PARAMETERS pCreateExParams)
{
    (void)dwShareMode;
    (void)pCreateExParams;
    return openFile(lpFileName, dwDesiredAccess, dwCreationDisposition);
}

HOSTCOMPUTE_API BOOL WINAPI ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead,
                                     LPDWORD lpNumberOfBytesRead, LPOVERLAPPED lpOverlapped)
{
    auto file = lookupFile(hFile);
    if (file == nullptr) {
        return FALSE;
    }
    if (lpOverlapped != nullptr || (lpBuffer == nullptr && nNumberOfBytesToRead != 0)) {
        SetLastError(lpOverlapped != nullptr ? ERROR_NOT_SUPPORTED : ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    DWORD done = 0;
    while (done < nNumberOfBytesToRead) {
        ssize_t n = ::read(file->fd(), static_cast<char*>(lpBuffer) + done, nNumberOfBytesToRead - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            setLastErrorFromErrno(errno);
            return FALSE;
        }
        if (n == 0) {
            break;  // end of file: success with fewer bytes, as on Windows
        }
        done += static_cast<DWORD>(n);
    }
    if (lpNumberOfBytesRead != nullptr) {
        *lpNumberOfBytesRead = done;
    }
    return TRUE;
}

HOSTCOMPUTE_API BOOL WINAPI WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite,
                                      LPDWORD lpNumberOfBytesWritten, LPOVERLAPPED lpOverlapped)
{
    auto file = lookupFile(hFile);
    if (file == nullptr) {
        return FALSE;
    }
    if (lpOverlapped != nullptr || (lpBuffer == nullptr && nNumberOfBytesToWrite != 0)) {
        SetLastError(lpOverlapped != nullptr ? ERROR_NOT_SUPPORTED : ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    DWORD done = 0;
    while (done < nNumberOfBytesToWrite) {
        ssize_t n = ::write(file->fd(), static_cast<const char*>(lpBuffer) + done, nNumberOfBytesToWrite - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            setLastErrorFromErrno(errno);
            return FALSE;
        }
        done += static_cast<DWORD>(n);
    }
    if (lpNumberOfBytesWritten != nullptr) {
        *lpNumberOfBytesWritten = done;
    }
    return TRUE;
}

HOSTCOMPUTE_API BOOL WINAPI CreateDirectoryW(LPCWSTR lpPathName, LPSECURITY_ATTRIBUTES lpSecurityAttributes)
{
    (void)lpSecurityAttributes;
    std::string path;
    if (!linuxPath(lpPathName, path)) {
        return FALSE;
    }
    if (::mkdir(path.c_str(), 0777) != 0) {
        int err = errno;
        if (err == EEXIST) {
            SetLastError(ERROR_ALREADY_EXISTS);
        } else {
            setLastErrorFromErrno(err);
        }
        return FALSE;
    }
    return TRUE;
}

HOSTCOMPUTE_API BOOL WINAPI RemoveDirectoryW(LPCWSTR lpPathName)
{
    std::string path;
    if (!linuxPath(lpPathName, path)) {
        return FALSE;
    }
    if (::rmdir(path.c_str()) != 0) {
        setLastErrorFromErrno(errno);
        return FALSE;
    }
    return TRUE;
}

HOSTCOMPUTE_API BOOL WINAPI DeleteFileW(LPCWSTR lpFileName)
{
    std::string path;
    if (!linuxPath(lpFileName, path)) {
        return FALSE;
    }
    if (::unlink(path.c_str()) != 0) {
        int err = errno;
        if (err == EISDIR) {
            SetLastError(ERROR_ACCESS_DENIED);  // what Windows answers for a directory
        } else {
            setLastErrorFromErrno(err);
        }
        return FALSE;
    }
    return TRUE;
}

}  // extern "C"
