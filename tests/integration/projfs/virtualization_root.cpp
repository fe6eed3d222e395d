#include "virtualization_root.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <dirent.h>

namespace projfs_test {

std::string makeTempDir(const std::string& prefix)
{
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
    return pattern;
}

void removeTree(const std::string& path)
{
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
}

bool isMounted(const std::string& path)
{
    std::ifstream mounts("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mounts, line)) {
        std::istringstream fields(line);
        std::string id, parent, devices, root, mountPoint;
        fields >> id >> parent >> devices >> root >> mountPoint;
        if (mountPoint == path) return true;
    }
    return false;
}

VirtualizationRoot::VirtualizationRoot()
{
    base_ = makeTempDir("projfs-test");
    root_ = base_ + "/root";
    if (mkdir(root_.c_str(), 0755) != 0) throw std::runtime_error("mkdir root failed");
    GUID instance = {};
    instance.Data1 = static_cast<uint32_t>(getpid());
    instance.Data4[7] = 1;
    HRESULT hr = PrjMarkDirectoryAsPlaceholder(widePath().c_str(), nullptr, nullptr, &instance);
    if (FAILED(hr)) throw std::runtime_error("PrjMarkDirectoryAsPlaceholder failed");
}

VirtualizationRoot::~VirtualizationRoot()
{
    stop();
    // A mount left behind (runtime bug) must not keep the tree or later tests hostage.
    for (int i = 0; i < 3 && isMounted(root_); ++i)
        umount2(root_.c_str(), MNT_DETACH);
    removeTree(base_);
}

HRESULT VirtualizationRoot::start(TestProvider& provider, const PRJ_STARTVIRTUALIZING_OPTIONS* options)
{
    PRJ_CALLBACKS callbacks = provider.callbacks();
    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context = nullptr;
    HRESULT hr = PrjStartVirtualizing(widePath().c_str(), &callbacks, &provider, options, &context);
    if (SUCCEEDED(hr)) {
        context_ = context;
        provider_ = &provider;
    }
    return hr;
}

void VirtualizationRoot::stop()
{
    if (!context_) return;
    provider_->drainWorkers();
    PrjStopVirtualizing(context_);
    context_ = nullptr;
    provider_ = nullptr;
}

ReadResult readFile(const std::string& path)
{
    ReadResult result;
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        result.error = errno;
        return result;
    }
    char buffer[1 << 16];
    for (;;) {
        ssize_t n = read(fd, buffer, sizeof(buffer));
        if (n < 0) {
            result.error = errno;
            break;
        }
        if (n == 0) break;
        result.data.append(buffer, static_cast<size_t>(n));
    }
    close(fd);
    return result;
}

int writeFile(const std::string& path, const std::string& data)
{
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    int error = 0;
    if (write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) error = errno ? errno : EIO;
    if (close(fd) != 0 && error == 0) error = errno;
    return error;
}

std::vector<std::string> listDirectory(const std::string& path, int* error)
{
    std::vector<std::string> names;
    DIR* dir = opendir(path.c_str());
    if (!dir) {
        if (error) *error = errno;
        return names;
    }
    errno = 0;
    while (dirent* entry = readdir(dir)) {
        std::string name = entry->d_name;
        if (name != "." && name != "..") names.push_back(name);
    }
    if (error) *error = errno;
    closedir(dir);
    return names;
}

std::optional<uint64_t> fileChecksum(const std::string& path)
{
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::vector<unsigned char> buffer(1 << 20);
    uint64_t hash = 0xcbf29ce484222325ull;
    for (;;) {
        ssize_t n = read(fd, buffer.data(), buffer.size());
        if (n < 0) {
            close(fd);
            return std::nullopt;
        }
        if (n == 0) break;
        for (ssize_t i = 0; i < n; ++i)
            hash = (hash ^ buffer[static_cast<size_t>(i)]) * 0x100000001b3ull;
    }
    close(fd);
    return hash;
}

PRJ_FILE_STATE fileState(const std::string& path, HRESULT* hr)
{
    PRJ_FILE_STATE state = {};
    HRESULT result = PrjGetOnDiskFileState(wide(path).c_str(), &state);
    if (hr) *hr = result;
    return state;
}

pid_t forkReader(const std::string& path)
{
    pid_t pid = fork();
    if (pid == 0) {
        // Only system calls between fork and _exit: the parent is multi-threaded.
        int fd = open(path.c_str(), O_RDONLY);
        if (fd < 0) _exit(errno);
        static char buffer[1 << 16];
        for (;;) {
            ssize_t n = read(fd, buffer, sizeof(buffer));
            if (n < 0) _exit(errno);
            if (n == 0) break;
        }
        _exit(0);
    }
    return pid;
}

std::optional<int> waitChild(pid_t pid, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r < 0) return std::nullopt;
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

char processState(pid_t pid)
{
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return 0;
    auto close = line.rfind(')');
    if (close == std::string::npos || close + 2 >= line.size()) return 0;
    return line[close + 2];
}

}  // namespace projfs_test
