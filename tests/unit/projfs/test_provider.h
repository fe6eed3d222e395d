// A small in-memory provider for the runtime's own tests: a tree of directories and files whose
// content is generated, synchronous by default, optionally pending every command for a test to
// complete or cancel. Counts every callback.
#pragma once

#include <projectedfslib.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace hc::projfs::test {

struct TestItem {
    bool isDirectory = false;
    std::string content;
    // Given through the ExtendedInfo chain (PrjWritePlaceholderInfo2 / PrjFillDirEntryBuffer2) when set.
    PRJ_HOSTCOMPUTE_POSIX_INFO posix{};  // Fields 0 = none
    std::wstring symlinkTarget;          // empty = not a link
};

class TestProvider {
public:
    // Paths use '\\' like callback data; "" is the root.
    void addFile(const std::wstring& path, std::string content);
    void addDirectory(const std::wstring& path);
    // POSIX attributes (hostcompute's extension) of an item added before; Fields says which apply.
    void setPosix(const std::wstring& path, UINT32 fields, UINT32 mode, UINT32 uid = 0, UINT32 gid = 0);
    // A symbolic link to `target` (PRJ_EXT_INFO_TYPE_SYMLINK).
    void addSymlink(const std::wstring& path, const std::wstring& target);
    // Changes a file's content while running (under the mutex: callbacks may be reading it).
    void replaceFile(const std::wstring& path, std::string content);
    // The provider no longer has `path` (under the mutex, like replaceFile).
    void removeItem(const std::wstring& path);

    // Through PrjStartVirtualizing, or the internal startVirtualizing when maxFileDataRequest is set.
    HRESULT start(const std::string& root, const PRJ_STARTVIRTUALIZING_OPTIONS* options = nullptr);
    uint32_t maxFileDataRequest = 0;  // the instance's GetFileData length limit; 0 = the runtime's default
    PRJ_NOTIFICATION_CB* notificationCallback =
        nullptr;  // PRJ_CALLBACKS::NotificationCallback (InstanceContext = this)
    void stop();
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context() const { return context_; }
    // Returns once every kernel invalidation the runtime queued so far has been sent: they go out from
    // the instance's serial executor, so a task posted now runs after them.
    void settleInvalidations() const;

    std::atomic<int> startEnum{0}, getEnum{0}, endEnum{0}, placeholderInfo{0}, fileData{0}, cancels{0};
    std::atomic<int> restartScans{0};
    bool answerQueryFileName = false;  // set before start(): QueryFileNameCallback answers from the tree
    std::atomic<int> queryFileName{0};
    std::vector<std::wstring> queriedPaths;    // under the mutex
    std::atomic<bool> pendFileData{false};     // GetFileData returns IO_PENDING; the test completes it
    std::atomic<bool> failFileData{false};     // GetFileData fails after writing half
    std::atomic<bool> pendPlaceholder{false};  // GetPlaceholderInfo returns IO_PENDING
    std::atomic<bool> failStartEnum{false};    // StartDirectoryEnumeration fails (ERROR_PATH_NOT_FOUND)
    std::atomic<bool> failGetEnum{false};      // GetDirectoryEnumeration fails (ERROR_FILE_NOT_FOUND)
    // GetFileData modes (default: the whole file whatever was asked, as before).
    std::atomic<bool> exactRange{false};       // write only the requested range ...
    std::atomic<uint64_t> fileDataSurplus{0};  // ... plus this many bytes after it (up to the file size)
    std::atomic<int> failFileDataCall{0};      // the Nth GetFileData (counting from 1) writes half, then fails
    std::atomic<int> emptyFileDataCall{0};     // the Nth GetFileData returns S_OK without writing anything
    // Hooks run inside the callbacks; set them with setHook (the kernel orders a test's system call before
    // the callback it causes, but TSan cannot see that, so hooks are exchanged under the mutex).
    std::function<void(const PRJ_CALLBACK_DATA*)> placeholderHook;
    std::function<void()> fileDataHook;
    template <typename F>
    void setHook(F& slot, F value)
    {
        std::lock_guard lock(mutex);
        slot = std::move(value);
    }
    template <typename F>
    F hook(const F& slot)
    {
        std::lock_guard lock(mutex);
        return slot;
    }
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<int32_t> pendingIds;  // commands left pending
    std::vector<GUID> pendingStreams;
    std::vector<std::wstring> pendingPaths;
    struct FileDataRequest {
        int32_t commandId = 0;
        GUID dataStreamId{};
        uint64_t offset = 0;
        uint32_t length = 0;
        std::wstring path;            // FilePathName
        bool hadVersionInfo = false;  // VersionInfo was given, with the ContentID this provider writes (42)
    };
    std::vector<FileDataRequest> pendingRanges;     // with pendingIds (placeholders: offset and length 0)
    std::vector<FileDataRequest> fileDataRequests;  // every GetFileData, in order
    std::vector<FileDataRequest> fileDataRequestsSeen()
    {
        std::lock_guard lock(mutex);
        return fileDataRequests;
    }
    std::vector<int32_t> cancelledIds;
    std::vector<uint32_t> triggeringPids;

    // Writes the content of `path` for a pending GetFileData and completes it.
    HRESULT completeFileData(size_t index, HRESULT result = S_OK);
    bool waitForPending(size_t count, int timeoutMs = 5000);
    bool waitForCancel(size_t count, int timeoutMs = 5000);

private:
    struct Enumeration {
        std::vector<std::wstring> names;
        size_t next = 0;
    };
    const TestItem* find(const std::wstring& path) const;
    std::vector<std::wstring> children(const std::wstring& dir) const;
    HRESULT writeData(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT ctx, const std::wstring& path, const GUID& stream,
                      uint64_t offset, uint32_t length, bool fail);
    HRESULT writePlaceholder(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT ctx, const std::wstring& path);

    static HRESULT onStartEnum(const PRJ_CALLBACK_DATA*, const GUID*);
    static HRESULT onEndEnum(const PRJ_CALLBACK_DATA*, const GUID*);
    static HRESULT onGetEnum(const PRJ_CALLBACK_DATA*, const GUID*, PCWSTR, PRJ_DIR_ENTRY_BUFFER_HANDLE);
    static HRESULT onPlaceholderInfo(const PRJ_CALLBACK_DATA*);
    static HRESULT onFileData(const PRJ_CALLBACK_DATA*, UINT64, UINT32);
    static HRESULT onQueryFileName(const PRJ_CALLBACK_DATA*);
    static void onCancel(const PRJ_CALLBACK_DATA*);

    std::map<std::wstring, TestItem> items_;  // key: upper-cased path
    std::map<std::wstring, std::wstring> spelling_;
    std::map<std::string, Enumeration> enums_;
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context_ = nullptr;
};

// A fresh directory under /tmp, removed (after unmounting anything left) at destruction.
class TempRoot {
public:
    TempRoot();
    ~TempRoot();
    const std::string& path() const { return path_; }
    std::wstring wide() const { return std::wstring(path_.begin(), path_.end()); }

private:
    std::string path_;
};

std::string readFile(const std::string& path);
// Polls `condition` for up to `timeoutMs` (the kernel sends release requests in the background).
bool eventually(const std::function<bool()>& condition, int timeoutMs = 5000);
std::vector<std::string> listDirectory(const std::string& path);
PRJ_FILE_STATE fileState(const std::string& path);

}  // namespace hc::projfs::test
