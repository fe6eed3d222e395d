// async_enum_provider — the asynchronous enumeration pattern of Microsoft's "Asynchronous callback
// handling" sample as a complete provider: enumeration sessions keyed by enumeration GUID, a Get
// callback that copies what it needs, pends, and lets a worker thread fill the buffer and complete it
// with PrjCompleteCommand, and cancellation tracking (Track / Untrack / Mark / Check).
// It projects a small in-memory tree; GetPlaceholderInfo and GetFileData make the files readable.
//
// Usage: async_enum_provider ROOT     (runs until SIGINT or SIGTERM)
//
// Only <projectedfslib.h> is used: this is the code a Windows provider author would write.
#include <projectedfslib.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <clocale>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

// ---- the projected tree ----------------------------------------------------------------------------

struct TreeNode {
    std::wstring name;
    bool isDirectory = false;
    std::string content;             // files only
    std::vector<TreeNode> children;  // directories only, in PrjFileNameCompare order
};

TreeNode file(const wchar_t* name, std::string content)
{
    return TreeNode{name, false, std::move(content), {}};
}

TreeNode dir(const wchar_t* name, std::vector<TreeNode> children)
{
    return TreeNode{name, true, {}, std::move(children)};
}

void sortTree(TreeNode& node)
{
    std::sort(node.children.begin(), node.children.end(), [](const TreeNode& a, const TreeNode& b) {
        return PrjFileNameCompare(a.name.c_str(), b.name.c_str()) < 0;
    });
    for (auto& child : node.children)
        sortTree(child);
}

TreeNode makeTree()
{
    TreeNode root = dir(L"", {
                                 file(L"README.txt", "This tree is projected by async_enum_provider.\n"),
                                 file(L"empty.txt", ""),
                                 file(L"Zebra.txt", "sorted case-insensitively\n"),
                                 file(L"alpha.md", "# alpha\n"),
                                 dir(L"docs", {file(L"guide.md", "# Guide\nRead me.\n"), file(L"notes.txt", "notes\n"),
                                               dir(L"empty dir", {})}),
                                 dir(L"src", {file(L"main.c", "int main(void) { return 0; }\n"),
                                              dir(L"lib", {file(L"util.c", "/* util */\n")})}),
                                 file(L"caf\u00e9 \u00fcber.txt", "non-ASCII name\n"),
                             });
    sortTree(root);
    return root;
}

// Splits a root-relative path on either separator ('\\' as on Windows, '/' as on Linux).
std::vector<std::wstring> splitPath(PCWSTR path)
{
    std::vector<std::wstring> parts;
    std::wstring current;
    for (const wchar_t* p = path; p && *p; ++p) {
        if (*p == L'\\' || *p == L'/') {
            if (!current.empty()) parts.push_back(std::move(current));
            current.clear();
        } else {
            current.push_back(*p);
        }
    }
    if (!current.empty()) parts.push_back(std::move(current));
    return parts;
}

// Finds a node by path, matching each component the way the file system does (case-insensitively).
// `spelling` receives the tree's own spelling of the path, which is what placeholders must be written under.
const TreeNode* findNode(const TreeNode& root, PCWSTR path, std::wstring* spelling)
{
    const TreeNode* node = &root;
    if (spelling) spelling->clear();
    for (const auto& part : splitPath(path)) {
        if (!node->isDirectory) return nullptr;
        auto it = std::find_if(node->children.begin(), node->children.end(), [&](const TreeNode& child) {
            return PrjFileNameCompare(child.name.c_str(), part.c_str()) == 0;
        });
        if (it == node->children.end()) return nullptr;
        node = &*it;
        if (spelling) {
            if (!spelling->empty()) spelling->push_back(L'\\');
            spelling->append(node->name);
        }
    }
    return node;
}

// ---- enumeration sessions ----------------------------------------------------------------------------

// One enumeration session per enumeration GUID. Lifecycle: created by Start, used by the Get workers
// (ProjFS never runs two Gets of one enumeration at once, the mutex only guards against a broken
// caller), destroyed by End, which ProjFS calls after every successful Start, even after a cancelled Get.
struct EnumSession {
    std::mutex mutex;
    std::vector<const TreeNode*> entries;  // PrjFileNameCompare order
    size_t next = 0;                       // where the next Get resumes
    bool completed = false;
    std::wstring searchExpression;
    bool searchExpressionCaptured = false;
};

