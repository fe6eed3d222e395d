#include "hcs/vm/state_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/hresult.h"
#include "hcs/vm/qemu_command.h"

namespace hc::hcs::vm {

namespace {

constexpr char kMigrationMagic[4] = {'Q', 'E', 'V', 'M'};

Error openError(const std::string& path, const char* purpose, int err)
{
    std::string why = std::strerror(err);
    HRESULT hr = hresultFromErrno(err);
    if (err == ENOENT) {
        hr = HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
    } else if (err == ELOOP) {
        hr = HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED);
        why = "it is a symbolic link (state files are never opened through one)";
    } else if (err == EISDIR) {
        hr = E_INVALIDARG;
        why = "it is a directory";
    } else if (err == ENXIO) {  // a FIFO nobody reads, or a socket
        hr = E_INVALIDARG;
        why = "it is not a regular file";
    } else if (err == EEXIST) {
        hr = HRESULT_FROM_WIN32(ERROR_FILE_EXISTS);
        why = "a file of that name exists";
    }
    return makeError(hr, "cannot open \"" + path + "\" " + purpose + ": " + why);
}

Status requireRegular(int fd, const std::string& path)
{
    struct stat st {};
    if (fstat(fd, &st) != 0) return makeError(hresultFromErrno(errno), "cannot inspect \"" + path + "\"");
    if (!S_ISREG(st.st_mode)) return makeError(E_INVALIDARG, "\"" + path + "\" is not a regular file");
    return {};
}

Status requireAbsolute(const std::string& path)
{
    if (path.empty() || path[0] != '/') return makeError(E_INVALIDARG, "\"" + path + "\" is not an absolute path");
    return {};
}

// O_NONBLOCK: opening a FIFO must not wait for a writer before it can be refused.
Result<UniqueFd> openChecked(const std::string& path, int flags, const char* purpose)
{
    if (Status st = requireAbsolute(path); !st) return st.error();
    UniqueFd fd(open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600));
    if (!fd.valid()) return openError(path, purpose, errno);
    if (Status st = requireRegular(fd.get(), path); !st) return st.error();
    int mode = fcntl(fd.get(), F_GETFL);
    if (mode < 0 || fcntl(fd.get(), F_SETFL, mode & ~O_NONBLOCK) != 0) {
        return makeError(hresultFromErrno(errno), "cannot set up \"" + path + "\"");
    }
    return fd;
}

Status writeAllTo(int fd, const char* data, size_t size, const std::string& path)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return makeError(hresultFromErrno(errno), "cannot write \"" + path + "\"");
        data += n;
        size -= static_cast<size_t>(n);
    }
    return {};
}

Result<UniqueFd> createNew(const std::string& path)
{
    if (Status st = requireAbsolute(path); !st) return st.error();
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) return openError(path, "to create it", errno);
    return fd;
}

}  // namespace

Result<UniqueFd> openSaveFileForWriting(const std::string& path)
{
    auto fd = openChecked(path, O_WRONLY | O_CREAT, "for writing the saved state");
    if (!fd) return fd.error();
    if (ftruncate(fd->get(), 0) != 0) return makeError(hresultFromErrno(errno), "cannot truncate \"" + path + "\"");
    return fd;
}

Result<UniqueFd> openSaveFileForReading(const std::string& path)
{
    auto fd = openChecked(path, O_RDONLY, "for reading the saved state");
    if (!fd) return fd.error();
    char magic[sizeof kMigrationMagic] = {};
    ssize_t n = pread(fd->get(), magic, sizeof magic, 0);
    if (n == 0) {
        return makeError(HRESULT_FROM_WIN32(ERROR_INVALID_DATA),
                         "\"" + path + "\" is empty: it holds no saved state (Save writes it)");
    }
    if (n != static_cast<ssize_t>(sizeof magic) || std::memcmp(magic, kMigrationMagic, sizeof magic) != 0) {
        return makeError(HRESULT_FROM_WIN32(ERROR_INVALID_DATA),
                         "\"" + path + "\" is not a saved state (no QEMU migration stream)");
    }
    return fd;
}

Status checkGuestStateFile(const std::string& path)
{
    auto fd = openChecked(path, O_RDWR, "as the guest state file (UEFI variables)");
    if (!fd) return fd.error();
    struct stat file {
    }, reference{};
    if (fstat(fd->get(), &file) != 0 || stat(kOvmfVarsTemplate, &reference) != 0) {
        return makeError(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND),
                         std::string("cannot compare with OVMF's variable store ") + kOvmfVarsTemplate +
                             " (install the ovmf package)");
    }
    if (file.st_size != reference.st_size) {
        return makeError(HRESULT_FROM_WIN32(ERROR_INVALID_DATA),
                         "\"" + path + "\" is not a guest state file (" + std::to_string(file.st_size) +
                             " bytes, a UEFI variable store has " + std::to_string(reference.st_size) +
                             "; HcsCreateEmptyGuestStateFile makes one)");
    }
    return {};
}

Status createEmptyGuestStateFile(const std::string& path)
{
    UniqueFd source(open(kOvmfVarsTemplate, O_RDONLY | O_CLOEXEC));
    if (!source.valid()) {
        return makeError(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), std::string("OVMF's variable store template ") +
                                                                       kOvmfVarsTemplate +
                                                                       " is missing (install the ovmf package)");
    }
    auto target = createNew(path);
    if (!target) return target.error();
    char buffer[64 * 1024];
    for (;;) {
        ssize_t n = read(source.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return makeError(hresultFromErrno(errno), std::string("cannot read ") + kOvmfVarsTemplate);
        if (n == 0) break;
        if (Status st = writeAllTo(target->get(), buffer, static_cast<size_t>(n), path); !st) {
            unlink(path.c_str());
            return st;
        }
    }
    if (fsync(target->get()) != 0) return makeError(hresultFromErrno(errno), "cannot sync \"" + path + "\"");
    return {};
}

Status createEmptyRuntimeStateFile(const std::string& path)
{
    auto target = createNew(path);
    if (!target) return target.error();
    return {};
}

}  // namespace hc::hcs::vm
