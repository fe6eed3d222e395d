#include "test_provider.h"

#include "base/guid.h"
#include "projfs/api/running_instances.h"
#include "projfs/api/start_virtualizing.h"

#include <dirent.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace hc::projfs::test {
namespace {

std::wstring upper(std::wstring s)
{
    for (auto& c : s)
        c = static_cast<wchar_t>(std::towupper(c));
    return s;
}

std::wstring parentOf(const std::wstring& path)
{
    size_t slash = path.rfind(L'\\');
    return slash == std::wstring::npos ? L"" : path.substr(0, slash);
}

std::wstring leafOf(const std::wstring& path)
{
    size_t slash = path.rfind(L'\\');
    return slash == std::wstring::npos ? path : path.substr(slash + 1);
}

TestProvider* self(const PRJ_CALLBACK_DATA* data)
{
    return static_cast<TestProvider*>(data->InstanceContext);
}

// The ExtendedInfo chain of an item, as a provider builds it: a symlink entry and the POSIX entry in one
// buffer, linked by NextInfoOffset.
class ExtendedChain {
public:
    explicit ExtendedChain(const TestItem& item)
    {
        std::vector<size_t> starts;
        if (!item.symlinkTarget.empty()) {
            target_ = item.symlinkTarget;
            PRJ_EXTENDED_INFO link{};
            link.InfoType = PRJ_EXT_INFO_TYPE_SYMLINK;
            link.Symlink.TargetName = target_.c_str();
            starts.push_back(append(&link, sizeof(link)));
        }
        if (item.posix.Fields != 0) starts.push_back(append(&item.posix, sizeof(item.posix)));
        for (size_t i = 0; i + 1 < starts.size(); ++i) {
            ULONG next = static_cast<ULONG>(starts[i + 1] - starts[i]);
            std::memcpy(bytes_.data() + starts[i] + offsetof(PRJ_EXTENDED_INFO, NextInfoOffset), &next, sizeof(next));
        }
    }
    PRJ_EXTENDED_INFO* head() { return bytes_.empty() ? nullptr : reinterpret_cast<PRJ_EXTENDED_INFO*>(bytes_.data()); }

private:
    size_t append(const void* entry, size_t size)
    {
        size_t start = bytes_.size();
        bytes_.resize(start + ((size + 7) & ~size_t{7}));
        std::memcpy(bytes_.data() + start, entry, size);
        return start;
    }
    std::wstring target_;
    std::vector<unsigned char> bytes_;  // vector storage is aligned for any entry
};

}  // namespace

void TestProvider::addDirectory(const std::wstring& path)
{
    items_[upper(path)] = TestItem{true, {}};
    spelling_[upper(path)] = path;
}

void TestProvider::addFile(const std::wstring& path, std::string content)
{
    items_[upper(path)] = TestItem{false, std::move(content)};
    spelling_[upper(path)] = path;
}

void TestProvider::setPosix(const std::wstring& path, UINT32 fields, UINT32 mode, UINT32 uid, UINT32 gid)
{
    std::lock_guard lock(mutex);
    TestItem& item = items_.at(upper(path));
    item.posix.InfoType = PRJ_EXT_INFO_TYPE_HOSTCOMPUTE_POSIX;
    item.posix.Fields = fields;
    item.posix.Mode = mode;
    item.posix.Uid = uid;
    item.posix.Gid = gid;
}

void TestProvider::addSymlink(const std::wstring& path, const std::wstring& target)
{
    std::lock_guard lock(mutex);
    TestItem item;
    item.symlinkTarget = target;
    items_[upper(path)] = item;
    spelling_[upper(path)] = path;
}

void TestProvider::replaceFile(const std::wstring& path, std::string content)
{
    std::lock_guard lock(mutex);
    items_[upper(path)] = TestItem{false, std::move(content)};
    spelling_[upper(path)] = path;
}

void TestProvider::removeItem(const std::wstring& path)
{
    std::lock_guard lock(mutex);
    items_.erase(upper(path));
    spelling_.erase(upper(path));
}