struct GuidLess {
    bool operator()(const GUID& a, const GUID& b) const { return std::memcmp(&a, &b, sizeof(GUID)) < 0; }
};

// What the worker needs: callbackData is valid only while the callback runs, so Get copies these.
struct EnumParams {
    GUID enumerationId;
    PRJ_DIR_ENTRY_BUFFER_HANDLE dirEntryBufferHandle;
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context;
    INT32 commandId;
    PRJ_CALLBACK_DATA_FLAGS flags;
    std::wstring searchExpression;
};

// The provider's state. Lifecycle: created in main before PrjStartVirtualizing, lives until after
// PrjStopVirtualizing returns. Worker threads are counted; main refuses new pended work (`stopping`)
// and waits for the count to reach zero before stopping, so no worker completes against a stopped
// context.
class Provider {
public:
    Provider() : tree_(makeTree()) {}

    // -- cancellation tracking (the seed's My*EnumForCancellation routines) --
    void track(INT32 commandId)
    {
        std::lock_guard lock(cancelMutex_);
        cancelled_[commandId] = false;
    }
    void untrack(INT32 commandId)
    {
        std::lock_guard lock(cancelMutex_);
        cancelled_.erase(commandId);
    }
    // Not finding the id is not an error: the command may have completed already.
    void mark(INT32 commandId)
    {
        std::lock_guard lock(cancelMutex_);
        auto it = cancelled_.find(commandId);
        if (it != cancelled_.end()) it->second = true;
    }
    bool check(INT32 commandId)
    {
        std::lock_guard lock(cancelMutex_);
        auto it = cancelled_.find(commandId);
        return it != cancelled_.end() && it->second;
    }

    // -- sessions --
    HRESULT startSession(const GUID& id, PCWSTR path)
    {
        const TreeNode* node = findNode(tree_, path, nullptr);
        if (!node) return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
        if (!node->isDirectory) return HRESULT_FROM_WIN32(ERROR_DIRECTORY);
        auto session = std::make_shared<EnumSession>();
        for (const auto& child : node->children)
            session->entries.push_back(&child);
        std::lock_guard lock(sessionsMutex_);
        sessions_[id] = std::move(session);
        return S_OK;
    }
    void endSession(const GUID& id)
    {
        std::lock_guard lock(sessionsMutex_);
        sessions_.erase(id);
    }
    std::shared_ptr<EnumSession> session(const GUID& id)
    {
        std::lock_guard lock(sessionsMutex_);
        auto it = sessions_.find(id);
        return it == sessions_.end() ? nullptr : it->second;
    }

    // -- workers --
    // Returns false once stopping: the caller then completes synchronously instead of pending.
    bool beginWorker()
    {
        std::lock_guard lock(workersMutex_);
        if (stopping_) return false;
        ++activeWorkers_;
        return true;
    }
    void endWorker()
    {
        std::lock_guard lock(workersMutex_);
        if (--activeWorkers_ == 0) workersIdle_.notify_all();
    }
    void drainWorkers()
    {
        std::unique_lock lock(workersMutex_);
        stopping_ = true;
        workersIdle_.wait(lock, [&] { return activeWorkers_ == 0; });
    }

    const TreeNode& tree() const { return tree_; }

private:
    const TreeNode tree_;
    std::mutex cancelMutex_;
    std::unordered_map<INT32, bool> cancelled_;
    std::mutex sessionsMutex_;
    std::map<GUID, std::shared_ptr<EnumSession>, GuidLess> sessions_;
    std::mutex workersMutex_;
    std::condition_variable workersIdle_;
    int activeWorkers_ = 0;
    bool stopping_ = false;
};

Provider* providerOf(const PRJ_CALLBACK_DATA* callbackData)
{
    return static_cast<Provider*>(callbackData->InstanceContext);
}

