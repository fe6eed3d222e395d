#include "git_provider.h"

#include "base/guid.h"
#include "base/strings.h"
#include "extended_info_chain.h"
#include "git_worktree.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <ctime>

namespace prjfs {
namespace {

constexpr HRESULT kPending = HRESULT_FROM_WIN32(ERROR_IO_PENDING);
constexpr size_t kDataChunk = 1 << 20;  // bytes per PrjWriteFileData call
constexpr char kProviderId[] = "prjfs-git";

struct AlignedBuffer {
    void* data;
    ~AlignedBuffer() { PrjFreeAlignedBuffer(data); }
};

// Seconds since 1970 -> FILETIME ticks (100 ns since 1601).
LONGLONG filetimeFromUnix(int64_t seconds)
{
    return (seconds + 11644473600LL) * 10000000LL;
}

// '\\'-separated ProjFS path -> the '/'-separated UTF-8 path GitState records ("" when unusable).
std::string recordedPath(PCWSTR path)
{
    if (!path) return {};
    auto utf8 = hc::toUtf8(path);
    if (!utf8.ok()) return {};
    std::replace(utf8->begin(), utf8->end(), '\\', '/');
    return *utf8;
}

}  // namespace

PRJ_PLACEHOLDER_INFO placeholderInfoFor(const GitEntry& entry, int64_t commitTime)
{
    PRJ_PLACEHOLDER_INFO info = {};
    PRJ_FILE_BASIC_INFO& basic = info.FileBasicInfo;
    basic.IsDirectory = entry.isDirectory();
    basic.FileSize = entry.isDirectory() ? 0 : static_cast<INT64>(entry.size);
    const LONGLONG when = filetimeFromUnix(commitTime);
    basic.CreationTime.QuadPart = when;
    basic.LastAccessTime.QuadPart = when;
    basic.LastWriteTime.QuadPart = when;
    basic.ChangeTime.QuadPart = when;
    basic.FileAttributes = entry.isDirectory() ? FILE_ATTRIBUTE_DIRECTORY : FILE_ATTRIBUTE_NORMAL;
    std::memcpy(info.VersionInfo.ProviderID, kProviderId, sizeof(kProviderId));
    const std::string id = oidHex(entry.id);
    std::memcpy(info.VersionInfo.ContentID, id.data(), id.size());
    return info;
}

namespace {

// Modes as git checks files out — executables 0755, other files 0644, directories 0755 — given exactly
// (hostcompute's POSIX entry); the owner stays the provider's.
PRJ_HOSTCOMPUTE_POSIX_INFO posixInfoFor(const GitEntry& entry)
{
    PRJ_HOSTCOMPUTE_POSIX_INFO info = {};
    info.InfoType = PRJ_EXT_INFO_TYPE_HOSTCOMPUTE_POSIX;
    info.Fields = PRJ_HOSTCOMPUTE_POSIX_MODE;
    info.Mode = (entry.isDirectory() || entry.mode == GIT_FILEMODE_BLOB_EXECUTABLE) ? 0755 : 0644;
    return info;
}

// A symbolic link's target is its blob's text; "" for anything that is not a link. A link blob that
// cannot be read or is not UTF-8 is an error: projecting it as a regular file would show the wrong type.
hc::Result<std::wstring> linkTargetOf(const GitRevision& revision, const GitEntry& entry)
{
    if (entry.mode != GIT_FILEMODE_LINK) return std::wstring();
    std::string text;
    HRESULT hr = revision.readBlob(entry.id, 0, 4096, [&](const void* data, uint64_t, size_t length) {
        text.append(static_cast<const char*>(data), length);
        return S_OK;
    });
    if (FAILED(hr)) return hc::makeError(hr, "reading link blob " + oidHex(entry.id));
    auto wide = hc::fromUtf8(text);
    if (!wide.ok()) return hc::makeError(E_INVALIDARG, "link blob " + oidHex(entry.id) + " is not UTF-8");
    return std::move(*wide);
}

}  // namespace

HRESULT fillEntry(PRJ_DIR_ENTRY_BUFFER_HANDLE buffer, const GitRevision& revision, const GitEntry& entry, int64_t time)
{
    auto target = linkTargetOf(revision, entry);
    if (!target.ok()) return target.hr();
    PRJ_PLACEHOLDER_INFO info = placeholderInfoFor(entry, time);
    ExtendedInfoChain extended(posixInfoFor(entry), std::move(*target));
    return PrjFillDirEntryBuffer2(buffer, entry.name.c_str(), &info.FileBasicInfo, extended.head());
}

HRESULT writeEntryPlaceholder(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context, PCWSTR path, const GitRevision& revision,
                              const GitEntry& entry, int64_t time)
{
    auto target = linkTargetOf(revision, entry);
    if (!target.ok()) return target.hr();
    PRJ_PLACEHOLDER_INFO info = placeholderInfoFor(entry, time);
    ExtendedInfoChain extended(posixInfoFor(entry), std::move(*target));
    return PrjWritePlaceholderInfo2(context, path, &info, sizeof(info), extended.head());
}

std::string contentIdOf(const PRJ_PLACEHOLDER_VERSION_INFO* version)
{
    if (!version) return {};
    const auto* bytes = reinterpret_cast<const char*>(version->ContentID);
    return std::string(bytes, strnlen(bytes, PRJ_PLACEHOLDER_ID_LENGTH));
}

GitProvider::GitProvider(GitOptions options) : options_(std::move(options)) {}

GitProvider::~GitProvider()
{
    stop();
}

hc::Status GitProvider::start()
{
    auto root = hc::fromUtf8(options_.root);
    if (!root.ok()) return hc::makeError(E_INVALIDARG, "ROOT is not valid UTF-8");
    struct stat st {};
    if (stat(options_.root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return hc::makeError(HRESULT_FROM_WIN32(ERROR_DIRECTORY), "ROOT is not a directory: " + options_.root);

    auto existing = GitState::load(options_.root);
    if (existing.ok()) {
        // A restart: the root keeps projecting its recorded commit (switching is `prjfs git checkout`).
        auto revision = GitRevision::open((*existing)->gitDir(), (*existing)->commit());
        if (!revision.ok()) return revision.error();
        if (!options_.rev.empty()) {
            auto wanted = GitRevision::open((*existing)->gitDir(), options_.rev);
            if (!wanted.ok()) return wanted.error();
            if (git_oid_cmp(&(*wanted)->commit(), &(*revision)->commit()) != 0)
                return hc::makeError(E_INVALIDARG, options_.root + " projects " + (*existing)->commit() +
                                                       "; use `prjfs git checkout` to switch");
        }
        revision_ = std::move(*revision);
        state_ = std::move(*existing);
    } else {
        auto revision = GitRevision::open(options_.repo, options_.rev.empty() ? "HEAD" : options_.rev);
        if (!revision.ok()) return revision.error();
        revision_ = std::move(*revision);
        const GUID instanceId = hc::newGuid();
        HRESULT hr = PrjMarkDirectoryAsPlaceholder(root->c_str(), nullptr, nullptr, &instanceId);
        if (FAILED(hr) && hr != HRESULT_FROM_WIN32(ERROR_REPARSE_POINT_ENCOUNTERED))
            return hc::makeError(hr, "PrjMarkDirectoryAsPlaceholder(" + options_.root + ")");
        // Placeholder times never change (git's index holds them); never in the future, so git never
        // finds an entry "racily clean" and reads it.
        const int64_t epoch = std::min<int64_t>(revision_->commitTime(), ::time(nullptr) - 2);
        auto created = GitState::create(options_.root, revision_->gitDir(), oidHex(revision_->commit()), epoch);
        if (!created.ok()) return created.error();
        state_ = std::move(*created);
        auto worktree = writeWorktree(*revision_, absolutePath(options_.root), state_->adminDir(), epoch);
        if (!worktree.ok()) return worktree.error();
    }

    PRJ_CALLBACKS callbacks = {};
    callbacks.StartDirectoryEnumerationCallback = onStartEnum;
    callbacks.EndDirectoryEnumerationCallback = onEndEnum;
    callbacks.GetDirectoryEnumerationCallback = onGetEnum;
    callbacks.GetPlaceholderInfoCallback = onGetPlaceholderInfo;
    callbacks.GetFileDataCallback = onGetFileData;
    callbacks.NotificationCallback = onNotification;
    callbacks.CancelCommandCallback = onCancel;

    PRJ_NOTIFICATION_MAPPING mapping = {};
    mapping.NotificationRoot = L"";
    mapping.NotificationBitMask = PRJ_NOTIFY_NEW_FILE_CREATED | PRJ_NOTIFY_FILE_OVERWRITTEN | PRJ_NOTIFY_FILE_RENAMED |
                                  PRJ_NOTIFY_PRE_DELETE | PRJ_NOTIFY_FILE_PRE_CONVERT_TO_FULL |
                                  PRJ_NOTIFY_FILE_HANDLE_CLOSED_FILE_MODIFIED |
                                  PRJ_NOTIFY_FILE_HANDLE_CLOSED_FILE_DELETED | PRJ_NOTIFY_HARDLINK_CREATED;
    PRJ_STARTVIRTUALIZING_OPTIONS startOptions = {};
    startOptions.ConcurrentThreadCount = options_.threads;
    startOptions.NotificationMappings = &mapping;
    startOptions.NotificationMappingsCount = 1;
    pool_ = std::make_unique<WorkerPool>(options_.threads ? options_.threads : 4);

    HRESULT hr = PrjStartVirtualizing(root->c_str(), &callbacks, this, &startOptions, &context_);
    if (FAILED(hr)) {
        context_ = nullptr;
        pool_.reset();
        return hc::makeError(hr, "PrjStartVirtualizing(" + options_.root + ")");
    }
    return {};
}

std::shared_ptr<GitRevision> GitProvider::currentRevision() const
{
    std::lock_guard lock(revisionMutex_);
    return revision_;
}

std::string GitProvider::commitHex() const
{
    const auto revision = currentRevision();
    return revision ? oidHex(revision->commit()) : std::string();
}

hc::Result<CheckoutReport> GitProvider::checkout(const std::string& rev, bool force)
{
    if (!context_)
        return hc::makeError(HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_UNAVAILABLE), "not running");
    auto target = GitRevision::open(state_->gitDir(), rev);
    if (!target.ok()) return target.error();
    std::shared_ptr<GitRevision> to = std::move(*target);
    const auto from = currentRevision();
    auto report = checkoutRevision(context_, options_.root, *from, *to, state_->epoch(), force, [&] {
        std::lock_guard lock(revisionMutex_);
        revision_ = to;
    });
    if (!report.ok() || !report->conflicts.empty()) return report;
    auto saved = state_->setCommit(oidHex(to->commit()));
    if (!saved.ok()) return saved.error();
    auto worktree = updateWorktree(*to, state_->adminDir(), state_->epoch(), report->changes);
    if (!worktree.ok()) return worktree.error();
    return report;
}

void GitProvider::stop()
{
    if (!context_) return;
    // Finish what is pended first: after PrjStopVirtualizing nothing may complete against context_.
    if (pool_) pool_->shutdown();
    PrjStopVirtualizing(context_);
    context_ = nullptr;
    pool_.reset();
}

GitProvider* GitProvider::self(const PRJ_CALLBACK_DATA* data)
{
    return static_cast<GitProvider*>(data->InstanceContext);
}

HRESULT GitProvider::dispatch(const PRJ_CALLBACK_DATA* data, Work work)
{
    const INT32 commandId = data->CommandId;
    cancellations_.track(commandId);  // before pending: a racing cancellation must find it
    const PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context = data->NamespaceVirtualizationContext;
    bool queued = pool_->submit([this, context, commandId, work] {
        if (cancellations_.isCancelled(commandId)) {
            cancellations_.untrack(commandId);
            return;  // ProjFS has already failed the request; End still follows for enumerations
        }
        PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS extended = {};
        HRESULT hr = work(&extended);
        PrjCompleteCommand(context, commandId, hr, extended.CommandType ? &extended : nullptr);
        cancellations_.untrack(commandId);
    });
    if (queued) return kPending;
    cancellations_.untrack(commandId);
    return work(nullptr);
}

// ---- enumeration ----

HRESULT GitProvider::startEnumeration(const GUID& id, const std::wstring& path)
{
    const auto revision = currentRevision();
    auto resolved = revision->resolve(path.c_str());
    if (!resolved.ok()) return resolved.hr();
    std::vector<GitEntry> entries;
    if (resolved->entry.mode == GIT_FILEMODE_TREE) {
        auto listed = revision->list(resolved->entry.id);
        if (!listed.ok()) return listed.hr();
        entries = std::move(*listed);
    } else if (resolved->entry.mode != GIT_FILEMODE_COMMIT) {  // a submodule projects as an empty directory
        return HRESULT_FROM_WIN32(ERROR_DIRECTORY);
    }
    enumerations_.start(id, std::move(entries));
    return S_OK;
}

HRESULT GitProvider::fillEnumeration(const GUID& id, PRJ_CALLBACK_DATA_FLAGS flags, const std::wstring& expression,
                                     PRJ_DIR_ENTRY_BUFFER_HANDLE buffer)
{
    const int64_t time = state_->epoch();
    const auto revision = currentRevision();
    return enumerations_.fill(id, flags, expression, buffer,
                              [time, &revision](const GitEntry& entry, PRJ_DIR_ENTRY_BUFFER_HANDLE into) {
                                  return fillEntry(into, *revision, entry, time);
                              });
}

HRESULT CALLBACK GitProvider::onStartEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId)
{
    GitProvider* provider = self(data);
    const GUID id = *enumerationId;
    std::wstring path = data->FilePathName;
    return provider->dispatch(data, [provider, id, path](PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS*) {
        return provider->startEnumeration(id, path);
    });
}

HRESULT CALLBACK GitProvider::onEndEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId)
{
    // Nothing slow to do: answered at once, so a session never outlives its enumeration.
    self(data)->enumerations_.end(*enumerationId);
    return S_OK;
}

