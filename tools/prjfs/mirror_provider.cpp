#include "mirror_provider.h"

#include "extended_info_chain.h"

#include "base/guid.h"
#include "base/strings.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace prjfs {
namespace {

constexpr HRESULT kPending = HRESULT_FROM_WIN32(ERROR_IO_PENDING);
constexpr size_t kDataChunk = 1 << 20;  // bytes per PrjWriteFileData call

struct FdCloser {
    int fd;
    ~FdCloser()
    {
        if (fd >= 0) close(fd);
    }
};

struct AlignedBuffer {
    void* data;
    ~AlignedBuffer() { PrjFreeAlignedBuffer(data); }
};

}  // namespace

MirrorProvider::MirrorProvider(MirrorOptions options) : options_(std::move(options)), source_(options_.source) {}

MirrorProvider::~MirrorProvider()
{
    stop();
}

hc::Status MirrorProvider::start()
{
    auto root = hc::fromUtf8(options_.root);
    if (!root.ok()) return hc::makeError(E_INVALIDARG, "ROOT is not valid UTF-8");
    struct stat st {};
    if (stat(options_.source.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return hc::makeError(HRESULT_FROM_WIN32(ERROR_DIRECTORY), "SOURCE is not a directory: " + options_.source);

    const GUID instanceId = hc::newGuid();
    HRESULT hr = PrjMarkDirectoryAsPlaceholder(root->c_str(), nullptr, nullptr, &instanceId);
    if (FAILED(hr) && hr != HRESULT_FROM_WIN32(ERROR_REPARSE_POINT_ENCOUNTERED))
        return hc::makeError(hr, "PrjMarkDirectoryAsPlaceholder(" + options_.root + ")");

    PRJ_CALLBACKS callbacks = {};
    callbacks.StartDirectoryEnumerationCallback = onStartEnum;
    callbacks.EndDirectoryEnumerationCallback = onEndEnum;
    callbacks.GetDirectoryEnumerationCallback = onGetEnum;
    callbacks.GetPlaceholderInfoCallback = onGetPlaceholderInfo;
    callbacks.GetFileDataCallback = onGetFileData;
    if (options_.async) callbacks.CancelCommandCallback = onCancel;

    PRJ_STARTVIRTUALIZING_OPTIONS startOptions = {};
    startOptions.ConcurrentThreadCount = options_.threads;
    if (options_.async) pool_ = std::make_unique<WorkerPool>(options_.threads ? options_.threads : 4);

    hr = PrjStartVirtualizing(root->c_str(), &callbacks, this, &startOptions, &context_);
    if (FAILED(hr)) {
        context_ = nullptr;
        pool_.reset();
        return hc::makeError(hr, "PrjStartVirtualizing(" + options_.root + ")");
    }
    return {};
}

void MirrorProvider::stop()
{
    if (!context_) return;
    // Finish what is pended first: after PrjStopVirtualizing nothing may complete against context_.
    // Callbacks arriving meanwhile are answered synchronously (dispatch() sees the pool refuse).
    if (pool_) pool_->shutdown();
    PrjStopVirtualizing(context_);
    context_ = nullptr;
    pool_.reset();
}

MirrorProvider* MirrorProvider::self(const PRJ_CALLBACK_DATA* data)
{
    return static_cast<MirrorProvider*>(data->InstanceContext);
}

HRESULT MirrorProvider::dispatch(const PRJ_CALLBACK_DATA* data, Work work)
{
    const INT32 commandId = data->CommandId;
    if (pool_) {
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
    }
    return work(nullptr);
}

// ---- enumeration ----

HRESULT MirrorProvider::startEnumeration(const GUID& id, const std::wstring& path)
{
    auto resolved = source_.resolve(path.c_str());
    if (!resolved.ok()) return resolved.hr();
    if (!S_ISDIR(resolved->st.st_mode)) return HRESULT_FROM_WIN32(ERROR_DIRECTORY);
    auto entries = source_.list(resolved->sourcePath);
    if (!entries.ok()) return entries.hr();
    enumerations_.start(id, std::move(*entries));
    return S_OK;
}

HRESULT MirrorProvider::fillEnumeration(const GUID& id, PRJ_CALLBACK_DATA_FLAGS flags, const std::wstring& expression,
                                        PRJ_DIR_ENTRY_BUFFER_HANDLE buffer)
{
    return enumerations_.fill(id, flags, expression, buffer,
                              [](const SourceEntry& entry, PRJ_DIR_ENTRY_BUFFER_HANDLE into) {
                                  PRJ_FILE_BASIC_INFO info = basicInfoFromStat(entry.st);
                                  ExtendedInfoChain extended(posixInfoFromStat(entry.st), entry.linkTarget);
                                  return PrjFillDirEntryBuffer2(into, entry.name.c_str(), &info, extended.head());
                              });
}

HRESULT CALLBACK MirrorProvider::onStartEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId)
{
    MirrorProvider* provider = self(data);
    const GUID id = *enumerationId;
    std::wstring path = data->FilePathName;
    return provider->dispatch(data, [provider, id, path](PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS*) {
        return provider->startEnumeration(id, path);
    });
}

HRESULT CALLBACK MirrorProvider::onEndEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId)
{
    MirrorProvider* provider = self(data);
    const GUID id = *enumerationId;
    return provider->dispatch(data, [provider, id](PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS*) {
        provider->enumerations_.end(id);
        return S_OK;
    });
}

