#include "test_provider.h"

#include "base/guid.h"
#include "base/strings.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace projfs_test {
namespace {

constexpr HRESULT kPending = HRESULT_FROM_WIN32(ERROR_IO_PENDING);
constexpr size_t kChunk = 1 << 20;

std::wstring toProjfsPath(const std::string& path)
{
    std::wstring w = wide(path);
    std::replace(w.begin(), w.end(), L'/', L'\\');
    while (!w.empty() && w.front() == L'\\')
        w.erase(w.begin());
    return w;
}

std::vector<std::wstring> split(const std::wstring& path)
{
    std::vector<std::wstring> parts;
    std::wstring current;
    for (wchar_t c : path) {
        if (c == L'\\' || c == L'/') {
            if (!current.empty()) parts.push_back(current);
            current.clear();
        } else {
            current.push_back(c);
        }
    }
    if (!current.empty()) parts.push_back(current);
    return parts;
}

uint64_t splitmix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

}  // namespace

std::wstring wide(const std::string& utf8)
{
    auto w = hc::fromUtf8(utf8);
    if (!w.ok()) throw std::invalid_argument("not UTF-8: " + utf8);
    return *w;
}

std::string narrow(const std::wstring& text)
{
    auto n = hc::toUtf8(text);
    if (!n.ok()) throw std::invalid_argument("not convertible to UTF-8");
    return *n;
}

std::string guidText(const GUID& guid)
{
    return hc::formatGuid(guid);
}

std::string generatedContent(uint64_t offset, size_t length, uint32_t seed)
{
    std::string out(length, '\0');
    size_t i = 0;
    while (i < length) {
        const uint64_t word = (offset + i) / 8;
        const uint64_t value = splitmix(word ^ (static_cast<uint64_t>(seed) << 40));
        for (size_t b = (offset + i) % 8; b < 8 && i < length; ++b, ++i)
            out[i] = static_cast<char>(value >> (8 * b));
    }
    return out;
}

struct TestProvider::Node {
    std::wstring name;
    bool isDirectory = false;
    std::string content;
    bool generated = false;
    uint64_t generatedSize = 0;
    uint32_t seed = 0;
    std::vector<std::unique_ptr<Node>> children;  // PrjFileNameCompare order

    uint64_t size() const { return generated ? generatedSize : content.size(); }
};

// One per enumeration GUID: created by Start's work, resumed by Get, erased by End.
struct TestProvider::EnumSession {
    std::vector<const Node*> entries;
    size_t next = 0;
    bool completed = false;
    bool captured = false;
    std::wstring expression;
};

TestProvider::TestProvider() : root_(std::make_unique<Node>())
{
    root_->isDirectory = true;
}

TestProvider::~TestProvider()
{
    drainWorkers();
    {
        std::lock_guard lock(mutex_);
        queueStopping_ = true;
    }
    queueWake_.notify_all();
    if (completionThread_.joinable()) completionThread_.join();
}

