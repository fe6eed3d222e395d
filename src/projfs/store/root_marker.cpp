#include "projfs/store/root_marker.h"

#include "base/guid.h"
#include "base/hresult.h"
#include "projfs/store/backing_store.h"
#include "projfs/store/item_attribute.h"
#include "projfs/store/item_record.h"
#include "projfs/store/item_xattrs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>
#include <cstring>

namespace hc::projfs {
namespace {

Result<UniqueFd> openDirectory(const std::string& path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return makeError(hresultFromErrno(errno), "cannot open '" + path + "': " + std::strerror(errno));
    UniqueFd owned(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return makeError(HRESULT_FROM_WIN32(ERROR_DIRECTORY), "'" + path + "' is not a directory");
    }
    return owned;
}

// A directory placeholder's record (keeping what the directory already had, e.g. its origin); the first
// format's attributes, if any, are replaced.
Status writePlaceholderState(int fd, ItemRecord record, const PRJ_PLACEHOLDER_VERSION_INFO* versionInfo)
{
    record.state = ItemState::Placeholder;
    if (versionInfo != nullptr) record.version = *versionInfo;
    auto item = ItemXattrs::ofDescriptor(fd);
    return writeItemRecord(item, record, true);
}

}  // namespace

Status markVirtualizationRoot(const std::string& rootPath, const GUID& instanceId,
                              const PRJ_PLACEHOLDER_VERSION_INFO* versionInfo)
{
    auto fd = openDirectory(rootPath);
    if (!fd) return fd.error();
    auto existing = readRootInstanceId(fd->get());
    if (!existing) return existing.error();
    if (existing->has_value()) {
        return makeError(HRESULT_FROM_WIN32(ERROR_REPARSE_POINT_ENCOUNTERED),
                         "'" + rootPath + "' is already a virtualization root (" + formatGuid(**existing) + ")");
    }
    auto record = readRecordFromFd(fd->get(), true);
    if (!record) return record.error();
    if (auto s = writePlaceholderState(fd->get(), *record, versionInfo); !s) return s;
    // The format marker before the GUID: a marked root without it is one written by the first format.
    const char format = '0' + kItemAttributeFormat;
    if (auto s = writeXattr(fd->get(), kXattrFormat, &format, 1); !s) return s;
    std::string text = formatGuid(instanceId);
    return writeXattr(fd->get(), kXattrRoot, text.data(), text.size());
}

Status markDirectoryPlaceholder(const std::string& targetPath, const PRJ_PLACEHOLDER_VERSION_INFO* versionInfo)
{
    auto fd = openDirectory(targetPath);
    if (!fd) return fd.error();
    auto record = readRecordFromFd(fd->get(), true);
    if (!record) return record.error();
    if (record->state == ItemState::Placeholder) {
        return makeError(HRESULT_FROM_WIN32(ERROR_REPARSE_POINT_ENCOUNTERED),
                         "'" + targetPath + "' is already a placeholder");
    }
    return writePlaceholderState(fd->get(), *record, versionInfo);
}

Result<std::optional<GUID>> readRootInstanceId(int rootFd)
{
    auto text = readXattr(rootFd, kXattrRoot);
    if (!text) return text.error();
    if (!text->has_value()) return std::optional<GUID>();
    auto guid = parseGuid(**text);
    if (!guid) {
        return makeError(HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_METADATA_CORRUPT),
                         "root marker is not a GUID: '" + **text + "'");
    }
    return std::optional<GUID>(*guid);
}

}  // namespace hc::projfs