// Fills the buffer from where the session stopped. Returns the HRESULT for the Get command.
HRESULT fillEnumeration(EnumSession& session, const EnumParams& params)
{
    std::lock_guard lock(session.mutex);
    const bool restart = (params.flags & PRJ_CB_DATA_FLAG_ENUM_RESTART_SCAN) != 0;
    if (!session.searchExpressionCaptured || restart) {
        session.searchExpression = params.searchExpression;
        session.searchExpressionCaptured = true;
    }
    if (restart) {
        session.next = 0;
        session.completed = false;
    }
    if (session.completed) return S_OK;  // nothing added: the enumeration is over

    bool addedAny = false;
    for (; session.next < session.entries.size(); ++session.next) {
        const TreeNode* entry = session.entries[session.next];
        if (!PrjFileNameMatch(entry->name.c_str(), session.searchExpression.c_str())) continue;
        PRJ_FILE_BASIC_INFO info = {};
        info.IsDirectory = entry->isDirectory;
        info.FileSize = entry->isDirectory ? 0 : static_cast<INT64>(entry->content.size());
        HRESULT hr = PrjFillDirEntryBuffer(entry->name.c_str(), &info, params.dirEntryBufferHandle);
        if (hr == HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER)) {
            // Resume from this entry next time; only a first entry that does not fit is an error.
            return addedAny ? S_OK : hr;
        }
        if (FAILED(hr)) return hr;
        addedAny = true;
        if (params.flags & PRJ_CB_DATA_FLAG_ENUM_RETURN_SINGLE_ENTRY) {
            ++session.next;
            return S_OK;
        }
    }
    session.completed = true;
    return S_OK;
}

void getEnumWorker(Provider* provider, std::unique_ptr<EnumParams> params)
{
    if (provider->check(params->commandId)) {
        // Cancelled: ProjFS still calls End, which tears the session down.
        provider->untrack(params->commandId);
        provider->endWorker();
        return;
    }
    HRESULT hr = HRESULT_FROM_WIN32(ERROR_INVALID_PARAMETER);
    if (auto session = provider->session(params->enumerationId)) hr = fillEnumeration(*session, *params);

    PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS extended = {};
    extended.CommandType = PRJ_COMPLETE_COMMAND_TYPE_ENUMERATION;
    extended.Enumeration.DirEntryBufferHandle = params->dirEntryBufferHandle;
    PrjCompleteCommand(params->context, params->commandId, hr, &extended);  // no-op if cancelled meanwhile
    provider->untrack(params->commandId);
    provider->endWorker();
}

// ---- callbacks -----------------------------------------------------------------------------------------

HRESULT CALLBACK startEnum(const PRJ_CALLBACK_DATA* callbackData, const GUID* enumerationId)
{
    return providerOf(callbackData)->startSession(*enumerationId, callbackData->FilePathName);
}

HRESULT CALLBACK endEnum(const PRJ_CALLBACK_DATA* callbackData, const GUID* enumerationId)
{
    providerOf(callbackData)->endSession(*enumerationId);
    return S_OK;
}

HRESULT CALLBACK getEnum(const PRJ_CALLBACK_DATA* callbackData, const GUID* enumerationId, PCWSTR searchExpression,
                         PRJ_DIR_ENTRY_BUFFER_HANDLE dirEntryBufferHandle)
{
    Provider* provider = providerOf(callbackData);
    std::unique_ptr<EnumParams> params;
    try {
        params.reset(new EnumParams{*enumerationId, dirEntryBufferHandle, callbackData->NamespaceVirtualizationContext,
                                    callbackData->CommandId, callbackData->Flags,
                                    searchExpression ? searchExpression : L"*"});
    } catch (const std::bad_alloc&) {
        return E_OUTOFMEMORY;
    }

    if (!provider->beginWorker()) {
        // Shutting down: answer synchronously, nothing may complete after PrjStopVirtualizing.
        auto session = provider->session(*enumerationId);
        return session ? fillEnumeration(*session, *params) : HRESULT_FROM_WIN32(ERROR_INVALID_PARAMETER);
    }
    // Track before the worker exists, so a cancellation racing this callback finds the command.
    provider->track(callbackData->CommandId);
    try {
        std::thread(getEnumWorker, provider, std::move(params)).detach();
    } catch (const std::system_error&) {
        provider->untrack(callbackData->CommandId);
        provider->endWorker();
        return E_OUTOFMEMORY;  // a thread that cannot be created is a low-resources error
    }
    return HRESULT_FROM_WIN32(ERROR_IO_PENDING);
}

