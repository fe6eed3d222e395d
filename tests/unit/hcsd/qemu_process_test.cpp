// Starting a VM process: the child gets stdin/stdout/stderr and the monitor descriptor, and
// nothing else of hcsd's — not even descriptors hcsd inherited without close-on-exec.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "hcs/vm/qemu_process.h"

namespace hc::hcs::vm {
namespace {

std::set<int> descriptorsSeenByChild(int inheritFd)
{
    char tmpl[] = "/tmp/hcsd-process-test-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::string log = dir + "/out.log";
    // The shell lists its descriptors; `ls` itself would add the one it reads the directory with.
    auto process = startProcess({"/bin/sh", "-c", "for f in /proc/$$/fd/*; do echo ${f##*/}; done"}, inheritFd, log);
    EXPECT_TRUE(process.ok()) << (process.ok() ? "" : process.error().message);
    std::set<int> fds;
    if (!process.ok()) return fds;
    int status = 0;
    EXPECT_EQ(waitpid(process->pid, &status, 0), process->pid);
    close(process->pidfd);
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);)
        fds.insert(std::atoi(line.c_str()));
    std::filesystem::remove_all(dir);
    return fds;
}

TEST(QemuProcess, ChildInheritsOnlyStdioAndTheMonitor)
{
    // A descriptor hcsd inherited without close-on-exec (a client's pipe, say), at a high number.
    int pipeFds[2];
    ASSERT_EQ(pipe(pipeFds), 0);
    ASSERT_EQ(dup2(pipeFds[1], 57), 57);
    int monitor = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(monitor, 0);

    // The shell's glob holds one descriptor of its own (the directory it lists), the lowest free one.
    std::set<int> withMonitor = descriptorsSeenByChild(monitor);
    EXPECT_EQ(withMonitor, (std::set<int>{0, 1, 2, 3, 4}));
    std::set<int> without = descriptorsSeenByChild(-1);
    EXPECT_EQ(without, (std::set<int>{0, 1, 2, 3}));

    close(57);
    close(pipeFds[0]);
    close(pipeFds[1]);
    close(monitor);
}

TEST(QemuProcess, FindsAProcessByAnArgument)
{
    char tmpl[] = "/tmp/hcsd-find-test-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::string fifo = dir + "/block";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    std::string token = dir + "/qemu.pid";
    // The shell blocks opening a FIFO nobody writes to: one process, no child, until it is killed.
    auto process = startProcess({"/bin/sh", "-c", "read line < \"$1\"", "sh", fifo, token}, -1, "/dev/null");
    ASSERT_TRUE(process.ok());
    EXPECT_EQ(findProcessesWithArgument(token), (std::vector<pid_t>{process->pid}));
    EXPECT_TRUE(findProcessesWithArgument(token + "x").empty());
    killProcess(process->pid);
    int status = 0;
    EXPECT_EQ(waitpid(process->pid, &status, 0), process->pid);
    EXPECT_TRUE(WIFSIGNALED(status));
    close(process->pidfd);
    EXPECT_TRUE(findProcessesWithArgument(token).empty());
    std::filesystem::remove_all(dir);
}

TEST(QemuProcess, IgnoresAnotherUsersProcessCarryingTheToken)
{
    ASSERT_EQ(geteuid(), 0u) << "the test runs a process as another user (nobody, uid 65534)";
    char tmpl[] = "/tmp/hcsd-find-test-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::string token = dir + "/qemu.pid";
    int ready[2];
    ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);  // the write end closes at exec
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        setpgid(0, 0);
        if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(127);
        execl("/bin/sh", "sh", "-c", "sleep 60; :", "sh", token.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    close(ready[1]);
    char byte;
    ASSERT_EQ(read(ready[0], &byte, 1), 0);  // EOF: exec happened, the token is on the command line
    close(ready[0]);
    std::ifstream cmdline("/proc/" + std::to_string(child) + "/cmdline");
    std::string text((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find(token), std::string::npos) << "the other user's process does not carry the token";
    EXPECT_TRUE(findProcessesWithArgument(token).empty()) << "a process of uid 65534 was taken for hcsd's own";
    kill(-child, SIGKILL);
    waitpid(child, nullptr, 0);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hc::hcs::vm
