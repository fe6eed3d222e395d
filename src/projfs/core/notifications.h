// Notifications: the provider's NotificationCallback — which notifications a path gets (the
// PRJ_NOTIFICATION_MAPPINGs, or a mask the provider wrote for one open file), sending one through the
// instance's invoke() (so it may pend and be completed by PrjCompleteCommand), and the pre-operation
// vetoes. The transport calls in at each operation with root-relative paths; nothing here sees FUSE.
//
// Cost when nobody listens: every hook starts with listening() (a null check of the callback) and
// wants() (a walk over the few mappings); only a notification that is really sent registers a command,
// reads /proc for the triggering process and calls the provider. Handles are tracked only while a
// NotificationCallback exists.
//
// Per-file state lives on the file's Inode (Inode::notify, under Inode::mutex), per-handle state on the
// open handle (OpenHandle, owned by the transport's FileHandle); this object keeps none of its own:
//   - handleOpened(): a handle the kernel opened through the mount (not the provider's own) is marked
//     tracked and counted on its Inode. A mask the provider writes into PostCreate / FileRenamed replaces
//     the file's mask (0 / USE_EXISTING_MASK keep it).
//   - takeHandle() at release untracks the handle; the file's mask goes with its last handle, after that
//     handle's close notification was decided under the mask. dropHandle() (a handle ended without a
//     release: a failed reply, or the session ended) untracks it silently.
//   - convertToFull(): one FILE_PRE_CONVERT_TO_FULL per file at a time; writers that race join the one in
//     flight (Inode::notify.converting) and share its answer; the waiters go only after the file was
//     marked full (the cached record says so, so a writer arriving later sends nothing).
//
// When notifications are sent (all before the reply of the request that caused them):
//   - pre-operation (PRE_DELETE, PRE_RENAME, PRE_SET_HARDLINK, FILE_PRE_CONVERT_TO_FULL): before the
//     operation; a failure vetoes it and the caller gets EACCES (see vetoResult()). PRE_RENAME,
//     PRE_SET_HARDLINK, FILE_RENAMED and HARDLINK_CREATED name the new path in destinationFileName.
//   - FILE_OPENED / NEW_FILE_CREATED / FILE_OVERWRITTEN / FILE_RENAMED / HARDLINK_CREATED: after the
//     operation succeeded, before the reply: the mask the provider returns must be in force before the
//     caller can use the handle, and a test (or a provider) sees them in the order of the caller's calls.
//   - FILE_HANDLE_CLOSED_*: at RELEASE, after the backing descriptor was closed. The kernel sends RELEASE
//     after close() returned, so this is already asynchronous to the caller; no executor hop is needed.
#pragma once

#include "base/result.h"
#include "projfs/core/inode.h"
#include "projfs/core/request_context.h"

