#include "concurrent_walk.h"

#include "virtualization_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <barrier>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace projfs_test {
namespace {

constexpr size_t kKeptErrors = 40;

void failed(WalkReport& report, const char* call, const std::string& path)
{
    if (report.errors.size() < kKeptErrors)
        report.errors.push_back(std::string(call) + " " + path + ": " + std::strerror(errno));
}

void walk(const std::string& dir, bool reader, WalkReport& report)
{
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return failed(report, "opendir", dir);
    std::vector<std::string> subdirectories;
    errno = 0;
    while (dirent* entry = ::readdir(d)) {
        std::string name = entry->d_name;
        if (name == "." || name == "..") continue;
        std::string path = dir + "/" + name;
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) {
            failed(report, "lstat", path);
        } else if (S_ISDIR(st.st_mode)) {
            subdirectories.push_back(path);
        } else if (S_ISREG(st.st_mode)) {
            ++report.files;
            if (reader) {
                int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
                char byte;
                if (fd < 0) {
                    failed(report, "open", path);
                } else {
                    if (::read(fd, &byte, 1) < 0) failed(report, "read", path);
                    ::close(fd);
                }
            }
        }
        errno = 0;
    }
    if (errno != 0) failed(report, "readdir", dir);
    ::closedir(d);
    ++report.directories;
    for (const std::string& sub : subdirectories)
        walk(sub, reader, report);
}

}  // namespace

TreeShape makeWideTree(const std::string& dir, int fanout, int filesPerLeaf)
{
    TreeShape shape;
    auto makeDir = [&shape](const std::string& path) {
        if (::mkdir(path.c_str(), 0755) != 0) throw std::runtime_error("mkdir " + path + ": " + std::strerror(errno));
        ++shape.directories;
    };
    makeDir(dir);
    for (int a = 0; a < fanout; ++a) {
        const std::string da = dir + "/a" + std::to_string(a);
        makeDir(da);
        for (int b = 0; b < fanout; ++b) {
            const std::string db = da + "/b" + std::to_string(b);
            makeDir(db);
            for (int c = 0; c < fanout; ++c) {
                const std::string dc = db + "/c" + std::to_string(c);
                makeDir(dc);
                for (int f = 0; f < filesPerLeaf; ++f) {
                    const std::string path = dc + "/f" + std::to_string(f) + ".txt";
                    if (writeFile(path, path.substr(dir.size()) + "\n") != 0) throw std::runtime_error("write " + path);
                    ++shape.files;
                }
            }
        }
    }
    --shape.directories;  // `dir` itself
    return shape;
}

std::vector<WalkReport> walkConcurrently(const std::string& root, int walkers)
{
    std::vector<WalkReport> reports(static_cast<size_t>(walkers));
    std::barrier start(walkers);
    std::vector<std::thread> threads;
    for (int i = 0; i < walkers; ++i) {
        threads.emplace_back([&, i] {
            start.arrive_and_wait();
            walk(root, i % 2 == 1, reports[static_cast<size_t>(i)]);
        });
    }
    for (auto& thread : threads)
        thread.join();
    return reports;
}

}  // namespace projfs_test