HRESULT CALLBACK GitProvider::onGetEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId, PCWSTR expression,
                                        PRJ_DIR_ENTRY_BUFFER_HANDLE buffer)
{
    GitProvider* provider = self(data);
    const GUID id = *enumerationId;
    const PRJ_CALLBACK_DATA_FLAGS flags = data->Flags;
    std::wstring pattern = expression ? expression : L"*";
    return provider->dispatch(data, [=](PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS* extended) {
        if (extended) {
            extended->CommandType = PRJ_COMPLETE_COMMAND_TYPE_ENUMERATION;
            extended->Enumeration.DirEntryBufferHandle = buffer;
        }
        return provider->fillEnumeration(id, flags, pattern, buffer);
    });
}

// ---- placeholders and data ----

HRESULT GitProvider::writePlaceholder(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context, const std::wstring& path)
{
    const auto revision = currentRevision();
    auto resolved = revision->resolve(path.c_str());
    if (!resolved.ok()) return resolved.hr();
    return writeEntryPlaceholder(context, resolved->spelling.c_str(), *revision, resolved->entry, state_->epoch());
}

UINT32 GitProvider::writeAlignment(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context)
{
    UINT32 alignment = writeAlignment_.load();
    if (alignment == 0) {
        PRJ_VIRTUALIZATION_INSTANCE_INFO info = {};
        alignment = SUCCEEDED(PrjGetVirtualizationInstanceInfo(context, &info)) && info.WriteAlignment
                        ? info.WriteAlignment
                        : 4096;
        writeAlignment_.store(alignment);
    }
    return alignment;
}