#include <projectedfslib.h>

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace hc::projfs {

class VirtualizationInstance;

// One validated PRJ_NOTIFICATION_MAPPING: the root-relative directory as wide components.
struct NotificationMapping {
    std::vector<std::wstring> components;  // empty = the whole root
    PRJ_NOTIFY_TYPES mask = PRJ_NOTIFY_NONE;
};

inline constexpr uint32_t kDefaultNotificationMask =
    PRJ_NOTIFY_FILE_OPENED | PRJ_NOTIFY_NEW_FILE_CREATED | PRJ_NOTIFY_FILE_OVERWRITTEN;

// PrjStartVirtualizing's mappings: E_INVALIDARG for a NULL array with a count, a NULL or invalid
// NotificationRoot, or a mask with unknown bits (USE_EXISTING_MASK is not a mask). No mappings = the
// default mask for the whole root.
Result<std::vector<NotificationMapping>> parseNotificationMappings(const PRJ_NOTIFICATION_MAPPING* mappings,
                                                                   uint32_t count);
// The mask of the deepest mapping that contains `rel` (case-insensitive components); NONE if none does.
uint32_t mappedNotificationMask(const std::vector<NotificationMapping>& mappings, const std::string& rel);

class Notifications {
public:
    using Done = std::function<void(HRESULT)>;
    using Then = std::function<void()>;

    Notifications(VirtualizationInstance& instance, PRJ_NOTIFICATION_CB* callback,
                  std::vector<NotificationMapping> mappings);

    bool listening() const { return callback_ != nullptr; }
    // Whether `type` goes to the provider for `rel` on behalf of `ctx` (never for the provider's own I/O).
    bool wants(const RequestContext& ctx, const std::string& rel, PRJ_NOTIFICATION type);

    // ---- pre-operation: done(S_OK) lets the operation go on, done(failure) vetoes it ----
    void preDelete(const RequestContext& ctx, const std::string& rel, bool isDirectory, Done done);
    void preRename(const RequestContext& ctx, const std::string& fromRel, const std::string& toRel, bool isDirectory,
                   Done done);
    void preSetHardlink(const RequestContext& ctx, const std::string& rel, const std::string& newRel, Done done);
    // Before the placeholder `inode` becomes full: asks once (racing callers share the answer); on S_OK runs
    // `convert` (which marks the file full, through the cached record) before anyone is answered.
    void convertToFull(const RequestContext& ctx, const std::shared_ptr<Inode>& inode, const std::string& rel,
                       std::function<HRESULT()> convert, Done done);

    // What a handle opened through the mount remembers for its close notification (owned by the handle).
    struct OpenHandle {
        bool tracked = false;  // counted on its Inode (a handle of the kernel, opened while listening)
        std::string rel;       // where it was opened
        bool writable = false;
        timespec mtime{};
        off_t size = 0;
    };

    // ---- post-operation: `then` runs once the provider has answered (or at once) ----
    // `handle` (backing descriptor `fd`, of `inode`) was opened (OPENED / OVERWRITTEN) or created
    // (NEW_FILE_CREATED). Fills `handle` before it returns.
    void handleOpened(const RequestContext& ctx, const std::string& rel, const std::shared_ptr<Inode>& inode, int fd,
                      bool writable, PRJ_NOTIFICATION type, OpenHandle& handle, Then then);
    // mkdir / mknod / symlink: NEW_FILE_CREATED without a handle.
    void itemCreated(const RequestContext& ctx, const std::string& rel, bool isDirectory, Then then);
    void renamed(const RequestContext& ctx, const std::string& fromRel, const std::string& toRel, bool isDirectory,
                 Then then);
    void hardlinkCreated(const RequestContext& ctx, const std::string& rel, const std::string& newRel, Then then);

    // ---- handle close ----
    struct ClosedHandle {
        std::string rel;
        PRJ_NOTIFICATION type = PRJ_NOTIFICATION_FILE_HANDLE_CLOSED_NO_MODIFICATION;
        bool fileModified = false;
    };
    // At release, before the descriptor `fd` is closed: what to send, if anything (the handle is
    // untracked). `currentRel` is where the file is now (it may have been renamed since the open).
    std::optional<ClosedHandle> takeHandle(Inode& inode, OpenHandle& handle, int fd,
                                           const std::optional<std::string>& currentRel);
    void sendHandleClosed(const RequestContext& ctx, const ClosedHandle& closed, Then then);
    // The handle ends without a release (failed reply, session ended): untrack it without notifying.
    static void dropHandle(Inode& inode, OpenHandle& handle);

    // How a veto reaches the caller (see notifications.cpp).
    static HRESULT vetoResult(HRESULT providerResult);

private:
    // The provider-written mask of `inode` while it has one, else the mappings' mask for `rel`.
    uint32_t maskFor(const std::string& rel, Inode* inode);
    // Sends one notification; done(result, mask the provider asked for: 0 = keep).
    void send(const RequestContext& ctx, PRJ_NOTIFICATION type, const std::string& rel, bool isDirectory,
              std::optional<std::wstring> destination, std::function<void(HRESULT, uint32_t)> done);
    void sendPre(const RequestContext& ctx, PRJ_NOTIFICATION type, const std::string& rel, bool isDirectory,
                 std::optional<std::wstring> destination, Done done);
    static void applyMask(Inode& inode, uint32_t mask);
    static void finishConversion(Inode& inode, HRESULT hr);

    VirtualizationInstance& instance_;
    PRJ_NOTIFICATION_CB* const callback_;
    const std::vector<NotificationMapping> mappings_;
};

}  // namespace hc::projfs
