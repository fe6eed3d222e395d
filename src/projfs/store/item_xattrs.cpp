#include "projfs/store/item_xattrs.h"

#include "base/hresult.h"
#include "projfs/store/item_attribute.h"

#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

// The *xattrat calls (Linux 6.13) share one number on x86-64 and the generic table (arm64, riscv).
#if !defined(SYS_getxattrat) && (defined(__x86_64__) || defined(__aarch64__) || defined(__riscv))
#define SYS_setxattrat 463
#define SYS_getxattrat 464
#define SYS_listxattrat 465
#define SYS_removexattrat 466
#endif

namespace hc::projfs {
namespace {

// struct xattr_args of <linux/xattr.h>, which older headers lack.
struct XattrArgs {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
};

#ifdef SYS_getxattrat
// Whether the running kernel has the *xattrat calls; learnt from the first ENOSYS.
std::atomic<bool> g_haveXattrAt{true};

bool xattrAtAvailable(long result)
{
    if (result >= 0 || errno != ENOSYS) return true;
    g_haveXattrAt.store(false, std::memory_order_relaxed);
    return false;
}
#endif

}  // namespace

int ItemXattrs::descriptor()
{
    if (fd_ < 0) {
        owned_.reset(::openat(dirFd_, path_, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
        fd_ = owned_.get();
    }
    return fd_;
}

ssize_t ItemXattrs::get(const char* name, void* value, size_t size)
{
    if (fd_ >= 0) return ::fgetxattr(fd_, name, value, size);
    if (dirFd_ == AT_FDCWD) return ::lgetxattr(path_, name, value, size);
#ifdef SYS_getxattrat
    if (g_haveXattrAt.load(std::memory_order_relaxed)) {
        XattrArgs args{reinterpret_cast<uintptr_t>(value), static_cast<uint32_t>(size), 0};
        long n = ::syscall(SYS_getxattrat, dirFd_, path_, AT_SYMLINK_NOFOLLOW, name, &args, sizeof(args));
        if (xattrAtAvailable(n)) return n;
    }
#endif
    int fd = descriptor();
    return fd < 0 ? -1 : ::fgetxattr(fd, name, value, size);
}

ssize_t ItemXattrs::list(char* names, size_t size)
{
    if (fd_ >= 0) return ::flistxattr(fd_, names, size);
    if (dirFd_ == AT_FDCWD) return ::llistxattr(path_, names, size);
#ifdef SYS_getxattrat
    if (g_haveXattrAt.load(std::memory_order_relaxed)) {
        long n = ::syscall(SYS_listxattrat, dirFd_, path_, AT_SYMLINK_NOFOLLOW, names, size);
        if (xattrAtAvailable(n)) return n;
    }
#endif
    int fd = descriptor();
    return fd < 0 ? -1 : ::flistxattr(fd, names, size);
}

int ItemXattrs::set(const char* name, const void* value, size_t size)
{
    if (fd_ >= 0) return ::fsetxattr(fd_, name, value, size, 0);
    if (dirFd_ == AT_FDCWD) return ::lsetxattr(path_, name, value, size, 0);
#ifdef SYS_getxattrat
    if (g_haveXattrAt.load(std::memory_order_relaxed)) {
        XattrArgs args{reinterpret_cast<uintptr_t>(value), static_cast<uint32_t>(size), 0};
        long r = ::syscall(SYS_setxattrat, dirFd_, path_, AT_SYMLINK_NOFOLLOW, name, &args, sizeof(args));
        if (xattrAtAvailable(r)) return static_cast<int>(r);
    }
#endif
    int fd = descriptor();
    return fd < 0 ? -1 : ::fsetxattr(fd, name, value, size, 0);
}

int ItemXattrs::remove(const char* name)
{
    if (fd_ >= 0) return ::fremovexattr(fd_, name);
    if (dirFd_ == AT_FDCWD) return ::lremovexattr(path_, name);
#ifdef SYS_getxattrat
    if (g_haveXattrAt.load(std::memory_order_relaxed)) {
        long r = ::syscall(SYS_removexattrat, dirFd_, path_, AT_SYMLINK_NOFOLLOW, name);
        if (xattrAtAvailable(r)) return static_cast<int>(r);
    }
#endif
    int fd = descriptor();
    return fd < 0 ? -1 : ::fremovexattr(fd, name);
}

Result<std::optional<std::string>> ItemXattrs::read(const char* name)
{
    // Almost every value fits here; the origin path can be longer (ERANGE: ask for the size, then read).
    char small[256];
    ssize_t n = get(name, small, sizeof(small));
    if (n >= 0) return std::optional<std::string>(std::string(small, static_cast<size_t>(n)));
    while (errno == ERANGE) {
        ssize_t size = get(name, nullptr, 0);
        if (size < 0) break;
        std::string value(static_cast<size_t>(size), '\0');
        n = get(name, value.data(), value.size());
        if (n >= 0) {
            value.resize(static_cast<size_t>(n));
            return std::optional<std::string>(std::move(value));
        }
    }
    if (errno == ENODATA || errno == ENOTSUP) return std::optional<std::string>();
    return errnoError(errno, std::string("reading attribute ") + name);
}

namespace {

// The first format: which of its attributes an item has (one listxattr), then only those are read.
Result<ItemRecord> readLegacyRecord(ItemXattrs& item, bool isDirectory)
{
    ItemRecord record;
    record.isDirectory = isDirectory;
    std::vector<char> names(1024);
    ssize_t n;
    while ((n = item.list(names.data(), names.size())) < 0 && errno == ERANGE)
        names.resize(names.size() * 4);
    if (n < 0) {
        if (errno == ENOTSUP) return record;
        return errnoError(errno, "listing attributes");
    }
    auto has = [&](const char* wanted) {
        for (ssize_t at = 0; at < n; at += static_cast<ssize_t>(std::strlen(names.data() + at)) + 1) {
            if (std::strcmp(names.data() + at, wanted) == 0) return true;
        }
        return false;
    };
    if (has(kLegacyXattrState)) {
        auto state = item.read(kLegacyXattrState);
        if (!state) return state.error();
        auto parsed = state->has_value() ? parseItemState(**state) : std::optional<ItemState>(ItemState::Full);
        if (!parsed) {
            return makeError(HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_METADATA_CORRUPT),
                             "unknown ProjFS state '" + **state + "'");
        }
        record.state = *parsed;
    }
    if (has(kLegacyXattrOrigin)) {
        auto origin = item.read(kLegacyXattrOrigin);
        if (!origin) return origin.error();
        if (origin->has_value()) {
            record.projected = true;
            record.originPath = **origin;
        }
    }
    record.dirty = has(kLegacyXattrDirty);
    PRJ_PLACEHOLDER_VERSION_INFO version{};
    if (has(kLegacyXattrVersion) &&
        item.get(kLegacyXattrVersion, &version, sizeof(version)) == static_cast<ssize_t>(sizeof(version))) {
        record.version = version;
    }
    return record;
}

}  // namespace

Result<ItemRecord> readItemRecord(ItemXattrs& item, bool isDirectory, bool legacyFormat)
{
    auto value = item.read(kXattrItem);
    if (!value) return value.error();
    if (value->has_value()) return decodeItemAttribute(**value, isDirectory);
    if (legacyFormat) return readLegacyRecord(item, isDirectory);
    ItemRecord record;
    record.isDirectory = isDirectory;
    return record;
}

Status writeItemRecord(ItemXattrs& item, const ItemRecord& record, bool legacyFormat)
{
    std::string value = encodeItemAttribute(record);
    if (value.empty()) {
        if (item.remove(kXattrItem) != 0 && errno != ENODATA) return errnoError(errno, "clearing ProjFS state");
    } else if (item.set(kXattrItem, value.data(), value.size()) != 0) {
        return errnoError(errno, "writing ProjFS state");
    }
    if (legacyFormat) {
        // After the new attribute: a crash in between leaves both, and the compact one is read first.
        for (const char* name : kLegacyXattrNames) {
            if (item.remove(name) != 0 && errno != ENODATA)
                return errnoError(errno, std::string("removing old attribute ") + name);
        }
    }
    return {};
}

}  // namespace hc::projfs
