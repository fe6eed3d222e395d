// The projectedfslib C API: argument checks, HRESULTs, and hand-off to the running instance.
#include <projectedfslib.h>

#include "base/hresult.h"
#include "base/log.h"
#include "base/strings.h"
#include "projfs/api/running_instances.h"
#include "projfs/api/start_virtualizing.h"
#include "projfs/core/dir_entry_buffer.h"
#include "projfs/core/item_updates.h"
#include "projfs/fuse/mount_table.h"
#include "projfs/store/backing_store.h"
#include "projfs/store/root_marker.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <thread>

using namespace hc;
using namespace hc::projfs;

namespace {

HRESULT fail(const Error& error, const char* function)
{
    HC_LOG(Info, "projfs", std::string(function) + ": " + error.message);
    return error.hr;
}

Result<std::string> canonicalPath(PCWSTR path, const char* what)
{
    auto utf8 = utf8FromCaller(path, what);
    if (!utf8) return makeError(E_INVALIDARG, utf8.error().message);
    if (utf8->empty()) return makeError(E_INVALIDARG, std::string(what) + " is empty");
    // A dead projfs mount (its provider was killed) on or above the path answers ENOTCONN — or, worse, old
    // cached attributes — until it is unmounted: detach it first, so the directory below is what we see.
    auto detached = detachDeadMountsCovering(*utf8);
    if (!detached) return detached.error();
    char resolved[PATH_MAX];
    if (::realpath(utf8->c_str(), resolved) == nullptr) {
        return makeError(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND), std::string(what) + " '" + *utf8 + "' not found");
    }
    return std::string(resolved);
}

// The state of the item at `path`, read from its attributes by path (never opened: through a mount that
// would hydrate it).
Result<PRJ_FILE_STATE> onDiskFileState(const std::string& path)
{
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        const int err = errno;
        // While a provider runs its mount hides tombstones; the directory answers for its deleted names.
        const std::filesystem::path asked(path);
        const std::string query = std::string(kXattrTombstoneQuery) + asked.filename().string();
        char answer = 0;
        const std::string dir = asked.has_parent_path() ? asked.parent_path().string() : ".";
        if (err == ENOENT && ::lgetxattr(dir.c_str(), query.c_str(), &answer, 1) == 1 && answer == '1') {
            return PRJ_FILE_STATE_TOMBSTONE;
        }
        return errnoError(err, "lstat '" + path + "'");
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return PRJ_FILE_STATE_FULL;
    auto record = readRecordFromPath(path, S_ISDIR(st.st_mode));
    if (!record) return record.error();
    return fileStateFlags(*record);
}

// Another provider — in this process or any other — serving `root` or a root around it: its projfs mount
// is on the path (the in-process registry cannot see other processes, and opening the root through that
// mount would pass the marker check and mount a second file system on top).
Status refuseMountedRoot(const std::string& root)
{
    for (const ProjfsMount& mount : projfsMounts()) {
        if (mount.dead) continue;
        if (mount.mountPoint == root) {
            return makeError(
                HRESULT_FROM_WIN32(ERROR_ALREADY_INITIALIZED),
                "'" + root + "' is already being virtualized (a projfs mount of another provider is on it)");
        }
        if (pathIsOrIsBelow(root, mount.mountPoint) || pathIsOrIsBelow(mount.mountPoint, root)) {
            return makeError(
                HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_INVALID_OPERATION),
                "'" + root + "' overlaps the virtualization root '" + mount.mountPoint + "' of another provider");
        }
    }
    return {};
}

bool requiredCallbacksPresent(const PRJ_CALLBACKS& cb)
{
    return cb.StartDirectoryEnumerationCallback && cb.EndDirectoryEnumerationCallback &&
           cb.GetDirectoryEnumerationCallback && cb.GetPlaceholderInfoCallback && cb.GetFileDataCallback;
}

