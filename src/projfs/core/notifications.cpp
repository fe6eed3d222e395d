#include "projfs/core/notifications.h"

#include "base/hresult.h"
#include "base/log.h"
#include "base/strings.h"
#include "projfs/core/virtualization_instance.h"
#include "projfs/store/name_rules.h"
#include "projfs/store/rel_path.h"

#include <sys/stat.h>

#include <utility>

namespace hc::projfs {
namespace {

constexpr uint32_t kAllNotifyBits = 0x1FFF;  // SUPPRESS_NOTIFICATIONS .. FILE_PRE_CONVERT_TO_FULL

std::vector<std::wstring> wideComponents(const std::string& rel)
{
    std::vector<std::wstring> out;
    size_t start = 0;
    while (start < rel.size()) {
        size_t slash = rel.find('/', start);
        if (slash == std::string::npos) slash = rel.size();
        out.push_back(wideFromDiskName(std::string_view(rel).substr(start, slash - start)));
        start = slash + 1;
    }
    return out;
}

bool contains(const NotificationMapping& mapping, const std::vector<std::wstring>& path)
{
    if (mapping.components.size() > path.size()) return false;
    for (size_t i = 0; i < mapping.components.size(); ++i) {
        if (!namesEqualIgnoringCase(mapping.components[i], path[i])) return false;
    }
    return true;
}

bool sameTime(const timespec& a, const timespec& b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

}  // namespace

Result<std::vector<NotificationMapping>> parseNotificationMappings(const PRJ_NOTIFICATION_MAPPING* mappings,
                                                                   uint32_t count)
{
    std::vector<NotificationMapping> out;
    if (count == 0) {
        out.push_back({{}, static_cast<PRJ_NOTIFY_TYPES>(kDefaultNotificationMask)});
        return out;
    }
    if (mappings == nullptr) return makeError(E_INVALIDARG, "NotificationMappings is NULL with a count");
    for (uint32_t i = 0; i < count; ++i) {
        const std::string which = "NotificationMappings[" + std::to_string(i) + "]";
        if (mappings[i].NotificationRoot == nullptr) {
            return makeError(E_INVALIDARG, which + ".NotificationRoot is NULL");
        }
        uint32_t mask = static_cast<uint32_t>(mappings[i].NotificationBitMask);
        if ((mask & ~kAllNotifyBits) != 0) {
            return makeError(E_INVALIDARG, which + ".NotificationBitMask has unknown bits");
        }
        // An empty root is the whole virtualization root (relFromProviderPath gives "").
        auto rel = relFromProviderPath(mappings[i].NotificationRoot, (which + ".NotificationRoot").c_str());
        if (!rel) return makeError(E_INVALIDARG, rel.error().message);
        out.push_back({wideComponents(*rel), static_cast<PRJ_NOTIFY_TYPES>(mask)});
    }
    return out;
}

uint32_t mappedNotificationMask(const std::vector<NotificationMapping>& mappings, const std::string& rel)
{
    const auto path = wideComponents(rel);
    const NotificationMapping* best = nullptr;
    for (const auto& mapping : mappings) {
        if (contains(mapping, path) && (best == nullptr || mapping.components.size() > best->components.size())) {
            best = &mapping;
        }
    }
    return best ? static_cast<uint32_t>(best->mask) : PRJ_NOTIFY_NONE;
}

// Windows fails a vetoed delete with STATUS_CANNOT_DELETE, which Win32 callers see as
// ERROR_ACCESS_DENIED; a vetoed rename, hard link or conversion to full fails with access denied too.
// Whatever failure the provider returned, the caller gets access denied: EACCES here (E_ACCESSDENIED's
// row in the errno table), the errno a POSIX program expects when it may not change the directory or file.
HRESULT Notifications::vetoResult(HRESULT providerResult)
{
    return FAILED(providerResult) ? E_ACCESSDENIED : S_OK;
}

Notifications::Notifications(VirtualizationInstance& instance, PRJ_NOTIFICATION_CB* callback,
                             std::vector<NotificationMapping> mappings)
    : instance_(instance), callback_(callback), mappings_(std::move(mappings))
{
}

uint32_t Notifications::maskFor(const std::string& rel, Inode* inode)
{
    if (inode != nullptr) {
        std::lock_guard lock(inode->mutex);
        if (inode->notify.mask) return *inode->notify.mask;
    }
    return mappedNotificationMask(mappings_, rel);
}

bool Notifications::wants(const RequestContext& ctx, const std::string& rel, PRJ_NOTIFICATION type)
{
    if (callback_ == nullptr || instance_.isProviderRequest(ctx)) return false;
    uint32_t mask = maskFor(rel, instance_.inodes().find(rel).get());
    return (mask & PRJ_NOTIFY_SUPPRESS_NOTIFICATIONS) == 0 && (mask & static_cast<uint32_t>(type)) != 0;
}

void Notifications::send(const RequestContext& ctx, PRJ_NOTIFICATION type, const std::string& rel, bool isDirectory,
                         std::optional<std::wstring> destination, std::function<void(HRESULT, uint32_t)> done)
{
    // Owned by the command: the callback and a later completion both reach it.
    struct Call {
        PRJ_NOTIFICATION_PARAMETERS params{};
        std::optional<std::wstring> destination;
    };
    auto call = std::make_shared<Call>();
    call->destination = std::move(destination);
    Invocation invocation;
    invocation.kind = CommandKind::Notification;
    invocation.filePathName = providerPathFromRel(rel);
    invocation.cancellable = false;
    PRJ_NOTIFICATION_CB* callback = callback_;
    instance_.invoke(
        ctx, invocation,
        [callback, call, isDirectory, type](const PRJ_CALLBACK_DATA& data) {
            return callback(&data, isDirectory ? TRUE : FALSE, type,
                            call->destination ? call->destination->c_str() : nullptr, &call->params);
        },
        [call, done = std::move(done)](HRESULT hr) {
            uint32_t mask = PRJ_NOTIFY_NONE;
            if (VirtualizationInstance::onProviderCompletionThread()) {
                // Completed by PrjCompleteCommand: the new mask comes with it (the callback may still be
                // running on its own thread, so its parameters are not read).
                const auto* ext = VirtualizationInstance::completionParameters();
                if (ext != nullptr && ext->CommandType == PRJ_COMPLETE_COMMAND_TYPE_NOTIFICATION) {
                    mask = static_cast<uint32_t>(ext->Notification.NotificationMask);
                }
            } else {
                mask = static_cast<uint32_t>(call->params.PostCreate.NotificationMask);  // FileRenamed alias
            }
            done(hr, mask);
        },
        /*hookInterrupt=*/false);
}

void Notifications::sendPre(const RequestContext& ctx, PRJ_NOTIFICATION type, const std::string& rel, bool isDirectory,
                            std::optional<std::wstring> destination, Done done)
{
    send(ctx, type, rel, isDirectory, std::move(destination),
         [rel, type, done = std::move(done)](HRESULT hr, uint32_t) {
             if (FAILED(hr)) {
                 HC_LOG(Debug, "projfs",
                        "notification " + std::to_string(type) + " on '" + rel + "' vetoed: " + hresultName(hr));
             }
             done(vetoResult(hr));
         });
}

void Notifications::preDelete(const RequestContext& ctx, const std::string& rel, bool isDirectory, Done done)
{
    if (!wants(ctx, rel, PRJ_NOTIFICATION_PRE_DELETE)) return done(S_OK);
    sendPre(ctx, PRJ_NOTIFICATION_PRE_DELETE, rel, isDirectory, std::nullopt, std::move(done));
}

void Notifications::preRename(const RequestContext& ctx, const std::string& fromRel, const std::string& toRel,
                              bool isDirectory, Done done)
{
    if (!wants(ctx, fromRel, PRJ_NOTIFICATION_PRE_RENAME)) return done(S_OK);
    sendPre(ctx, PRJ_NOTIFICATION_PRE_RENAME, fromRel, isDirectory, providerPathFromRel(toRel), std::move(done));
}

void Notifications::preSetHardlink(const RequestContext& ctx, const std::string& rel, const std::string& newRel,
                                   Done done)
{
    if (!wants(ctx, rel, PRJ_NOTIFICATION_PRE_SET_HARDLINK)) return done(S_OK);
    sendPre(ctx, PRJ_NOTIFICATION_PRE_SET_HARDLINK, rel, false, providerPathFromRel(newRel), std::move(done));
}

void Notifications::convertToFull(const RequestContext& ctx, const std::shared_ptr<Inode>& inode,
                                  const std::string& rel, std::function<HRESULT()> convert, Done done)
{
    if (!wants(ctx, rel, PRJ_NOTIFICATION_FILE_PRE_CONVERT_TO_FULL)) return done(convert());
    {
        std::lock_guard lock(inode->mutex);
        if (inode->notify.converting) {
            inode->notify.converting->push_back(std::move(done));  // one notification for racing writers
            return;
        }
        // A writer that finished converting meanwhile wrote Full through the cached record.
        bool full = inode->record && inode->record->state == ItemState::Full;
        if (!full) {
            inode->notify.converting.emplace().push_back(std::move(done));
            done = nullptr;
        }
    }
    if (done) return done(S_OK);
    sendPre(ctx, PRJ_NOTIFICATION_FILE_PRE_CONVERT_TO_FULL, rel, false, std::nullopt,
            [inode, convert = std::move(convert)](HRESULT hr) {
                if (SUCCEEDED(hr)) hr = convert();
                finishConversion(*inode, hr);
            });
}

void Notifications::finishConversion(Inode& inode, HRESULT hr)
{
    std::vector<Done> waiters;
    {
        std::lock_guard lock(inode.mutex);
        if (!inode.notify.converting) return;
        waiters = std::move(*inode.notify.converting);
        inode.notify.converting.reset();
    }
    for (auto& waiter : waiters)
        waiter(hr);
}

void Notifications::applyMask(Inode& inode, uint32_t mask)
{
    if (mask == PRJ_NOTIFY_NONE || mask == static_cast<uint32_t>(PRJ_NOTIFY_USE_EXISTING_MASK)) return;
    std::lock_guard lock(inode.mutex);
    // No handle left: nothing to keep it for.
    if (inode.notify.handles > 0) inode.notify.mask = mask & kAllNotifyBits;
}

void Notifications::handleOpened(const RequestContext& ctx, const std::string& rel, const std::shared_ptr<Inode>& inode,
                                 int fd, bool writable, PRJ_NOTIFICATION type, OpenHandle& handle, Then then)
{
    if (callback_ == nullptr || instance_.isProviderRequest(ctx)) return then();
    struct stat st {};
    if (::fstat(fd, &st) != 0) return then();
    handle = OpenHandle{true, rel, writable, st.st_mtim, st.st_size};
    {
        std::lock_guard lock(inode->mutex);
        inode->notify.handles++;
    }
    // A new handle of a file another handle holds open is under that file's mask.
    uint32_t mask = maskFor(rel, inode.get());
    if ((mask & PRJ_NOTIFY_SUPPRESS_NOTIFICATIONS) != 0 || (mask & static_cast<uint32_t>(type)) == 0) return then();
    send(ctx, type, rel, false, std::nullopt, [inode, then = std::move(then)](HRESULT, uint32_t m) {
        applyMask(*inode, m);
        then();
    });
}

void Notifications::itemCreated(const RequestContext& ctx, const std::string& rel, bool isDirectory, Then then)
{
    if (!wants(ctx, rel, PRJ_NOTIFICATION_NEW_FILE_CREATED)) return then();
    send(ctx, PRJ_NOTIFICATION_NEW_FILE_CREATED, rel, isDirectory, std::nullopt,
         [then = std::move(then)](HRESULT, uint32_t) { then(); });
}

void Notifications::renamed(const RequestContext& ctx, const std::string& fromRel, const std::string& toRel,
                            bool isDirectory, Then then)
{
    if (callback_ == nullptr || instance_.isProviderRequest(ctx)) return then();
    // The file keeps the mask it had where it was (its mapping or a provider-written mask).
    auto inode = instance_.inodes().find(toRel);
    uint32_t mask = maskFor(fromRel, inode.get());
    if ((mask & PRJ_NOTIFY_SUPPRESS_NOTIFICATIONS) != 0 || (mask & PRJ_NOTIFY_FILE_RENAMED) == 0) return then();
    // As on Windows: FilePathName is the old path, destinationFileName the new one.
    send(ctx, PRJ_NOTIFICATION_FILE_RENAMED, fromRel, isDirectory, providerPathFromRel(toRel),
         [this, inode, then = std::move(then)](HRESULT, uint32_t m) {
             if (inode) applyMask(*inode, m);
             then();
         });
}

void Notifications::hardlinkCreated(const RequestContext& ctx, const std::string& rel, const std::string& newRel,
                                    Then then)
{
    if (!wants(ctx, rel, PRJ_NOTIFICATION_HARDLINK_CREATED)) return then();
    // FilePathName is the existing file, destinationFileName the new link.
    send(ctx, PRJ_NOTIFICATION_HARDLINK_CREATED, rel, false, providerPathFromRel(newRel),
         [then = std::move(then)](HRESULT, uint32_t) { then(); });
}

std::optional<Notifications::ClosedHandle> Notifications::takeHandle(Inode& inode, OpenHandle& handle, int fd,
                                                                     const std::optional<std::string>& currentRel)
{
    // Not tracked: the provider's own handle, or opened before listening. Release requests carry no
    // thread, so this is the only way the provider's own handles are told apart here.
    if (callback_ == nullptr || !handle.tracked) return std::nullopt;
    handle.tracked = false;
    struct stat st {};
    bool statted = ::fstat(fd, &st) == 0;
    ClosedHandle closed;
    uint32_t mask;
    {
        std::lock_guard lock(inode.mutex);
        auto& file = inode.notify;
        bool modified =
            handle.writable && statted && (!sameTime(st.st_mtim, handle.mtime) || st.st_size != handle.size);
        file.modified = file.modified || modified;
        bool last = file.handles <= 1;
        if (file.handles > 0) --file.handles;
        bool deleted = statted && st.st_nlink == 0;
        closed.rel = currentRel && !deleted ? *currentRel : handle.rel;
        if (deleted && last) {
            closed.type = PRJ_NOTIFICATION_FILE_HANDLE_CLOSED_FILE_DELETED;
            closed.fileModified = file.modified;
        } else {
            closed.type = modified ? PRJ_NOTIFICATION_FILE_HANDLE_CLOSED_FILE_MODIFIED
                                   : PRJ_NOTIFICATION_FILE_HANDLE_CLOSED_NO_MODIFICATION;
            closed.fileModified = modified;
        }
        // This close is still under the file's mask; the mask goes with the last handle.
        mask = file.mask ? *file.mask : mappedNotificationMask(mappings_, closed.rel);
        if (last) {
            file.mask.reset();
            file.modified = false;
        }
    }
    if ((mask & PRJ_NOTIFY_SUPPRESS_NOTIFICATIONS) != 0 || (mask & static_cast<uint32_t>(closed.type)) == 0) {
        return std::nullopt;
    }
    return closed;
}

void Notifications::sendHandleClosed(const RequestContext& ctx, const ClosedHandle& closed, Then then)
{
    struct Call {
        PRJ_NOTIFICATION_PARAMETERS params{};
    };
    Invocation invocation;
    invocation.kind = CommandKind::Notification;
    invocation.filePathName = providerPathFromRel(closed.rel);
    invocation.cancellable = false;
    auto state = std::make_shared<Call>();
    state->params.FileDeletedOnHandleClose.IsFileModified = closed.fileModified ? TRUE : FALSE;
    PRJ_NOTIFICATION_CB* callback = callback_;
    PRJ_NOTIFICATION type = closed.type;
    instance_.invoke(
        ctx, invocation,
        [callback, state, type](const PRJ_CALLBACK_DATA& data) {
            return callback(&data, FALSE, type, nullptr, &state->params);
        },
        [then = std::move(then)](HRESULT) { then(); }, /*hookInterrupt=*/false);
}

void Notifications::dropHandle(Inode& inode, OpenHandle& handle)
{
    if (!handle.tracked) return;
    handle.tracked = false;
    std::lock_guard lock(inode.mutex);
    if (inode.notify.handles > 0 && --inode.notify.handles == 0) {
        inode.notify.mask.reset();
        inode.notify.modified = false;
    }
}

}  // namespace hc::projfs
