// TriggeringProcesses: answers from /proc once per thread, trusts an entry only while its thread lives,
// stays within its capacity, and agrees with /proc.
#include "projfs/core/triggering_process.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <string>
#include <thread>
#include <vector>

namespace hc::projfs {
namespace {

pid_t currentTid()
{
    return static_cast<pid_t>(::syscall(SYS_gettid));
}

std::wstring ownImage()
{
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    return n > 0 ? std::wstring(buf, buf + n) : std::wstring();
}

// A child process that lives until finish() (then it is reaped, so its id is free for reuse).
class Child {
public:
    Child()
    {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            char c;
            ::close(fds[1]);
            while (::read(fds[0], &c, 1) < 0) {
            }
            ::_exit(0);
        }
        ::close(fds[0]);
        release_ = fds[1];
    }
    ~Child() { finish(); }
    void finish()
    {
        if (pid_ <= 0) return;
        ::close(release_);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    int release_ = -1;
};

TEST(TriggeringProcessTest, ReadsProcOncePerLivingThread)
{
    TriggeringProcesses processes;
    auto first = processes.lookup(currentTid());
    EXPECT_EQ(first->pid, static_cast<uint32_t>(::getpid()));
    EXPECT_EQ(first->image, ownImage());
    EXPECT_EQ(processes.procReads(), 1u);
    for (int i = 0; i < 100; ++i)
        EXPECT_EQ(processes.lookup(currentTid()).get(), first.get());
    EXPECT_EQ(processes.procReads(), 1u);

    // Another thread of this process: its own entry, the same process.
    pid_t otherTid = 0;
    std::thread other([&] {
        otherTid = currentTid();
        auto info = processes.lookup(otherTid);
        EXPECT_EQ(info->pid, static_cast<uint32_t>(::getpid()));
    });
    other.join();
    EXPECT_EQ(processes.procReads(), 2u);
}

TEST(TriggeringProcessTest, AThreadIdIsNotTrustedAfterItsThreadExited)
{
    TriggeringProcesses processes;
    Child child;
    ASSERT_GT(child.pid(), 0);
    auto alive = processes.lookup(child.pid());
    EXPECT_EQ(alive->pid, static_cast<uint32_t>(child.pid()));
    EXPECT_EQ(processes.lookup(child.pid())->pid, static_cast<uint32_t>(child.pid()));
    EXPECT_EQ(processes.procReads(), 1u);
    EXPECT_EQ(processes.cached(), 1u);

    child.finish();  // reaped: the id may now belong to somebody else
    const pid_t gone = alive->pid;
    auto after = processes.lookup(static_cast<pid_t>(gone));
    EXPECT_EQ(processes.procReads(), 2u) << "answered from the entry of a thread that exited";
    // Unless the id was reused in between (then /proc speaks for the new owner), nobody is there.
    if (::kill(static_cast<pid_t>(gone), 0) != 0) {
        EXPECT_EQ(after->pid, 0u);
        EXPECT_TRUE(after->image.empty());
        EXPECT_EQ(processes.cached(), 0u);
    }
}

TEST(TriggeringProcessTest, KeepsAtMostItsCapacityLeastRecentlyUsedOut)
{
    TriggeringProcesses processes(2);
    Child a, b, c;
    ASSERT_TRUE(a.pid() > 0 && b.pid() > 0 && c.pid() > 0);
    processes.lookup(a.pid());
    processes.lookup(b.pid());
    processes.lookup(a.pid());  // b is now the least recently used
    EXPECT_EQ(processes.procReads(), 2u);
    processes.lookup(c.pid());
    EXPECT_EQ(processes.cached(), 2u);
    EXPECT_EQ(processes.procReads(), 3u);
    processes.lookup(a.pid());
    processes.lookup(c.pid());
    EXPECT_EQ(processes.procReads(), 3u);
    EXPECT_EQ(processes.lookup(b.pid())->pid, static_cast<uint32_t>(b.pid()));
    EXPECT_EQ(processes.procReads(), 4u);
    EXPECT_EQ(processes.cached(), 2u);
}

TEST(TriggeringProcessTest, UnknownRequestersReadNothing)
{
    TriggeringProcesses processes;
    EXPECT_EQ(processes.lookup(0)->pid, 0u);
    EXPECT_EQ(processes.lookup(-5)->image, L"");
    EXPECT_EQ(processes.procReads(), 0u);
    // A thread id nobody has: read, found empty, not cached.
    const pid_t unused = INT_MAX - 7;
    ASSERT_NE(::kill(unused, 0), 0);
    EXPECT_EQ(processes.lookup(unused)->pid, 0u);
    EXPECT_EQ(processes.cached(), 0u);
}

TEST(TriggeringProcessTest, ConcurrentLookupsAgree)
{
    TriggeringProcesses processes(4);
    Child a, b;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                const Child& child = (i + t) % 2 ? a : b;
                EXPECT_EQ(processes.lookup(child.pid())->pid, static_cast<uint32_t>(child.pid()));
                EXPECT_EQ(processes.lookup(currentTid())->pid, static_cast<uint32_t>(::getpid()));
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    EXPECT_LE(processes.cached(), 4u);
}

}  // namespace
}  // namespace hc::projfs
