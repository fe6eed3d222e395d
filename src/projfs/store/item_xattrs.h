// ItemXattrs: the extended attributes of one item, and reading/writing its ItemRecord through them.
// An item named relative to a directory descriptor is reached without opening it when the kernel has
// the *xattrat system calls (Linux 6.13): one system call per attribute operation instead of
// openat + f*xattr + close. Older kernels: one descriptor opened on first use (O_NONBLOCK | O_NOFOLLOW,
// so it never waits on a FIFO or follows a link). A path relative to the working directory (a path
// through the mount) is never opened: opening a placeholder through the mount would hydrate it.
// Calls return like the system calls (-1 and errno). One object per item and thread; not shared.
#pragma once

#include "base/result.h"
#include "projfs/store/item_record.h"
#include "base/unique_fd.h"

#include <fcntl.h>
#include <sys/types.h>

#include <optional>
#include <string>

namespace hc::projfs {

class ItemXattrs {
public:
    // The item at `path` relative to `dirFd` (AT_FDCWD: the working directory); `path` must outlive this.
    ItemXattrs(int dirFd, const char* path) : dirFd_(dirFd), path_(path) {}
    // An item already open.
    static ItemXattrs ofDescriptor(int fd)
    {
        ItemXattrs x(AT_FDCWD, nullptr);
        x.fd_ = fd;
        return x;
    }

    ssize_t get(const char* name, void* value, size_t size);
    ssize_t list(char* names, size_t size);
    int set(const char* name, const void* value, size_t size);
    int remove(const char* name);

    // One attribute as a string; nullopt when absent (or the file system has no user attributes).
    Result<std::optional<std::string>> read(const char* name);

private:
    int descriptor();  // the fallback descriptor, opened on first use; -1 with errno
    int dirFd_;
    const char* path_;
    int fd_ = -1;
    UniqueFd owned_;
};

// The item's record: the compact attribute, or — when `legacyFormat` may be present — the first
// format's attributes. Every item of a root written before the compact format is read that way until
// something rewrites its state.
Result<ItemRecord> readItemRecord(ItemXattrs& item, bool isDirectory, bool legacyFormat);
// Stores `record` (no attribute at all for a plain full item); with `legacyFormat`, removes the first
// format's attributes as well, so the item is upgraded.
Status writeItemRecord(ItemXattrs& item, const ItemRecord& record, bool legacyFormat);

}  // namespace hc::projfs