HRESULT CALLBACK getPlaceholderInfo(const PRJ_CALLBACK_DATA* callbackData)
{
    std::wstring spelling;
    const TreeNode* node = findNode(providerOf(callbackData)->tree(), callbackData->FilePathName, &spelling);
    if (!node) return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
    PRJ_PLACEHOLDER_INFO info = {};
    info.FileBasicInfo.IsDirectory = node->isDirectory;
    info.FileBasicInfo.FileSize = node->isDirectory ? 0 : static_cast<INT64>(node->content.size());
    return PrjWritePlaceholderInfo(callbackData->NamespaceVirtualizationContext, spelling.c_str(), &info, sizeof(info));
}

HRESULT CALLBACK getFileData(const PRJ_CALLBACK_DATA* callbackData, UINT64 byteOffset, UINT32 length)
{
    const TreeNode* node = findNode(providerOf(callbackData)->tree(), callbackData->FilePathName, nullptr);
    if (!node || node->isDirectory) return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
    if (byteOffset >= node->content.size() || length == 0) return S_OK;
    // The files are small: write from the requested offset to the end in one aligned buffer.
    const size_t size = node->content.size() - byteOffset;
    void* buffer = PrjAllocateAlignedBuffer(callbackData->NamespaceVirtualizationContext, size);
    if (!buffer) return E_OUTOFMEMORY;
    std::memcpy(buffer, node->content.data() + byteOffset, size);
    HRESULT hr = PrjWriteFileData(callbackData->NamespaceVirtualizationContext, &callbackData->DataStreamId, buffer,
                                  byteOffset, static_cast<UINT32>(size));
    PrjFreeAlignedBuffer(buffer);
    return hr;
}

void CALLBACK cancelCommand(const PRJ_CALLBACK_DATA* callbackData)
{
    providerOf(callbackData)->mark(callbackData->CommandId);
}

std::wstring widen(const char* text)
{
    size_t n = std::mbstowcs(nullptr, text, 0);
    if (n == static_cast<size_t>(-1)) return {};
    std::wstring wide(n, L'\0');
    std::mbstowcs(wide.data(), text, n + 1);
    return wide;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s ROOT\n", argv[0]);
        return 2;
    }
    std::setlocale(LC_CTYPE, "C.UTF-8");
    const std::wstring root = widen(argv[1]);
    if (root.empty()) {
        std::fprintf(stderr, "%s: ROOT is not valid UTF-8\n", argv[0]);
        return 2;
    }

    // Signals are received by sigwait below, never by a callback thread.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGINT);
    sigaddset(&stopSignals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

    GUID instanceId = {};
    {
        std::FILE* random = std::fopen("/dev/urandom", "rb");
        if (!random || std::fread(&instanceId, sizeof(instanceId), 1, random) != 1) {
            std::fprintf(stderr, "%s: cannot read /dev/urandom\n", argv[0]);
            return 1;
        }
        std::fclose(random);
    }
    HRESULT hr = PrjMarkDirectoryAsPlaceholder(root.c_str(), nullptr, nullptr, &instanceId);
    if (FAILED(hr) && hr != HRESULT_FROM_WIN32(ERROR_REPARSE_POINT_ENCOUNTERED)) {
        std::fprintf(stderr, "%s: PrjMarkDirectoryAsPlaceholder(%s) failed: 0x%08x\n", argv[0], argv[1],
                     static_cast<unsigned>(hr));
        return 1;
    }

    Provider provider;
    PRJ_CALLBACKS callbacks = {};
    callbacks.StartDirectoryEnumerationCallback = startEnum;
    callbacks.EndDirectoryEnumerationCallback = endEnum;
    callbacks.GetDirectoryEnumerationCallback = getEnum;
    callbacks.GetPlaceholderInfoCallback = getPlaceholderInfo;
    callbacks.GetFileDataCallback = getFileData;
    callbacks.CancelCommandCallback = cancelCommand;

    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context = nullptr;
    hr = PrjStartVirtualizing(root.c_str(), &callbacks, &provider, nullptr, &context);
    if (FAILED(hr)) {
        std::fprintf(stderr, "%s: PrjStartVirtualizing(%s) failed: 0x%08x\n", argv[0], argv[1],
                     static_cast<unsigned>(hr));
        return 1;
    }
    std::printf("async_enum_provider: projecting into %s (Ctrl-C to stop)\n", argv[1]);
    std::fflush(stdout);

    int signal = 0;
    sigwait(&stopSignals, &signal);
    provider.drainWorkers();
    PrjStopVirtualizing(context);
    std::printf("async_enum_provider: stopped\n");
    return 0;
}
