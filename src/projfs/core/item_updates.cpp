#include "projfs/core/item_updates.h"

#include "base/filetime.h"
#include "base/hresult.h"
#include "base/log.h"
#include "projfs/core/virtualization_instance.h"
#include "projfs/store/rel_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>
#include <cstring>

namespace hc::projfs {
namespace {

const HRESULT kInvalidOperation = HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_INVALID_OPERATION);
const HRESULT kNotFound = HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);

HRESULT failed(const Error& error, const char* function, const std::string& rel)
{
    HC_LOG(Info, "projfs", std::string(function) + " '" + rel + "': " + error.message);
    return error.hr;
}

// The provider's path -> the item's on-disk path, matching each component case-insensitively like a
// lookup does. nullopt: not on disk (virtual, or under a virtual directory).
Result<std::optional<std::string>> resolveOnDisk(const BackingStore& store, const std::string& providerRel)
{
    std::string onDisk;
    std::string_view rest = providerRel;
    while (!rest.empty()) {
        size_t slash = rest.find('/');
        std::string_view part = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
        auto found = store.findChild(onDisk, part);
        if (!found) {
            // A component that is a file, or a parent that vanished: nothing there.
            if (found.hr() == HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND) || found.hr() == kNotFound ||
                found.hr() == HRESULT_FROM_WIN32(ERROR_DIRECTORY))
                return std::optional<std::string>();
            return found.error();
        }
        if (!found->has_value()) return std::optional<std::string>();
        onDisk = joinRel(onDisk, **found);
        if (!rest.empty()) {
            auto st = store.statItem(onDisk);
            if (!st || !S_ISDIR(st->st_mode)) return std::optional<std::string>();
        }
    }
    return std::optional<std::string>(onDisk);
}

// The item named by the provider, with what is needed to decide: its on-disk path, record and mode.
struct Target {
    std::string rel;
    ItemRecord record;
    struct stat st {};
};

Result<Target> findTarget(const BackingStore& store, PCWSTR destinationFileName)
{
    auto providerRel = relFromProviderPath(destinationFileName, "destinationFileName");
    if (!providerRel) return providerRel.error();
    if (providerRel->empty()) return makeError(E_INVALIDARG, "destinationFileName names the virtualization root");
    auto rel = resolveOnDisk(store, *providerRel);
    if (!rel) return rel.error();
    if (!rel->has_value()) return makeError(kNotFound, "'" + *providerRel + "' is virtual (not on disk)");
    Target target;
    target.rel = **rel;
    auto st = store.statItem(target.rel);
    if (!st) return st.error();
    target.st = *st;
    auto record = store.readRecord(target.rel);
    if (!record) return record.error();
    target.record = *record;
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) target.record.state = ItemState::Full;
    return target;
}

// The provider updated or deleted an item that is not on disk: the kernel may hold it as a listed item
// with the old listing's attributes, so that listing is dropped (and its listed items with it).
void listedItemChanged(VirtualizationInstance& instance, PCWSTR destinationFileName)
{
    auto providerRel = relFromProviderPath(destinationFileName, "destinationFileName");
    if (!providerRel) return;
    auto parent = resolveOnDisk(instance.store(), splitRel(*providerRel).first);
    if (parent && parent->has_value()) instance.notifyListingChanged(**parent);
}

bool hasReadOnlyAttribute(const Target& target)
{
    // Tombstones have no permission bits at all; that is not the DOS read-only bit.
    return target.record.state != ItemState::Tombstone && S_ISREG(target.st.st_mode) &&
           (target.st.st_mode & S_IWUSR) == 0;
}

HRESULT refuse(PRJ_UPDATE_FAILURE_CAUSES causes, PRJ_UPDATE_FAILURE_CAUSES* failureReason)
{
    if (failureReason) *failureReason = causes;
    return kInvalidOperation;
}

bool sameContentId(const ItemRecord& record, const PRJ_PLACEHOLDER_VERSION_INFO& version)
{
    // Only placeholders carry a ContentID (a full file lost its placeholder identity, a tombstone never had one).
    bool placeholder = record.state == ItemState::Placeholder || record.state == ItemState::HydratedPlaceholder;
    return placeholder && record.version &&
           std::memcmp(record.version->ContentID, version.ContentID, sizeof(version.ContentID)) == 0;
}