const TestItem* TestProvider::find(const std::wstring& path) const
{
    auto it = items_.find(upper(path));
    return it == items_.end() ? nullptr : &it->second;
}

std::vector<std::wstring> TestProvider::children(const std::wstring& dir) const
{
    std::vector<std::wstring> out;
    for (const auto& [key, item] : items_) {
        if (!key.empty() && parentOf(key) == upper(dir)) out.push_back(leafOf(spelling_.at(key)));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return PrjFileNameCompare(a.c_str(), b.c_str()) < 0; });
    return out;
}

HRESULT TestProvider::start(const std::string& root, const PRJ_STARTVIRTUALIZING_OPTIONS* options)
{
    std::wstring wroot(root.begin(), root.end());
    GUID id = newGuid();
    HRESULT hr = PrjMarkDirectoryAsPlaceholder(wroot.c_str(), nullptr, nullptr, &id);
    if (FAILED(hr) && hr != HRESULT_FROM_WIN32(ERROR_REPARSE_POINT_ENCOUNTERED)) return hr;
    PRJ_CALLBACKS callbacks{};
    callbacks.StartDirectoryEnumerationCallback = onStartEnum;
    callbacks.EndDirectoryEnumerationCallback = onEndEnum;
    callbacks.GetDirectoryEnumerationCallback = onGetEnum;
    callbacks.GetPlaceholderInfoCallback = onPlaceholderInfo;
    callbacks.GetFileDataCallback = onFileData;
    callbacks.CancelCommandCallback = onCancel;
    callbacks.NotificationCallback = notificationCallback;
    if (answerQueryFileName) callbacks.QueryFileNameCallback = onQueryFileName;
    if (maxFileDataRequest == 0) return PrjStartVirtualizing(wroot.c_str(), &callbacks, this, options, &context_);
    uint32_t limit = maxFileDataRequest;
    return startVirtualizing(
        wroot.c_str(), &callbacks, this, options, [limit](InstanceOptions& o) { o.maxFileDataRequest = limit; },
        &context_);
}

void TestProvider::stop()
{
    if (context_ != nullptr) PrjStopVirtualizing(context_);
    context_ = nullptr;
}

HRESULT TestProvider::onQueryFileName(const PRJ_CALLBACK_DATA* data)
{
    auto* p = self(data);
    p->queryFileName++;
    std::lock_guard lock(p->mutex);
    p->queriedPaths.push_back(data->FilePathName);
    return p->find(data->FilePathName) ? S_OK : HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
}

HRESULT TestProvider::onStartEnum(const PRJ_CALLBACK_DATA* data, const GUID* id)
{
    auto* p = self(data);
    p->startEnum++;
    if (p->failStartEnum) return HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND);  // like a source that is away
    std::lock_guard lock(p->mutex);
    p->enums_[formatGuid(*id)] = Enumeration{p->children(data->FilePathName), 0};
    return S_OK;
}

HRESULT TestProvider::onEndEnum(const PRJ_CALLBACK_DATA* data, const GUID* id)
{
    auto* p = self(data);
    p->endEnum++;
    std::lock_guard lock(p->mutex);
    p->enums_.erase(formatGuid(*id));
    return S_OK;
}