void TestProvider::runCompletionQueue()
{
    std::unique_lock lock(mutex_);
    for (;;) {
        queueWake_.wait(lock, [&] { return queueStopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        HeldCommand command = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        completeHeld(command);
        lock.lock();
        --workers_;
        changed_.notify_all();
    }
}

TestProvider::Node* TestProvider::addNode(const std::string& path, bool isDirectory)
{
    std::lock_guard lock(mutex_);
    Node* node = root_.get();
    const auto parts = split(wide(path));
    for (size_t i = 0; i < parts.size(); ++i) {
        const bool last = i + 1 == parts.size();
        auto it = std::find_if(node->children.begin(), node->children.end(), [&](const auto& child) {
            return PrjFileNameCompare(child->name.c_str(), parts[i].c_str()) == 0;
        });
        if (it == node->children.end()) {
            auto child = std::make_unique<Node>();
            child->name = parts[i];
            child->isDirectory = !last || isDirectory;
            auto pos = std::upper_bound(
                node->children.begin(), node->children.end(), child,
                [](const auto& a, const auto& b) { return PrjFileNameCompare(a->name.c_str(), b->name.c_str()) < 0; });
            it = node->children.insert(pos, std::move(child));
        }
        node = it->get();
    }
    return node;
}

void TestProvider::addDirectory(const std::string& path)
{
    addNode(path, true);
}

void TestProvider::addFile(const std::string& path, std::string content)
{
    Node* node = addNode(path, false);
    std::lock_guard lock(mutex_);
    node->content = std::move(content);
}

void TestProvider::addGeneratedFile(const std::string& path, uint64_t size, uint32_t seed)
{
    Node* node = addNode(path, false);
    std::lock_guard lock(mutex_);
    node->generated = true;
    node->generatedSize = size;
    node->seed = seed;
}

std::string TestProvider::contentOf(const std::string& path) const
{
    const Node* node = find(toProjfsPath(path), nullptr);
    if (!node) return {};
    return node->generated ? generatedContent(0, node->generatedSize, node->seed) : node->content;
}

const TestProvider::Node* TestProvider::find(const std::wstring& path, std::wstring* spelling) const
{
    const Node* node = root_.get();
    if (spelling) spelling->clear();
    for (const auto& part : split(path)) {
        if (!node->isDirectory) return nullptr;
        auto it = std::find_if(node->children.begin(), node->children.end(), [&](const auto& child) {
            return PrjFileNameCompare(child->name.c_str(), part.c_str()) == 0;
        });
        if (it == node->children.end()) return nullptr;
        node = it->get();
        if (spelling) {
            if (!spelling->empty()) spelling->push_back(L'\\');
            spelling->append(node->name);
        }
    }
    return node;
}

void TestProvider::setCompletion(Callback kind, Completion completion)
{
    std::lock_guard lock(mutex_);
    completion_[static_cast<int>(kind)] = completion;
}

void TestProvider::failPath(Callback kind, const std::string& path, HRESULT hr)
{
    std::lock_guard lock(mutex_);
    failures_[{static_cast<int>(kind), toProjfsPath(path)}] = hr;
}

void TestProvider::failFileDataAt(const std::string& path, uint64_t offset, int times)
{
    std::lock_guard lock(mutex_);
    dataFailures_[toProjfsPath(path)] = {offset, times};
}

void TestProvider::setCallbackDelay(std::chrono::milliseconds delay)
{
    std::lock_guard lock(mutex_);
    delay_ = delay;
}

PRJ_CALLBACKS TestProvider::callbacks() const
{
    PRJ_CALLBACKS callbacks = {};
    callbacks.StartDirectoryEnumerationCallback = onStartEnum;
    callbacks.EndDirectoryEnumerationCallback = onEndEnum;
    callbacks.GetDirectoryEnumerationCallback = onGetEnum;
    callbacks.GetPlaceholderInfoCallback = onGetPlaceholderInfo;
    callbacks.GetFileDataCallback = onGetFileData;
    if (withCancel_) callbacks.CancelCommandCallback = onCancel;
    return callbacks;
}

int TestProvider::placeholderRequests(const std::string& path) const
{
    std::lock_guard lock(mutex_);
    return static_cast<int>(std::count(placeholderLog_.begin(), placeholderLog_.end(), path));
}

std::vector<std::string> TestProvider::placeholderLog() const
{
    std::lock_guard lock(mutex_);
    return placeholderLog_;
}

std::set<std::thread::id> TestProvider::callbackThreads() const
{
    std::lock_guard lock(mutex_);
    return threads_;
}

std::vector<INT32> TestProvider::cancelledCommands() const
{
    std::lock_guard lock(mutex_);
    return cancelled_;
}

bool TestProvider::waitForCancel(INT32 commandId, std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mutex_);
    return changed_.wait_for(
        lock, timeout, [&] { return std::find(cancelled_.begin(), cancelled_.end(), commandId) != cancelled_.end(); });
}

std::set<std::string> TestProvider::startedEnumerations() const
{
    std::lock_guard lock(mutex_);
    return started_;
}

std::set<std::string> TestProvider::endedEnumerations() const
{
    std::lock_guard lock(mutex_);
    return ended_;
}

std::optional<HeldCommand> TestProvider::waitHeld(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return !held_.empty(); })) return std::nullopt;
    HeldCommand command = held_.front();
    held_.erase(held_.begin());
    return command;
}

HRESULT TestProvider::completeHeld(const HeldCommand& command, HRESULT hr)
{
    if (SUCCEEDED(hr)) hr = doWork(command);
    PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS extended = {};
    PRJ_COMPLETE_COMMAND_EXTENDED_PARAMETERS* ext = nullptr;
    if (command.kind == Callback::GetEnum) {
        extended.CommandType = PRJ_COMPLETE_COMMAND_TYPE_ENUMERATION;
        extended.Enumeration.DirEntryBufferHandle = command.buffer;
        ext = &extended;
    }
    return PrjCompleteCommand(command.context, command.commandId, hr, ext);
}

void TestProvider::drainWorkers()
{
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return workers_ == 0; });
}

// ---- callbacks ----

TestProvider* TestProvider::self(const PRJ_CALLBACK_DATA* data)
{
    return static_cast<TestProvider*>(data->InstanceContext);
}

namespace {
HeldCommand commandFrom(Callback kind, const PRJ_CALLBACK_DATA* data)
{
    HeldCommand command;
    command.kind = kind;
    command.commandId = data->CommandId;
    command.context = data->NamespaceVirtualizationContext;
    command.path = data->FilePathName ? data->FilePathName : L"";
    command.dataStreamId = data->DataStreamId;
    command.flags = data->Flags;
    return command;
}
}  // namespace