HRESULT CALLBACK MirrorProvider::onGetEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId, PCWSTR expression,
                                           PRJ_DIR_ENTRY_BUFFER_HANDLE buffer)
{
    MirrorProvider* provider = self(data);
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

HRESULT MirrorProvider::writePlaceholder(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context, const std::wstring& path)
{
    auto resolved = source_.resolve(path.c_str());
    if (!resolved.ok()) return resolved.hr();
    PRJ_PLACEHOLDER_INFO info = {};
    info.FileBasicInfo = basicInfoFromStat(resolved->st);
    std::wstring target;
    if (S_ISLNK(resolved->st.st_mode)) {
        auto read = readSymlinkTarget(resolved->sourcePath);
        if (!read.ok()) return read.hr();
        target = std::move(*read);
    }
    ExtendedInfoChain extended(posixInfoFromStat(resolved->st), std::move(target));
    return PrjWritePlaceholderInfo2(context, resolved->spelling.c_str(), &info, sizeof(info), extended.head());
}

size_t MirrorProvider::dataChunkSize(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context)
{
    UINT32 alignment = writeAlignment_.load();
    if (alignment == 0) {
        PRJ_VIRTUALIZATION_INSTANCE_INFO info = {};
        alignment = SUCCEEDED(PrjGetVirtualizationInstanceInfo(context, &info)) && info.WriteAlignment
                        ? info.WriteAlignment
                        : 4096;
        writeAlignment_.store(alignment);
    }
    return (kDataChunk + alignment - 1) / alignment * alignment;
}

HRESULT MirrorProvider::writeFileData(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context, INT32 commandId,
                                      const GUID& dataStreamId, const std::wstring& path, UINT64 byteOffset,
                                      UINT32 length)
{
    auto resolved = source_.resolve(path.c_str());
    if (!resolved.ok()) return resolved.hr();
    FdCloser file{open(resolved->sourcePath.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd < 0) return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
    const UINT64 size = static_cast<UINT64>(resolved->st.st_size);
    const UINT64 end = std::min<UINT64>(size, byteOffset + length);
    const size_t chunk = dataChunkSize(context);
    AlignedBuffer buffer{PrjAllocateAlignedBuffer(context, chunk)};
    if (!buffer.data) return E_OUTOFMEMORY;
    hc::tools::HydrationProgress::Scope progress = hydrations_.start(path, end > byteOffset ? end - byteOffset : 0);
    for (UINT64 offset = byteOffset; offset < end;) {
        if (pool_ && cancellations_.isCancelled(commandId)) return HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED);
        const size_t want = static_cast<size_t>(std::min<UINT64>(chunk, end - offset));
        ssize_t got = pread(file.fd, buffer.data, want, static_cast<off_t>(offset));
        if (got <= 0) return got == 0 ? HRESULT_FROM_WIN32(ERROR_HANDLE_EOF) : HRESULT_FROM_WIN32(ERROR_IO_DEVICE);
        HRESULT hr = PrjWriteFileData(context, &dataStreamId, buffer.data, offset, static_cast<UINT32>(got));
        if (FAILED(hr)) return hr;
        offset += static_cast<UINT64>(got);
        progress.advance(static_cast<UINT64>(got));
    }
    return S_OK;
}

HRESULT CALLBACK MirrorProvider::onGetPlaceholderInfo(const PRJ_CALLBACK_DATA* data)
{
    MirrorProvider* provider = self(data);
    std::wstring path = data->FilePathName;
    const PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context = data->NamespaceVirtualizationContext;
    return provider->dispatch(data, [provider, context, path](PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS*) {
        return provider->writePlaceholder(context, path);
    });
}

HRESULT CALLBACK MirrorProvider::onGetFileData(const PRJ_CALLBACK_DATA* data, UINT64 byteOffset, UINT32 length)
{
    MirrorProvider* provider = self(data);
    std::wstring path = data->FilePathName;
    const GUID stream = data->DataStreamId;
    const INT32 commandId = data->CommandId;
    const PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context = data->NamespaceVirtualizationContext;
    return provider->dispatch(data, [=](PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS*) {
        return provider->writeFileData(context, commandId, stream, path, byteOffset, length);
    });
}

void CALLBACK MirrorProvider::onCancel(const PRJ_CALLBACK_DATA* data)
{
    self(data)->cancellations_.mark(data->CommandId);
}

}  // namespace prjfs