HRESULT TestProvider::onGetEnum(const PRJ_CALLBACK_DATA* data, const GUID* id, PCWSTR search,
                                PRJ_DIR_ENTRY_BUFFER_HANDLE buffer)
{
    auto* p = self(data);
    p->getEnum++;
    if (p->failGetEnum) return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
    std::lock_guard lock(p->mutex);
    auto it = p->enums_.find(formatGuid(*id));
    if (it == p->enums_.end()) return E_INVALIDARG;
    Enumeration& e = it->second;
    if (data->Flags & PRJ_CB_DATA_FLAG_ENUM_RESTART_SCAN) {
        p->restartScans++;
        e.next = 0;
    }
    for (; e.next < e.names.size(); ++e.next) {
        if (search && !PrjFileNameMatch(e.names[e.next].c_str(), search)) continue;
        std::wstring full =
            data->FilePathName[0] ? std::wstring(data->FilePathName) + L"\\" + e.names[e.next] : e.names[e.next];
        const TestItem* item = p->find(full);
        if (item == nullptr) continue;  // removed (removeItem) since Start captured the names
        PRJ_FILE_BASIC_INFO info{};
        info.IsDirectory = item->isDirectory;
        info.FileSize = static_cast<INT64>(item->content.size());
        ExtendedChain chain(*item);
        if (PrjFillDirEntryBuffer2(buffer, e.names[e.next].c_str(), &info, chain.head()) != S_OK) break;
    }
    return S_OK;
}

HRESULT TestProvider::writePlaceholder(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT ctx, const std::wstring& path)
{
    PRJ_PLACEHOLDER_INFO info{};
    std::wstring spelling;
    TestItem copy;
    {
        std::lock_guard lock(mutex);  // replaceFile may change the item
        const TestItem* item = find(path);
        if (item == nullptr) return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
        copy = *item;
        spelling = spelling_.at(upper(path));
    }
    info.FileBasicInfo.IsDirectory = copy.isDirectory;
    info.FileBasicInfo.FileSize = static_cast<INT64>(copy.content.size());
    info.VersionInfo.ContentID[0] = 42;
    ExtendedChain chain(copy);
    if (chain.head() == nullptr) return PrjWritePlaceholderInfo(ctx, spelling.c_str(), &info, sizeof(info));
    return PrjWritePlaceholderInfo2(ctx, spelling.c_str(), &info, sizeof(info), chain.head());
}

HRESULT TestProvider::onPlaceholderInfo(const PRJ_CALLBACK_DATA* data)
{
    auto* p = self(data);
    p->placeholderInfo++;
    if (auto hook = p->hook(p->placeholderHook)) hook(data);
    {
        std::lock_guard lock(p->mutex);
        p->triggeringPids.push_back(data->TriggeringProcessId);
    }
    if (p->pendPlaceholder) {
        std::lock_guard lock(p->mutex);
        p->pendingIds.push_back(data->CommandId);
        p->pendingPaths.push_back(data->FilePathName);
        p->pendingStreams.push_back(GUID{});
        p->pendingRanges.push_back(FileDataRequest{data->CommandId, GUID{}, 0, 0});
        p->changed.notify_all();
        return HRESULT_FROM_WIN32(ERROR_IO_PENDING);
    }
    return p->writePlaceholder(data->NamespaceVirtualizationContext, data->FilePathName);
}

HRESULT TestProvider::writeData(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT ctx, const std::wstring& path, const GUID& stream,
                                uint64_t offset, uint32_t length, bool fail)
{
    std::string content;  // the part to write, copied under the lock (replaceFile may change the file)
    uint64_t begin = 0, end = 0;
    {
        std::lock_guard lock(mutex);
        const TestItem* item = find(path);
        if (item == nullptr) return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
        end = item->content.size();
        if (exactRange) {
            begin = std::min<uint64_t>(offset, item->content.size());
            end = std::min<uint64_t>(item->content.size(), offset + length + fileDataSurplus);
        }
        content = item->content.substr(static_cast<size_t>(begin), static_cast<size_t>(end - begin));
    }
    // Two writes, split at an aligned offset, to exercise split hydration.
    size_t size = static_cast<size_t>(end - begin);
    size_t half = size > 8192 ? 4096 : size;
    void* buf = PrjAllocateAlignedBuffer(ctx, std::max<size_t>(size, 1));
    std::copy(content.begin(), content.end(), static_cast<char*>(buf));
    HRESULT hr = size == 0 ? S_OK : PrjWriteFileData(ctx, &stream, buf, begin, static_cast<UINT32>(half));
    if (SUCCEEDED(hr) && half < size && !fail) {
        hr = PrjWriteFileData(ctx, &stream, static_cast<char*>(buf) + half, begin + half,
                              static_cast<UINT32>(size - half));
    }
    PrjFreeAlignedBuffer(buf);
    if (fail) return E_FAIL;
    return hr;
}

