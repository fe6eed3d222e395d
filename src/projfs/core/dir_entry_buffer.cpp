#include "projfs/core/dir_entry_buffer.h"

#include "base/strings.h"
#include "projfs/core/extended_info.h"

#include <cstring>
#include <mutex>
#include <unordered_set>

namespace hc::projfs {
namespace {

std::mutex& registryMutex()
{
    static std::mutex mutex;
    return mutex;
}
std::unordered_set<const void*>& registry()
{
    static std::unordered_set<const void*> live;
    return live;
}

}  // namespace

size_t DirEntryBuffer::encodedSize(size_t utf8NameLength)
{
    // struct fuse_dirent is 24 bytes + name, padded to 8 (FUSE_DIRENT_ALIGN).
    return (24 + utf8NameLength + 7) & ~size_t{7};
}

DirEntryBuffer::DirEntryBuffer(size_t capacityBytes) : capacity_(capacityBytes)
{
    std::lock_guard lock(registryMutex());
    registry().insert(this);
}

DirEntryBuffer::~DirEntryBuffer()
{
    std::lock_guard lock(registryMutex());
    registry().erase(this);
}

bool DirEntryBuffer::lockIfLive(PRJ_DIR_ENTRY_BUFFER_HANDLE handle)
{
    registryMutex().lock();
    if (handle != nullptr && registry().count(handle) != 0) return true;
    registryMutex().unlock();
    return false;
}

void DirEntryBuffer::unlockRegistry()
{
    registryMutex().unlock();
}

HRESULT DirEntryBuffer::add(PCWSTR fileName, const PRJ_FILE_BASIC_INFO* info, const PRJ_EXTENDED_INFO* extended)
{
    if (fileName == nullptr || fileName[0] == L'\0') return E_INVALIDARG;
    auto utf8 = toUtf8(fileName);
    if (!utf8 || utf8->find('/') != std::string::npos || utf8->find('\\') != std::string::npos || *utf8 == "." ||
        *utf8 == ".." || utf8->size() > 255) {
        return E_INVALIDARG;
    }
    ProviderDirEntry entry;
    entry.name = fileName;
    if (info != nullptr) entry.info = *info;
    auto extras = readExtendedInfo(extended);
    if (!extras) return extras.hr();
    entry.extras = std::move(extras).value();
    size_t size = encodedSize(utf8->size());
    if (used_ + size > capacity_) return HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
    used_ += size;
    entries_.push_back(std::move(entry));
    return S_OK;
}

std::vector<ProviderDirEntry> DirEntryBuffer::takeEntries()
{
    return std::exchange(entries_, {});
}

}  // namespace hc::projfs