InstanceOptions resolveOptions(const PRJ_CALLBACKS& callbacks, const void* context,
                               const PRJ_STARTVIRTUALIZING_OPTIONS* options, const GUID& id)
{
    InstanceOptions resolved;
    resolved.callbacks = callbacks;
    resolved.instanceContext = const_cast<void*>(context);
    resolved.instanceId = id;
    unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
    resolved.concurrentThreadCount = options && options->ConcurrentThreadCount ? options->ConcurrentThreadCount : cpus;
    resolved.poolThreadCount =
        options && options->PoolThreadCount ? options->PoolThreadCount : 2 * resolved.concurrentThreadCount;
    resolved.flags = options ? options->Flags : PRJ_FLAG_NONE;
    return resolved;
}

}  // namespace

HRESULT hc::projfs::startVirtualizing(PCWSTR virtualizationRootPath, const PRJ_CALLBACKS* callbacks,
                                      const void* instanceContext, const PRJ_STARTVIRTUALIZING_OPTIONS* options,
                                      const std::function<void(InstanceOptions&)>& adjustOptions,
                                      PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT* namespaceVirtualizationContext)
{
    if (namespaceVirtualizationContext == nullptr || callbacks == nullptr || virtualizationRootPath == nullptr) {
        return E_INVALIDARG;
    }
    *namespaceVirtualizationContext = nullptr;
    if (!requiredCallbacksPresent(*callbacks)) return E_INVALIDARG;
    auto mappings = options
                        ? parseNotificationMappings(options->NotificationMappings, options->NotificationMappingsCount)
                        : parseNotificationMappings(nullptr, 0);
    if (!mappings) return fail(mappings.error(), "PrjStartVirtualizing");
    auto root = canonicalPath(virtualizationRootPath, "virtualizationRootPath");
    if (!root) return fail(root.error(), "PrjStartVirtualizing");
    // Overlap with a running root is checked first: inside one, the marker cannot even be read.
    auto reserved = reserveRoot(*root);
    if (!reserved) return fail(reserved.error(), "PrjStartVirtualizing");
    auto [entry, context] = *reserved;
    if (auto mounted = refuseMountedRoot(*root); !mounted) {
        releaseInstance(context);
        return fail(mounted.error(), "PrjStartVirtualizing");
    }
    auto store = BackingStore::open(*root);
    if (!store) {
        releaseInstance(context);
        return fail(store.error(), "PrjStartVirtualizing");
    }
    auto id = readRootInstanceId((*store)->rootFd());
    if (!id || !id->has_value()) {
        releaseInstance(context);
        return id ? HRESULT_FROM_WIN32(ERROR_REPARSE_TAG_MISMATCH) : fail(id.error(), "PrjStartVirtualizing");
    }
    InstanceOptions resolved = resolveOptions(*callbacks, instanceContext, options, **id);
    resolved.notificationMappings = std::move(mappings).value();
    if (adjustOptions) adjustOptions(resolved);
    auto instance = std::make_unique<VirtualizationInstance>(std::move(store).value(), std::move(resolved));
    instance->setHandle(context);
    auto fuse = ProjectedFuse::mount(*instance, *root, instance->options().poolThreadCount);
    if (!fuse) {
        releaseInstance(context);
        return fail(fuse.error(), "PrjStartVirtualizing");
    }
    publishInstance(entry, std::move(instance), std::move(fuse).value());
    *namespaceVirtualizationContext = context;
    return S_OK;
}