HRESULT CALLBACK TestProvider::onStartEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId)
{
    HeldCommand command = commandFrom(Callback::StartEnum, data);
    command.enumerationId = *enumerationId;
    return self(data)->handle(std::move(command));
}

HRESULT CALLBACK TestProvider::onEndEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId)
{
    HeldCommand command = commandFrom(Callback::EndEnum, data);
    command.enumerationId = *enumerationId;
    return self(data)->handle(std::move(command));
}

HRESULT CALLBACK TestProvider::onGetEnum(const PRJ_CALLBACK_DATA* data, const GUID* enumerationId, PCWSTR expression,
                                         PRJ_DIR_ENTRY_BUFFER_HANDLE buffer)
{
    HeldCommand command = commandFrom(Callback::GetEnum, data);
    command.enumerationId = *enumerationId;
    command.expression = expression ? expression : L"*";
    command.buffer = buffer;
    return self(data)->handle(std::move(command));
}

HRESULT CALLBACK TestProvider::onGetPlaceholderInfo(const PRJ_CALLBACK_DATA* data)
{
    return self(data)->handle(commandFrom(Callback::PlaceholderInfo, data));
}

HRESULT CALLBACK TestProvider::onGetFileData(const PRJ_CALLBACK_DATA* data, UINT64 byteOffset, UINT32 length)
{
    HeldCommand command = commandFrom(Callback::FileData, data);
    command.byteOffset = byteOffset;
    command.length = length;
    return self(data)->handle(std::move(command));
}

void CALLBACK TestProvider::onCancel(const PRJ_CALLBACK_DATA* data)
{
    TestProvider* provider = self(data);
    {
        std::lock_guard lock(provider->mutex_);
        provider->cancelled_.push_back(data->CommandId);
    }
    provider->changed_.notify_all();
}

std::optional<HRESULT> TestProvider::injectedFailure(Callback kind, const std::wstring& path) const
{
    auto it = failures_.find({static_cast<int>(kind), path});
    if (it == failures_.end()) return std::nullopt;
    return it->second;
}

HRESULT TestProvider::handle(HeldCommand command)
{
    const int running = ++inFlight_;
    int seen = maxInFlight_.load();
    while (running > seen && !maxInFlight_.compare_exchange_weak(seen, running)) {
    }
    ++counts_[static_cast<int>(command.kind)];
    ++totalCallbacks_;
    if (command.kind == Callback::GetEnum && (command.flags & PRJ_CB_DATA_FLAG_ENUM_RESTART_SCAN)) ++restartScans_;

    std::chrono::milliseconds delay;
    Completion completion;
    std::optional<HRESULT> failure;
    {
        std::lock_guard lock(mutex_);
        threads_.insert(std::this_thread::get_id());
        if (command.kind == Callback::PlaceholderInfo) {
            std::string path = narrow(command.path);
            std::replace(path.begin(), path.end(), '\\', '/');
            placeholderLog_.push_back(path);
        }
        delay = delay_;
        completion = completion_[static_cast<int>(command.kind)];
        failure = injectedFailure(command.kind, command.path);
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);

    HRESULT hr;
    if (failure) {
        hr = *failure;
    } else if (completion == Completion::Sync) {
        hr = doWork(command);
    } else if (completion == Completion::Held) {
        {
            std::lock_guard lock(mutex_);
            held_.push_back(command);
        }
        changed_.notify_all();
        hr = kPending;
    } else if (completion == Completion::Queue) {
        {
            std::lock_guard lock(mutex_);
            ++workers_;
            queue_.push_back(command);
            if (!completionThread_.joinable()) completionThread_ = std::thread([this] { runCompletionQueue(); });
        }
        queueWake_.notify_one();
        hr = kPending;
    } else {
        {
            std::lock_guard lock(mutex_);
            ++workers_;
        }
        std::thread([this, command] {
            completeHeld(command);
            // Notify under the lock: once workers_ is 0 the provider may be destroyed.
            std::lock_guard lock(mutex_);
            --workers_;
            changed_.notify_all();
        }).detach();
        hr = kPending;
    }
    --inFlight_;
    return hr;
}

// ---- the work ----

