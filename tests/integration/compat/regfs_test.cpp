// Microsoft's RegFS provider (Windows-classic-samples, compiled unchanged but for its registry access, see
// regfs/RegOps.h) projecting the fake registry through a real ProjFS mount: the tree lists, values read as
// files, the provider rejects deletes as the sample does, and Enter stops it and removes the mount.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;

std::string readText(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool mounted(const fs::path& root)
{
    std::string mounts = readText("/proc/self/mountinfo");
    return mounts.find(" " + root.string() + " ") != std::string::npos;
}

// regfs ROOT with a pipe on its stdin ("Press Enter to stop") and its output in a file.
class RegfsProcess {
public:
    RegfsProcess(const fs::path& root, const fs::path& log) : root_(root)
    {
        int fds[2];
        EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(fds[0], 0);
            int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(out, 1);
            ::dup2(out, 2);
            std::string program = std::string(HC_REGFS_PROGRAM);
            ::execl(program.c_str(), program.c_str(), root.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(fds[0]);
        stdin_ = fds[1];
    }
    ~RegfsProcess()
    {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (stdin_ >= 0) {
            ::close(stdin_);
        }
        if (mounted(root_)) {
            std::system(("fusermount3 -u -z '" + root_.string() + "'").c_str());
        }
    }
    // Presses Enter and waits (bounded) for the exit status; -1 on timeout.
    int stop(std::chrono::seconds timeout)
    {
        EXPECT_EQ(::write(stdin_, "\n", 1), 1);
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return -1;
    }

private:
    fs::path root_;
    pid_t pid_ = -1;
    int stdin_ = -1;
};

TEST(RegfsSample, ProjectsTheFakeRegistryThroughARealMount)
{
    char pattern[] = "/tmp/hc-regfs-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    fs::path work = pattern;
    fs::path root = work / "root";  // regfs creates the root and marks it (.regfsId)
    {
        RegfsProcess regfs(root, work / "regfs.log");
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!mounted(root) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ASSERT_TRUE(mounted(root)) << readText(work / "regfs.log");

        std::set<std::string> top;
        for (const auto& entry : fs::directory_iterator(root)) {
            top.insert(entry.path().filename().string());
        }
        EXPECT_EQ(top, (std::set<std::string>{".regfsId", "HKEY_CLASSES_ROOT", "HKEY_CURRENT_CONFIG",
                                              "HKEY_CURRENT_USER", "HKEY_LOCAL_MACHINE", "HKEY_USERS"}));
        EXPECT_EQ(fs::file_size(root / ".regfsId"), 16u);  // the instance GUID written with CreateFile2

        fs::path key = root / "HKEY_LOCAL_MACHINE" / "SOFTWARE" / "hostcompute";
        EXPECT_TRUE(fs::is_directory(key));
        EXPECT_EQ(readText(key / "Version"), "0.1.0");
        EXPECT_EQ(fs::file_size(key / "Description"), std::string("Windows HCS and ProjFS APIs on Linux").size());
        EXPECT_EQ(readText(key / "Description"), "Windows HCS and ProjFS APIs on Linux");
        EXPECT_EQ(readText(key / "Providers" / "RegFS" / "Enabled"), "1");
        EXPECT_EQ(readText(root / "hkey_current_user" / "environment" / "PATH"), "C:\\Windows");  // any case
        EXPECT_FALSE(fs::exists(key / "Missing"));

        // The sample's Notify rejects deletes and renames of projected items (read-only namespace).
        EXPECT_NE(::unlink((key / "Version").c_str()), 0);
        EXPECT_EQ(readText(key / "Version"), "0.1.0");

        EXPECT_EQ(regfs.stop(std::chrono::seconds(30)), 0) << readText(work / "regfs.log");
        EXPECT_FALSE(mounted(root));
    }
    std::string log = readText(work / "regfs.log");
    EXPECT_NE(log.find("RegFS is running at virtualization root"), std::string::npos) << log;
    fs::remove_all(work);
}

}  // namespace
