#include "container_init.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "agent_core.h"

namespace hc::guest_agent {

namespace {

constexpr unsigned kShutdownGraceSeconds = 10;

volatile sig_atomic_t gTerminate = 0;
volatile sig_atomic_t gAlarm = 0;

void onTerminate(int)
{
    gTerminate = 1;
}

void onAlarm(int)
{
    gAlarm = 1;
}

// pid 1: reaps until the agent is gone (or, after SIGTERM, until every process is gone).
[[noreturn]] void reap(pid_t agent)
{
    struct sigaction action {};
    action.sa_handler = onTerminate;  // no SA_RESTART: wait() returns EINTR
    sigaction(SIGTERM, &action, nullptr);
    action.sa_handler = onAlarm;
    sigaction(SIGALRM, &action, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    bool shuttingDown = false;
    for (;;) {
        if (gTerminate && !shuttingDown) {
            shuttingDown = true;
            kill(-1, SIGTERM);  // every process of the namespace but this one
            alarm(kShutdownGraceSeconds);
        }
        if (gAlarm) {
            gAlarm = 0;
            kill(-1, SIGKILL);
        }
        int status = 0;
        pid_t pid = wait(&status);
        if (pid < 0) {
            if (errno == EINTR) continue;
            _exit(shuttingDown ? 0 : 1);  // ECHILD: nothing left
        }
        if (pid == agent && !shuttingDown) {
            std::fprintf(stderr, "hcs-guest: the container agent ended (status %d)\n", status);
            _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
    }
}

// The agent: one host connection at a time.
class ContainerAgent {
public:
    ContainerAgent(EventLoop& loop, int listenFd, const char* version) : loop_(loop), listenFd_(listenFd)
    {
        options_.agentVersion = version;
        loop_.watchFd(listenFd_, POLLIN, [this](short) { accept(); });
    }

private:
    void accept()
    {
        int fd = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) return;
        // Only hcsd can reach the socket, so a new connection is a restarted hcsd: it supersedes the
        // previous one (whose processes end, as when a host goes away) even if that one's end of
        // file has not been seen yet.
        core_.reset();
        AgentOptions options = options_;
        const uint64_t generation = ++generation_;
        options.onHostGone = [this, generation] {
            if (generation == generation_) core_.reset();
        };
        core_ = std::make_unique<AgentCore>(loop_, UniqueFd(fd), options);
    }

    EventLoop& loop_;
    int listenFd_;
    AgentOptions options_;
    std::unique_ptr<AgentCore> core_;
    uint64_t generation_ = 0;  // of core_: a late onHostGone of a superseded core is ignored
};

}  // namespace

void runContainerInit(int listenFd, const char* agentVersion)
{
    if (fcntl(listenFd, F_SETFD, FD_CLOEXEC) != 0 || fcntl(listenFd, F_SETFL, O_NONBLOCK) != 0) {
        std::perror("hcs-guest: the listening socket (descriptor 3)");
        _exit(2);
    }
    // The runtime's init may start with signals blocked; the agent installs what it needs itself.
    pid_t agent = fork();
    if (agent < 0) {
        std::perror("hcs-guest: fork");
        _exit(1);
    }
    if (agent > 0) {
        close(listenFd);
        reap(agent);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != 1) _exit(1);  // the reaper is already gone
    EventLoop loop;
    ContainerAgent serve(loop, listenFd, agentVersion);
    std::fprintf(stderr, "hcs-guest %s: serving the container\n", agentVersion);
    loop.run();
    _exit(1);
}

}  // namespace hc::guest_agent
