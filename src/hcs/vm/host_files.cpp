#include "hcs/vm/host_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/hresult.h"

namespace hc::hcs::vm {

namespace {

// Closes a descriptor on every path out of a function.
struct Fd {
    int fd = -1;
    ~Fd()
    {
        if (fd >= 0) close(fd);
    }
};

Error openError(const std::string& path, const char* purpose, int err)
{
    HRESULT hr = err == ENOENT ? HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) : hresultFromErrno(err);
    return makeError(hr, std::string("cannot open \"") + path + "\" " + purpose + ": " + std::strerror(err));
}

bool readAt(int fd, off_t offset, char* buffer, size_t size)
{
    return pread(fd, buffer, size, offset) == static_cast<ssize_t>(size);
}

const char* describe(const std::string& format)
{
    if (format == "vpc") return "a VHD image";
    if (format == "vhdx") return "a VHDX image";
    if (format == "qcow2") return "a qcow2 image";
    return "raw";
}

}  // namespace

std::optional<std::string> diskFormatFromExtension(const std::string& path)
{
    auto dot = path.find_last_of("./");
    if (dot == std::string::npos || path[dot] != '.') return std::nullopt;
    std::string ext = path.substr(dot + 1);
    for (char& c : ext)
        c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    if (ext == "vhd") return "vpc";
    if (ext == "vhdx") return "vhdx";
    if (ext == "qcow2") return "qcow2";
    if (ext == "img" || ext == "raw" || ext == "iso") return "raw";
    return std::nullopt;
}

Result<std::string> probeDiskFormat(int fd)
{
    char head[8] = {};
    if (readAt(fd, 0, head, sizeof head)) {
        if (std::memcmp(head, "QFI\xfb", 4) == 0) return std::string("qcow2");
        if (std::memcmp(head, "vhdxfile", 8) == 0) return std::string("vhdx");
        if (std::memcmp(head, "conectix", 8) == 0) return std::string("vpc");
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) return makeError(hresultFromErrno(errno), "cannot inspect the disk image");
    char footer[8] = {};
    if (S_ISREG(st.st_mode) && st.st_size >= 512 && readAt(fd, st.st_size - 512, footer, sizeof footer) &&
        std::memcmp(footer, "conectix", 8) == 0) {
        return std::string("vpc");  // a fixed VHD: raw data and a footer
    }
    return std::string("raw");
}

Result<DiskSettings> inspectDisk(const schema::ScsiAttachment& disk)
{
    const int mode = disk.readOnly ? O_RDONLY : O_RDWR;
    Fd file{open(disk.path.c_str(), mode | O_CLOEXEC)};
    if (file.fd < 0) return openError(disk.path, disk.readOnly ? "for reading" : "for reading and writing", errno);
    struct stat st {};
    if (fstat(file.fd, &st) != 0) return openError(disk.path, "", errno);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        return makeError(E_INVALIDARG, "\"" + disk.path + "\" is neither a regular file nor a block device");
    }
    DiskSettings settings;
    auto content = probeDiskFormat(file.fd);
    if (!content) return content.error();
    auto named = disk.type == schema::AttachmentType::Iso ? std::optional<std::string>("raw")
                                                          : diskFormatFromExtension(disk.path);
    if (named && *named != "raw" && *named != *content) {
        return makeError(
            HRESULT_FROM_WIN32(ERROR_INVALID_DATA),
            "\"" + disk.path + "\" is named like " + describe(*named) + " but its content is " + describe(*content));
    }
    // A name that says raw is believed: probing a raw disk would let a guest that writes an image
    // header into it change how the host reads it next time.
    settings.format = named ? *named : *content;
    Fd direct{open(disk.path.c_str(), mode | O_CLOEXEC | O_DIRECT)};
    settings.directIo = direct.fd >= 0;
    return settings;
}

Status checkShareDirectory(const std::string& path, bool readOnly)
{
    Fd dir{open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (dir.fd < 0) {
        if (errno == ENOTDIR) return makeError(E_INVALIDARG, "\"" + path + "\" is not a directory");
        return openError(path, "as a directory", errno);
    }
    if (!readOnly && faccessat(dir.fd, ".", W_OK, AT_EACCESS) != 0) {
        return openError(path, "for writing (the share is not ReadOnly)", errno);
    }
    return {};
}

bool hostHasVhostVsock()
{
    return access("/dev/vhost-vsock", R_OK | W_OK) == 0;
}

}  // namespace hc::hcs::vm
