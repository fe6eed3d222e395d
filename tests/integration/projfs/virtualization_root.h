// VirtualizationRoot: a temporary directory marked as a ProjFS root, started with a TestProvider,
// always stopped and removed in the destructor (even when the test failed half way). Also small
// file helpers and child-process helpers used across the ProjFS integration tests.
#pragma once

#include "test_provider.h"

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace projfs_test {

// Lifecycle: the constructor makes <tmp>/projfs-XXXXXX/root and marks it (PrjMarkDirectoryAsPlaceholder);
// start() / stop() may alternate; the destructor stops, detaches any FUSE mount left behind by a bug,
// and removes the temporary tree. The TestProvider passed to start() must outlive stop().
class VirtualizationRoot {
public:
    VirtualizationRoot();
    ~VirtualizationRoot();
    VirtualizationRoot(const VirtualizationRoot&) = delete;
    VirtualizationRoot& operator=(const VirtualizationRoot&) = delete;

    HRESULT start(TestProvider& provider, const PRJ_STARTVIRTUALIZING_OPTIONS* options = nullptr);
    void stop();
    bool running() const { return context_ != nullptr; }

    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context() const { return context_; }
    const std::string& path() const { return root_; }
    std::string path(const std::string& relative) const { return root_ + "/" + relative; }
    std::wstring widePath(const std::string& relative = "") const
    {
        return wide(relative.empty() ? root_ : path(relative));
    }
    const std::string& scratch() const { return base_; }  // the temporary parent, for extra files

private:
    std::string base_;
    std::string root_;
    TestProvider* provider_ = nullptr;
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context_ = nullptr;
};

// ---- file helpers (return errno on failure) ----
struct ReadResult {
    int error = 0;
    std::string data;
};
ReadResult readFile(const std::string& path);
int writeFile(const std::string& path, const std::string& data);
// Names in readdir order, without "." and "..".
std::vector<std::string> listDirectory(const std::string& path, int* error = nullptr);
// FNV-1a 64 of the file's content, read in 1 MiB pieces; nullopt on error.
std::optional<uint64_t> fileChecksum(const std::string& path);
bool isMounted(const std::string& path);
std::string makeTempDir(const std::string& prefix);
void removeTree(const std::string& path);

PRJ_FILE_STATE fileState(const std::string& path, HRESULT* hr = nullptr);

// ---- child processes ----
// Forks a child that opens `path` and reads it to the end (O_DIRECT-free, ordinary read), then
// exits 0 on success or with the errno of the failure.
pid_t forkReader(const std::string& path);
// Waits for `pid` up to `timeout`; the exit status as from waitpid, or nullopt on timeout.
std::optional<int> waitChild(pid_t pid, std::chrono::milliseconds timeout);
// The single-letter state from /proc/PID/stat ('D', 'S', 'Z', ...), or 0 if gone.
char processState(pid_t pid);

}  // namespace projfs_test