HRESULT GitProvider::writeFileData(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context, INT32 commandId,
                                   const GUID& dataStreamId, const std::wstring& path, const std::string& contentId,
                                   UINT64 byteOffset, UINT32 length)
{
    // The ContentID names the blob, whatever the file is called now; the path is the fallback.
    const auto revision = currentRevision();
    git_oid id = {};
    if (contentId.empty() || git_oid_fromstrn(&id, contentId.data(), contentId.size()) != 0) {
        auto resolved = revision->resolve(path.c_str());
        if (!resolved.ok()) return resolved.hr();
        if (resolved->entry.isDirectory()) return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
        id = resolved->entry.id;
    }
    const UINT32 alignment = writeAlignment(context);
    const size_t chunk = (kDataChunk + alignment - 1) / alignment * alignment;
    AlignedBuffer buffer{PrjAllocateAlignedBuffer(context, chunk)};
    if (!buffer.data) return E_OUTOFMEMORY;
    // From the requested offset (rounded down to the alignment) to the end of the blob: more than asked
    // is allowed, and a second request would inflate the blob again.
    const UINT64 from = byteOffset / alignment * alignment;
    hc::tools::HydrationProgress::Scope progress = hydrations_.start(path, length);
    return revision->readBlob(id, from, chunk, [&](const void* data, uint64_t offset, size_t piece) {
        if (cancellations_.isCancelled(commandId)) return HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED);
        std::memcpy(buffer.data, data, piece);
        progress.advance(piece);
        return PrjWriteFileData(context, &dataStreamId, buffer.data, offset, static_cast<UINT32>(piece));
    });
}