// After writePlaceholder updated an item in place: no local change remains, and the read-only attribute
// follows the provider's (a new placeholder gets both from writePlaceholder itself). PRJ_PLACEHOLDER_INFO
// carries no mode, so the other permission bits stay (an executable the provider projected with
// PRJ_HOSTCOMPUTE_POSIX_INFO stays executable): read-only clears every write bit, writable adds the owner's.
Status finishInPlaceUpdate(BackingStore& store, const std::string& rel, const PlaceholderSpec& spec)
{
    if (auto s = store.clearDirty(rel); !s) return s;
    int flags = (spec.isDirectory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK;
    auto fd = store.openItem(rel, flags);
    if (!fd) return fd.error();
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return makeError(hresultFromErrno(errno), "stat of the updated item");
    mode_t mode = spec.readOnly ? (st.st_mode & 07777 & ~0222) : ((st.st_mode & 07777) | S_IWUSR);
    if (!spec.isDirectory && ::fchmod(fd->get(), mode) != 0) {
        return makeError(hresultFromErrno(errno), std::string("setting read-only attribute: ") + std::strerror(errno));
    }
    return {};
}

// Turns the item at target.rel into a clean placeholder described by `spec`.
Status replaceWithPlaceholder(VirtualizationInstance& instance, const Target& target, const PlaceholderSpec& spec)
{
    BackingStore& store = instance.store();
    const ItemRecord& record = target.record;
    if (record.state == ItemState::Tombstone) return store.writePlaceholder(target.rel, spec);  // replaces it
    if (!S_ISREG(target.st.st_mode) && !S_ISDIR(target.st.st_mode)) {
        // A link, FIFO or device made locally over the name: it goes, the placeholder takes its place.
        if (auto s = store.removeEntry(target.rel, false); !s) return s;
        instance.notifyItemRemoved(target.rel);
        return store.writePlaceholder(target.rel, spec);
    }
    if (S_ISREG(target.st.st_mode) && (target.st.st_mode & S_IWUSR) == 0) {
        // Read-only (allowed by ALLOW_READ_ONLY): writable first, or a provider not running as root could
        // not resize it; finishInPlaceUpdate sets the final mode.
        auto fd = store.openItem(target.rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
        if (!fd) return fd.error();
        if (::fchmod(fd->get(), (target.st.st_mode & 07777) | S_IWUSR) != 0) {
            return makeError(hresultFromErrno(errno), std::string("making writable: ") + std::strerror(errno));
        }
    }
    if (record.state != ItemState::Placeholder) {
        // Placeholder state first, content dropped second: a crash in between leaves a placeholder
        // whose content is fetched again, never a "hydrated" file that lost its data.
        if (auto s = store.setState(target.rel, ItemState::Placeholder); !s) return s;
        if (!spec.isDirectory) {
            auto fd = store.openItem(target.rel, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NONBLOCK);
            if (!fd) return fd.error();
        }
    }
    if (auto s = store.writePlaceholder(target.rel, spec); !s) return s;  // size, times, version, origin
    return finishInPlaceUpdate(store, target.rel, spec);
}

}  // namespace

PlaceholderSpec placeholderSpecFrom(const PRJ_PLACEHOLDER_INFO& info, const std::string& rel, ProviderExtras extras)
{
    auto timeOrNow = [](const LARGE_INTEGER& ticks) {
        return timespecFromFiletime(ticks.QuadPart == 0 ? filetimeNow() : ticks.QuadPart);
    };
    const PRJ_FILE_BASIC_INFO& basic = info.FileBasicInfo;
    PlaceholderSpec spec;
    spec.isDirectory = basic.IsDirectory != 0;
    spec.size = spec.isDirectory ? 0 : basic.FileSize;
    spec.lastWriteTime = timeOrNow(basic.LastWriteTime);
    spec.lastAccessTime = timeOrNow(basic.LastAccessTime);
    spec.readOnly = (basic.FileAttributes & FILE_ATTRIBUTE_READONLY) != 0;
    spec.version = info.VersionInfo;
    spec.originPath = rel;
    spec.extras = std::move(extras);
    if (spec.extras.symlinkTarget) spec.isDirectory = false;  // Linux links are untyped (Windows' may name a directory)
    return spec;
}

PRJ_UPDATE_FAILURE_CAUSES refusedUpdateCauses(const ItemRecord& record, bool readOnly, PRJ_UPDATE_TYPES flags)
{
    unsigned causes = PRJ_UPDATE_FAILURE_CAUSE_NONE;
    switch (record.state) {
        case ItemState::Tombstone:
            if (!(flags & PRJ_UPDATE_ALLOW_TOMBSTONE)) causes |= PRJ_UPDATE_FAILURE_CAUSE_TOMBSTONE;
            break;
        case ItemState::Full:
            if (!(flags & PRJ_UPDATE_ALLOW_DIRTY_DATA)) causes |= PRJ_UPDATE_FAILURE_CAUSE_DIRTY_DATA;
            break;
        case ItemState::Placeholder:
        case ItemState::HydratedPlaceholder:
            if (record.dirty && !(flags & PRJ_UPDATE_ALLOW_DIRTY_METADATA))
                causes |= PRJ_UPDATE_FAILURE_CAUSE_DIRTY_METADATA;
            break;
    }
    if (readOnly && !(flags & PRJ_UPDATE_ALLOW_READ_ONLY)) causes |= PRJ_UPDATE_FAILURE_CAUSE_READ_ONLY;
    return static_cast<PRJ_UPDATE_FAILURE_CAUSES>(causes);
}

HRESULT updateFileIfNeeded(VirtualizationInstance& instance, PCWSTR destinationFileName,
                           const PRJ_PLACEHOLDER_INFO& info, PRJ_UPDATE_TYPES flags,
                           PRJ_UPDATE_FAILURE_CAUSES* failureReason)
{
    const PRJ_FILE_BASIC_INFO& basic = info.FileBasicInfo;
    if (basic.FileSize < 0) return E_INVALIDARG;
    // Decide and change under the lock a finishing hydration takes (it must not mark our new placeholder
    // hydrated with the old content, nor change the state between our look and our change).
    std::lock_guard lock(instance.itemStateMutex());
    auto target = findTarget(instance.store(), destinationFileName);
    if (!target && target.hr() == kNotFound) listedItemChanged(instance, destinationFileName);
    if (!target) return failed(target.error(), "PrjUpdateFileIfNeeded", "");
    bool isDirectory = basic.IsDirectory != 0;
    if (target->record.state != ItemState::Tombstone && S_ISDIR(target->st.st_mode) != isDirectory) {
        return failed(makeError(E_INVALIDARG, isDirectory ? "the item is not a directory" : "the item is a directory"),
                      "PrjUpdateFileIfNeeded", target->rel);
    }
    if (sameContentId(target->record, info.VersionInfo)) return S_OK;  // nothing changed at the provider
    if (auto causes = refusedUpdateCauses(target->record, hasReadOnlyAttribute(*target), flags); causes != 0) {
        return refuse(causes, failureReason);
    }
    PlaceholderSpec spec = placeholderSpecFrom(info, target->rel);
    if (Status s = replaceWithPlaceholder(instance, *target, spec); !s) {
        instance.forgetRecord(target->rel);  // it may have changed part way
        return failed(s.error(), "PrjUpdateFileIfNeeded", target->rel);
    }
    instance.negativePathCache().forget(target->rel);
    instance.notifyItemChanged(target->rel);
    return S_OK;
}

HRESULT deleteFile(VirtualizationInstance& instance, PCWSTR destinationFileName, PRJ_UPDATE_TYPES flags,
                   PRJ_UPDATE_FAILURE_CAUSES* failureReason)
{
    BackingStore& store = instance.store();
    std::lock_guard lock(instance.itemStateMutex());
    auto target = findTarget(store, destinationFileName);
    if (!target && target.hr() == kNotFound) listedItemChanged(instance, destinationFileName);
    if (!target) return failed(target.error(), "PrjDeleteFile", "");
    if (auto causes = refusedUpdateCauses(target->record, hasReadOnlyAttribute(*target), flags); causes != 0) {
        return refuse(causes, failureReason);
    }
    bool isDirectory = S_ISDIR(target->st.st_mode);
    if (isDirectory) {
        // Tombstones inside are invisible; anything else makes the directory non-empty.
        auto entries = store.listDirectory(target->rel);
        if (!entries) return failed(entries.error(), "PrjDeleteFile", target->rel);
        for (const auto& entry : *entries) {
            if (!entry.tombstone) return HRESULT_FROM_WIN32(ERROR_DIR_NOT_EMPTY);
        }
        if (Status s = store.clearTombstonesIn(target->rel); !s) return failed(s.error(), "PrjDeleteFile", target->rel);
    }
    // No tombstone: the item becomes virtual again and the provider's enumeration shows it if it still has it.
    if (Status s = store.removeEntry(target->rel, isDirectory); !s) {
        instance.forgetRecord(target->rel);
        if (s.hr() == HRESULT_FROM_WIN32(ERROR_DIR_NOT_EMPTY)) return s.hr();  // raced a create
        return failed(s.error(), "PrjDeleteFile", target->rel);
    }
    instance.notifyItemRemoved(target->rel);
    return S_OK;
}

HRESULT invalidateDirectoryListing(VirtualizationInstance& instance, PCWSTR directoryName)
{
    auto providerRel = relFromProviderPath(directoryName, "directoryName");
    if (!providerRel) return failed(providerRel.error(), "PrjInvalidateDirectoryListing", "");
    auto rel = resolveOnDisk(instance.store(), *providerRel);
    if (!rel) return failed(rel.error(), "PrjInvalidateDirectoryListing", *providerRel);
    // Not on disk: the kernel has not opened it (a lookup writes the placeholder first), so nothing is cached.
    if (!rel->has_value()) return S_OK;
    auto st = instance.store().statItem(**rel);
    if (!st) return failed(st.error(), "PrjInvalidateDirectoryListing", **rel);
    if (!S_ISDIR(st->st_mode)) {
        return failed(makeError(HRESULT_FROM_WIN32(ERROR_DIRECTORY), "the item is not a directory"),
                      "PrjInvalidateDirectoryListing", **rel);
    }
    instance.notifyListingChanged(**rel);
    return S_OK;
}

}  // namespace hc::projfs