HRESULT TestProvider::doWork(const HeldCommand& command)
{
    switch (command.kind) {
        case Callback::StartEnum: {
            const Node* node = find(command.path, nullptr);
            if (!node) return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
            if (!node->isDirectory) return HRESULT_FROM_WIN32(ERROR_DIRECTORY);
            auto session = std::make_shared<EnumSession>();
            for (const auto& child : node->children)
                session->entries.push_back(child.get());
            std::lock_guard lock(mutex_);
            sessions_[guidText(command.enumerationId)] = session;
            started_.insert(guidText(command.enumerationId));
            return S_OK;
        }
        case Callback::EndEnum: {
            std::lock_guard lock(mutex_);
            sessions_.erase(guidText(command.enumerationId));
            ended_.insert(guidText(command.enumerationId));
            return S_OK;
        }
        case Callback::GetEnum:
            return fillEnumeration(command);
        case Callback::PlaceholderInfo: {
            std::wstring spelling;
            const Node* node = find(command.path, &spelling);
            if (!node) return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
            PRJ_PLACEHOLDER_INFO info = {};
            info.FileBasicInfo.IsDirectory = node->isDirectory;
            info.FileBasicInfo.FileSize = node->isDirectory ? 0 : static_cast<INT64>(node->size());
            return PrjWritePlaceholderInfo(command.context, spelling.c_str(), &info, sizeof(info));
        }
        case Callback::FileData:
            return writeData(command);
        case Callback::Count:
            break;
    }
    return E_INVALIDARG;
}

HRESULT TestProvider::fillEnumeration(const HeldCommand& command)
{
    std::shared_ptr<EnumSession> session;
    {
        std::lock_guard lock(mutex_);
        auto it = sessions_.find(guidText(command.enumerationId));
        if (it == sessions_.end()) return E_INVALIDARG;
        session = it->second;
    }
    const bool restart = (command.flags & PRJ_CB_DATA_FLAG_ENUM_RESTART_SCAN) != 0;
    if (!session->captured || restart) {
        session->expression = command.expression;
        session->captured = true;
    }
    if (restart) {
        session->next = 0;
        session->completed = false;
    }
    if (session->completed) return S_OK;
    bool added = false;
    for (; session->next < session->entries.size(); ++session->next) {
        const Node* entry = session->entries[session->next];
        if (!PrjFileNameMatch(entry->name.c_str(), session->expression.c_str())) continue;
        PRJ_FILE_BASIC_INFO info = {};
        info.IsDirectory = entry->isDirectory;
        info.FileSize = entry->isDirectory ? 0 : static_cast<INT64>(entry->size());
        HRESULT hr = PrjFillDirEntryBuffer(entry->name.c_str(), &info, command.buffer);
        if (hr == HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER)) return added ? S_OK : hr;
        if (FAILED(hr)) return hr;
        added = true;
        if (command.flags & PRJ_CB_DATA_FLAG_ENUM_RETURN_SINGLE_ENTRY) {
            ++session->next;
            return S_OK;
        }
    }
    session->completed = true;
    return S_OK;
}

HRESULT TestProvider::writeData(const HeldCommand& command)
{
    const Node* node = find(command.path, nullptr);
    if (!node || node->isDirectory) return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
    uint64_t end = std::min<uint64_t>(node->size(), command.byteOffset + command.length);
    HRESULT failAtEnd = S_OK;
    {
        std::lock_guard lock(mutex_);
        auto it = dataFailures_.find(command.path);
        if (it != dataFailures_.end() && it->second.second > 0) {
            --it->second.second;
            end = std::min(end, it->second.first);
            failAtEnd = HRESULT_FROM_WIN32(ERROR_IO_DEVICE);
        }
    }
    PRJ_VIRTUALIZATION_INSTANCE_INFO instance = {};
    if (FAILED(PrjGetVirtualizationInstanceInfo(command.context, &instance)) || instance.WriteAlignment == 0)
        instance.WriteAlignment = 4096;
    // Sized to what is asked (rounded up to the alignment), not a fixed 1 MiB for a 167-byte file.
    const uint64_t wanted =
        std::max<uint64_t>(1, std::min<uint64_t>(kChunk, end > command.byteOffset ? end - command.byteOffset : 1));
    const size_t chunk = (wanted + instance.WriteAlignment - 1) / instance.WriteAlignment * instance.WriteAlignment;
    void* buffer = PrjAllocateAlignedBuffer(command.context, chunk);
    if (!buffer) return E_OUTOFMEMORY;
    HRESULT hr = S_OK;
    for (uint64_t offset = command.byteOffset; offset < end && SUCCEEDED(hr);) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, end - offset));
        if (node->generated) {
            std::string bytes = generatedContent(offset, n, node->seed);
            std::memcpy(buffer, bytes.data(), n);
        } else {
            std::memcpy(buffer, node->content.data() + offset, n);
        }
        hr = PrjWriteFileData(command.context, &command.dataStreamId, buffer, offset, static_cast<UINT32>(n));
        offset += n;
    }
    PrjFreeAlignedBuffer(buffer);
    return FAILED(hr) ? hr : failAtEnd;
}

}  // namespace projfs_test