HRESULT CALLBACK GitProvider::onGetPlaceholderInfo(const PRJ_CALLBACK_DATA* data)
{
    GitProvider* provider = self(data);
    std::wstring path = data->FilePathName;
    const PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context = data->NamespaceVirtualizationContext;
    return provider->dispatch(data, [provider, context, path](PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS*) {
        return provider->writePlaceholder(context, path);
    });
}

HRESULT CALLBACK GitProvider::onGetFileData(const PRJ_CALLBACK_DATA* data, UINT64 byteOffset, UINT32 length)
{
    GitProvider* provider = self(data);
    std::wstring path = data->FilePathName;
    std::string contentId = contentIdOf(data->VersionInfo);
    const GUID stream = data->DataStreamId;
    const INT32 commandId = data->CommandId;
    const PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context = data->NamespaceVirtualizationContext;
    return provider->dispatch(data, [=](PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS*) {
        return provider->writeFileData(context, commandId, stream, path, contentId, byteOffset, length);
    });
}

// ---- local changes ----

void GitProvider::recordTouched(PCWSTR path)
{
    const std::string recorded = recordedPath(path);
    if (recorded.empty() || recorded == kMarkerName) return;
    (void)state_->record(recorded);  // a failed append loses one status line, never the user's write
}

HRESULT CALLBACK GitProvider::onNotification(const PRJ_CALLBACK_DATA* data, BOOLEAN /*isDirectory*/,
                                             PRJ_NOTIFICATION notification, PCWSTR destinationFileName,
                                             PRJ_NOTIFICATION_PARAMETERS* /*parameters*/)
{
    GitProvider* provider = self(data);
    // Recorded when announced: status compares the disk with the revision, so a path recorded for a
    // change that did not happen in the end shows nothing.
    provider->recordTouched(data->FilePathName);
    if (notification == PRJ_NOTIFICATION_FILE_RENAMED || notification == PRJ_NOTIFICATION_HARDLINK_CREATED)
        provider->recordTouched(destinationFileName);
    return S_OK;
}

void CALLBACK GitProvider::onCancel(const PRJ_CALLBACK_DATA* data)
{
    self(data)->cancellations_.mark(data->CommandId);
}

}  // namespace prjfs