HRESULT TestProvider::onFileData(const PRJ_CALLBACK_DATA* data, UINT64 byteOffset, UINT32 length)
{
    auto* p = self(data);
    int call = ++p->fileData;
    if (auto hook = p->hook(p->fileDataHook)) hook();
    FileDataRequest request{data->CommandId,    data->DataStreamId,
                            byteOffset,         length,
                            data->FilePathName, data->VersionInfo != nullptr && data->VersionInfo->ContentID[0] == 42};
    {
        std::lock_guard lock(p->mutex);
        p->fileDataRequests.push_back(request);
    }
    if (p->pendFileData) {
        std::lock_guard lock(p->mutex);
        p->pendingIds.push_back(data->CommandId);
        p->pendingStreams.push_back(data->DataStreamId);
        p->pendingPaths.push_back(data->FilePathName);
        p->pendingRanges.push_back(request);
        p->changed.notify_all();
        return HRESULT_FROM_WIN32(ERROR_IO_PENDING);
    }
    if (call == p->emptyFileDataCall) return S_OK;
    return p->writeData(data->NamespaceVirtualizationContext, data->FilePathName, data->DataStreamId, byteOffset,
                        length, p->failFileData || call == p->failFileDataCall);
}

void TestProvider::onCancel(const PRJ_CALLBACK_DATA* data)
{
    auto* p = self(data);
    p->cancels++;
    std::lock_guard lock(p->mutex);
    p->cancelledIds.push_back(data->CommandId);
    p->changed.notify_all();
}

HRESULT TestProvider::completeFileData(size_t index, HRESULT result)
{
    int32_t id;
    GUID stream;
    std::wstring path;
    FileDataRequest range;
    {
        std::lock_guard lock(mutex);
        id = pendingIds.at(index);
        stream = pendingStreams.at(index);
        path = pendingPaths.at(index);
        range = pendingRanges.at(index);
    }
    if (SUCCEEDED(result)) {
        HRESULT hr = guidIsNull(stream) ? writePlaceholder(context_, path)
                                        : writeData(context_, path, stream, range.offset, range.length, failFileData);
        if (FAILED(hr)) result = hr;
    }
    return PrjCompleteCommand(context_, id, result, nullptr);
}

bool TestProvider::waitForPending(size_t count, int timeoutMs)
{
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] { return pendingIds.size() >= count; });
}

bool TestProvider::waitForCancel(size_t count, int timeoutMs)
{
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] { return cancelledIds.size() >= count; });
}

TempRoot::TempRoot()
{
    char tmpl[] = "/tmp/projfs-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
}

TempRoot::~TempRoot()
{
    ::umount2(path_.c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

bool eventually(const std::function<bool()>& condition, int timeoutMs)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return "<cannot open>";
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::vector<std::string> listDirectory(const std::string& path)
{
    std::vector<std::string> out;
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return {"<cannot open>"};
    while (auto* d = ::readdir(dir)) {
        std::string name = d->d_name;
        if (name != "." && name != "..") out.push_back(name);
    }
    ::closedir(dir);
    return out;
}

PRJ_FILE_STATE fileState(const std::string& path)
{
    PRJ_FILE_STATE state{};
    std::wstring wide(path.begin(), path.end());
    if (FAILED(PrjGetOnDiskFileState(wide.c_str(), &state))) return static_cast<PRJ_FILE_STATE>(0);
    return state;
}

void TestProvider::settleInvalidations() const
{
    auto entry = findInstance(context_);
    if (!entry || !entry->instance) throw std::logic_error("settleInvalidations: the provider is not running");
    std::promise<void> ran;
    entry->instance->executor().post([&ran] { ran.set_value(); });
    ran.get_future().wait();
}

}  // namespace hc::projfs::test