extern "C" {

HOSTCOMPUTE_API HRESULT PrjStartVirtualizing(PCWSTR virtualizationRootPath, const PRJ_CALLBACKS* callbacks,
                                             const void* instanceContext, const PRJ_STARTVIRTUALIZING_OPTIONS* options,
                                             PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT* namespaceVirtualizationContext)
{
    return startVirtualizing(virtualizationRootPath, callbacks, instanceContext, options, {},
                             namespaceVirtualizationContext);
}

HOSTCOMPUTE_API void PrjStopVirtualizing(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext)
{
    auto entry = releaseInstance(namespaceVirtualizationContext);
    if (!entry || !entry->instance) return;  // only one Stop gets the entry
    entry->instance->stop();                 // pending requests fail; no callback after this returns
    entry->fuse->unmount();                  // the objects go with the last call still using them
}

HOSTCOMPUTE_API HRESULT PrjClearNegativePathCache(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                                  UINT32* totalEntryNumber)
{
    if (totalEntryNumber) *totalEntryNumber = 0;
    auto entry = findInstance(namespaceVirtualizationContext);
    if (!entry) return E_INVALIDARG;
    // Without PRJ_FLAG_USE_NEGATIVE_PATH_CACHE the cache stays empty: S_OK with 0.
    uint32_t dropped = entry->instance->negativePathCache().clear();
    if (totalEntryNumber) *totalEntryNumber = dropped;
    return S_OK;
}

HOSTCOMPUTE_API HRESULT
PrjGetVirtualizationInstanceInfo(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                 PRJ_VIRTUALIZATION_INSTANCE_INFO* virtualizationInstanceInfo)
{
    auto entry = findInstance(namespaceVirtualizationContext);
    if (!entry || virtualizationInstanceInfo == nullptr) return E_INVALIDARG;
    virtualizationInstanceInfo->InstanceID = entry->instance->options().instanceId;
    virtualizationInstanceInfo->WriteAlignment = kWriteAlignment;
    return S_OK;
}

HOSTCOMPUTE_API HRESULT PrjMarkDirectoryAsPlaceholder(PCWSTR rootPathName, PCWSTR targetPathName,
                                                      const PRJ_PLACEHOLDER_VERSION_INFO* versionInfo,
                                                      const GUID* virtualizationInstanceID)
{
    if (rootPathName == nullptr || virtualizationInstanceID == nullptr) return E_INVALIDARG;
    auto root = canonicalPath(rootPathName, "rootPathName");
    if (!root) return fail(root.error(), __func__);
    if (targetPathName != nullptr && targetPathName[0] != L'\0') {
        auto target = canonicalPath(targetPathName, "targetPathName");
        if (!target) return fail(target.error(), __func__);
        if (*target != *root) {
            if (target->compare(0, root->size() + 1, *root + "/") != 0) return E_INVALIDARG;
            Status status = markDirectoryPlaceholder(*target, versionInfo);
            return status ? S_OK : fail(status.error(), __func__);
        }
    }
    Status status = markVirtualizationRoot(*root, *virtualizationInstanceID, versionInfo);
    return status ? S_OK : fail(status.error(), __func__);
}

HOSTCOMPUTE_API HRESULT PrjWritePlaceholderInfo(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                                PCWSTR destinationFileName, const PRJ_PLACEHOLDER_INFO* placeholderInfo,
                                                UINT32 placeholderInfoSize)
{
    auto entry = findInstance(namespaceVirtualizationContext);
    if (!entry) return E_INVALIDARG;
    return entry->instance->writePlaceholderInfo(destinationFileName, placeholderInfo, placeholderInfoSize, nullptr);
}

HOSTCOMPUTE_API HRESULT PrjWritePlaceholderInfo2(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                                 PCWSTR destinationFileName,
                                                 const PRJ_PLACEHOLDER_INFO* placeholderInfo,
                                                 UINT32 placeholderInfoSize, const PRJ_EXTENDED_INFO* ExtendedInfo)
{
    auto entry = findInstance(namespaceVirtualizationContext);
    if (!entry) return E_INVALIDARG;
    return entry->instance->writePlaceholderInfo(destinationFileName, placeholderInfo, placeholderInfoSize,
                                                 ExtendedInfo);
}

HOSTCOMPUTE_API HRESULT PrjUpdateFileIfNeeded(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                              PCWSTR destinationFileName, const PRJ_PLACEHOLDER_INFO* placeholderInfo,
                                              UINT32 placeholderInfoSize, PRJ_UPDATE_TYPES updateFlags,
                                              PRJ_UPDATE_FAILURE_CAUSES* failureReason)
{
    if (failureReason) *failureReason = PRJ_UPDATE_FAILURE_CAUSE_NONE;
    auto entry = findInstance(namespaceVirtualizationContext);
    if (!entry || destinationFileName == nullptr || placeholderInfo == nullptr) return E_INVALIDARG;
    if (placeholderInfoSize < sizeof(PRJ_PLACEHOLDER_INFO)) return HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
    return updateFileIfNeeded(*entry->instance, destinationFileName, *placeholderInfo, updateFlags, failureReason);
}

HOSTCOMPUTE_API HRESULT PrjDeleteFile(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                      PCWSTR destinationFileName, PRJ_UPDATE_TYPES updateFlags,
                                      PRJ_UPDATE_FAILURE_CAUSES* failureReason)
{
    if (failureReason) *failureReason = PRJ_UPDATE_FAILURE_CAUSE_NONE;
    auto entry = findInstance(namespaceVirtualizationContext);
    if (!entry || destinationFileName == nullptr) return E_INVALIDARG;
    return deleteFile(*entry->instance, destinationFileName, updateFlags, failureReason);
}

HOSTCOMPUTE_API HRESULT
PrjInvalidateDirectoryListing(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext, PCWSTR directoryName)
{
    auto entry = findInstance(namespaceVirtualizationContext);
    if (!entry || directoryName == nullptr) return E_INVALIDARG;
    return invalidateDirectoryListing(*entry->instance, directoryName);
}

HOSTCOMPUTE_API HRESULT PrjWriteFileData(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                         const GUID* dataStreamId, void* buffer, UINT64 byteOffset, UINT32 length)
{
    auto entry = findInstance(namespaceVirtualizationContext);
    if (!entry || dataStreamId == nullptr || buffer == nullptr || length == 0) return E_INVALIDARG;
    return entry->instance->writeFileData(dataStreamId, buffer, byteOffset, length);
}

HOSTCOMPUTE_API HRESULT PrjGetOnDiskFileState(PCWSTR destinationFileName, PRJ_FILE_STATE* fileState)
{
    if (destinationFileName == nullptr || fileState == nullptr) return E_INVALIDARG;
    auto path = utf8FromCaller(destinationFileName, "destinationFileName");
    if (!path || path->empty()) return E_INVALIDARG;
    const HRESULT notConnected = hresultFromErrno(ENOTCONN);
    for (int attempt = 0;; ++attempt) {
        auto state = onDiskFileState(*path);
        if (state) {
            *fileState = *state;
            return S_OK;
        }
        if (state.hr() != notConnected || attempt > 0) return fail(state.error(), __func__);
        // Under a dead projfs mount (its provider was killed): detach it, the state is on disk below.
        auto detached = detachDeadMountsCovering(*path);
        if (!detached) return fail(detached.error(), __func__);
        if (*detached == 0) return fail(state.error(), __func__);
    }
}

HOSTCOMPUTE_API void* PrjAllocateAlignedBuffer(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                               size_t size)
{
    if (!findInstance(namespaceVirtualizationContext) || size == 0 || size > SIZE_MAX - kWriteAlignment) return nullptr;
    size_t rounded = (size + kWriteAlignment - 1) / kWriteAlignment * kWriteAlignment;
    return std::aligned_alloc(kWriteAlignment, rounded);
}

HOSTCOMPUTE_API void PrjFreeAlignedBuffer(void* buffer)
{
    std::free(buffer);
}

HOSTCOMPUTE_API HRESULT PrjCompleteCommand(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT namespaceVirtualizationContext,
                                           INT32 commandId, HRESULT completionResult,
                                           PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS* extendedParameters)
{
    auto entry = findInstance(namespaceVirtualizationContext);
    if (!entry) return E_INVALIDARG;
    return entry->instance->completeCommand(commandId, completionResult, extendedParameters);
}

HOSTCOMPUTE_API HRESULT PrjFillDirEntryBuffer(PCWSTR fileName, PRJ_FILE_BASIC_INFO* fileBasicInfo,
                                              PRJ_DIR_ENTRY_BUFFER_HANDLE dirEntryBufferHandle)
{
    return DirEntryBuffer::withBuffer(
        dirEntryBufferHandle, [&](DirEntryBuffer& buffer) { return buffer.add(fileName, fileBasicInfo, nullptr); });
}

HOSTCOMPUTE_API HRESULT PrjFillDirEntryBuffer2(PRJ_DIR_ENTRY_BUFFER_HANDLE dirEntryBufferHandle, PCWSTR fileName,
                                               PRJ_FILE_BASIC_INFO* fileBasicInfo, PRJ_EXTENDED_INFO* extendedInfo)
{
    return DirEntryBuffer::withBuffer(dirEntryBufferHandle, [&](DirEntryBuffer& buffer) {
        return buffer.add(fileName, fileBasicInfo, extendedInfo);
    });
}

}  // extern "C"
