// hcsd — the Host Compute Service daemon: owns compute systems (QEMU virtual machines) so that they
// outlive the processes that create them, and serves the computecore client library over a Unix
// socket (docs/hcsd.md, docs/protocol.md).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/event_loop.h"
#include "base/log.h"
#include "hcs/guest/agent_channel.h"
#include "hcs/ipc/runtime_paths.h"
#include "hcs/ipc/stale_socket.h"
#include "hcs/ipc/system_instance.h"
#include "hcs/ipc/unix_socket.h"
#include "hcs/service/server.h"
#include "hcs/service/service.h"
#include "hcs/vm/accelerator.h"
#include "hcs/vm/qemu_process.h"
#include "hcs/vm/qemu_vm.h"

namespace {

using namespace hc::hcs;

struct Options {
    std::string socketPath;
    std::string stateDirectory;
    std::string qemuBinary;
    bool foreground = false;
    bool system = false;      // the system instance (--system)
    int idleExitSeconds = 0;  // 0 = never
    int monitorTimeoutMs = 15000;
    int agentTimeoutMs = 60000;
    std::string containerInit;
    std::string ociRuntime;
};

// The static hcs-guest every container runs as its init: next to hcsd when installed, else where the
// build tree puts it (build/tools/hcsd/hcsd -> build/guest/agent/hcs-guest).
std::string defaultContainerInit()
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return "hcs-guest";
    std::string dir(self, static_cast<size_t>(n));
    dir.erase(dir.rfind('/'));
    for (const std::string& candidate : {dir + "/hcs-guest", dir + "/../../guest/agent/hcs-guest"}) {
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return dir + "/hcs-guest";
}

void usage(FILE* out)
{
    std::fprintf(
        out,
        "usage: hcsd [--system] [--socket PATH] [--state-dir DIR] [--foreground] [--idle-exit SECONDS]\n"
        "            [--qemu BINARY] [--monitor-timeout MS] [--agent-timeout MS] [--container-init PATH]\n"
        "            [--oci-runtime BINARY] | --help | --version\n"
        "  --system            the machine's instance (as root; hcsd.socket starts it): socket\n"
        "                      /run/hostcompute/hcsd.sock for the group hostcompute (0660), state in\n"
        "                      /var/lib/hostcompute, foreground; a socket systemd passes (LISTEN_FDS) is used\n"
        "  --socket PATH       listen here (default: $HCS_SOCKET, else $XDG_RUNTIME_DIR/hostcompute/hcsd.sock,\n"
        "                      else /tmp/hostcompute-<uid>/hcsd.sock)\n"
        "  --state-dir DIR     per-system state (default: <socket>.state)\n"
        "  --foreground        do not daemonize; log to stderr\n"
        "  --idle-exit SECONDS exit after this long with no clients and no compute systems\n"
        "  --qemu BINARY       QEMU system emulator (default: $HCSD_QEMU, else qemu-system-x86_64)\n"
        "  --monitor-timeout MS  how long QEMU's monitor may take to answer before the VM counts as\n"
        "                      wedged and is killed (default 15000)\n"
        "  --agent-timeout MS  how long Start waits for a guest agent's hello, and CreateProcess for an\n"
        "                      agent, in systems with a GuestConnection (default 60000)\n"
        "  --container-init PATH  the static hcs-guest containers run as their init (default:\n"
        "                      $HCSD_CONTAINER_INIT, else hcs-guest next to hcsd or in its build tree)\n"
        "  --oci-runtime BINARY   the OCI runtime for containers (default: $HCSD_OCI_RUNTIME, else probed:\n"
        "                      crun on a unified cgroup hierarchy, else runc)\n"
        "Logging: HOSTCOMPUTE_LOG=error|warn|info|debug. HCSD_ACCEL=tcg skips the KVM probe.\n");
}

bool parseOptions(int argc, char** argv, Options& o)
{
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const char* name) -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "hcsd: %s needs a value\n", name);
                return nullptr;
            }
            return argv[++i];
        };
        auto number = [&](const char* name, const char* unit, long min, long max, int& out) {
            const char* v = value(name);
            if (!v) return false;
            char* end = nullptr;
            long n = std::strtol(v, &end, 10);
            if (!end || *end || n < min || n > max) {
                std::fprintf(stderr, "hcsd: %s expects %s, got \"%s\"\n", name, unit, v);
                return false;
            }
            out = static_cast<int>(n);
            return true;
        };
        if (a == "--socket") {
            const char* v = value("--socket");
            if (!v) return false;
            o.socketPath = v;
        } else if (a == "--state-dir") {
            const char* v = value("--state-dir");
            if (!v) return false;
            o.stateDirectory = v;
        } else if (a == "--container-init" || a == "--oci-runtime") {
            const char* v = value(a.c_str());
            if (!v) return false;
            (a == "--container-init" ? o.containerInit : o.ociRuntime) = v;
        } else if (a == "--qemu") {
            const char* v = value("--qemu");
            if (!v) return false;
            o.qemuBinary = v;
        } else if (a == "--idle-exit") {
            if (!number("--idle-exit", "seconds", 0, 86400 * 365, o.idleExitSeconds)) return false;
        } else if (a == "--monitor-timeout") {
            if (!number("--monitor-timeout", "milliseconds (100 or more)", 100, 3600 * 1000, o.monitorTimeoutMs)) {
                return false;
            }
        } else if (a == "--agent-timeout") {
            if (!number("--agent-timeout", "milliseconds (100 or more)", 100, 3600 * 1000, o.agentTimeoutMs)) {
                return false;
            }
        } else if (a == "--foreground") {
            o.foreground = true;
        } else if (a == "--system") {
            o.system = true;
        } else if (a == "--help" || a == "-h") {
            usage(stdout);
            std::exit(0);
        } else if (a == "--version") {
            std::printf("hcsd %s (protocol %u)\n", service::kServiceVersion, protocol::kProtocolVersion);
            std::exit(0);
        } else {
            std::fprintf(stderr, "hcsd: unknown option \"%s\"\n", a.c_str());
            usage(stderr);
            return false;
        }
    }
    if (o.system) {
        if (geteuid() != 0) {
            std::fprintf(stderr, "hcsd: --system runs as root (it serves every member of the group %s)\n",
                         kSystemGroup);
            return false;
        }
        o.foreground = true;
        if (o.socketPath.empty()) o.socketPath = systemSocketPath();
        if (o.stateDirectory.empty()) o.stateDirectory = kSystemStateDirectory;
    }
    if (o.socketPath.empty()) {
        auto path = serviceSocketPath();
        if (!path) {
            std::fprintf(stderr, "hcsd: %s\n", path.error().message.c_str());
            return false;
        }
        o.socketPath = *path;
    }
    if (o.stateDirectory.empty()) o.stateDirectory = o.socketPath + ".state";
    if (o.containerInit.empty()) {
        const char* env = std::getenv("HCSD_CONTAINER_INIT");
        o.containerInit = env && env[0] ? env : defaultContainerInit();
    }
    if (o.ociRuntime.empty()) {
        const char* env = std::getenv("HCSD_OCI_RUNTIME");
        if (env) o.ociRuntime = env;
    }
    if (o.qemuBinary.empty()) {
        const char* env = std::getenv("HCSD_QEMU");
        o.qemuBinary = env && env[0] ? env : "qemu-system-x86_64";
    }
    return true;
}

// Daemon mode: the parent returns only once the daemon listens (or failed), so whoever started
// hcsd can connect right after it exits. Returns the write end the daemon uses to say "ready".
int daemonize(const std::string& logPath)
{
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) {
        std::perror("hcsd: pipe");
        std::exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        std::perror("hcsd: fork");
        std::exit(1);
    }
    if (pid > 0) {
        close(ready[1]);
        char status = 1;
        ssize_t n;
        do {
            n = read(ready[0], &status, 1);
        } while (n < 0 && errno == EINTR);
        std::_Exit(n == 1 && status == 0 ? 0 : 1);
    }
    close(ready[0]);
    setsid();
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) dup2(devnull, 0);
    int log = open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
    }
    return ready[1];
}

}  // namespace

int main(int argc, char** argv)
{
    // A socket systemd passed (hcsd.socket) is taken before anything else is closed.
    auto activated = takeActivatedSocket();
    if (!activated) {
        std::fprintf(stderr, "hcsd: %s\n", activated.error().message.c_str());
        return 1;
    }
    // Nothing else hcsd inherited (an autostarting client's pipes and sockets) stays open in a daemon
    // that outlives that client: someone waiting for EOF on such a pipe would wait for hcsd's lifetime.
    vm::closeDescriptorsFrom(3, *activated);
    Options options;
    if (!parseOptions(argc, argv, options)) return 2;
    signal(SIGPIPE, SIG_IGN);
    // Whatever umask hcsd inherits, what it creates (state files, QEMU's monitor and console
    // sockets, which QEMU creates with hcsd's umask) is its user's alone.
    umask(077);

    // The socket's directory: private when hcsd creates it, and never one another user controls.
    if (*activated >= 0) {
        // systemd made the socket (hcsd.socket says where and for whom); it must agree with ours.
        sockaddr_un bound{};
        socklen_t size = sizeof bound;
        if (getsockname(*activated, reinterpret_cast<sockaddr*>(&bound), &size) != 0 ||
            options.socketPath != bound.sun_path) {
            std::fprintf(stderr, "hcsd: the activated socket is \"%s\", not %s (--socket)\n", bound.sun_path,
                         options.socketPath.c_str());
            return 1;
        }
    } else if (auto st = options.system ? prepareSystemSocketDirectory(options.socketPath)
                                        : prepareSocketDirectory(options.socketPath);
               !st) {
        std::fprintf(stderr, "hcsd: %s\n", st.error().message.c_str());
        return 1;
    }
    if (auto st = ensurePrivateDirectory(options.stateDirectory); !st) {
        std::fprintf(stderr, "hcsd: %s\n", st.error().message.c_str());
        return 1;
    }
    // One hcsd per socket: the lock is held for the daemon's life, so a stale socket file can be
    // replaced safely and a second hcsd refuses to start.
    std::string lockPath = options.socketPath + ".lock";
    int lockFd = open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lockFd < 0 || flock(lockFd, LOCK_EX | LOCK_NB) != 0) {
        std::fprintf(stderr, "hcsd: another hcsd already serves %s (lock %s)\n", options.socketPath.c_str(),
                     lockPath.c_str());
        return 3;
    }

    int readyFd = -1;
    if (!options.foreground) readyFd = daemonize(options.stateDirectory + "/hcsd.log");

    // Signals arrive as readable data in the event loop.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    sigprocmask(SIG_BLOCK, &signals, nullptr);
    int signalFd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);

    auto runtimeDir = userRuntimeDirectory();
    auto accel = vm::probeAccelerator(options.qemuBinary, runtimeDir ? *runtimeDir + "/accelerator-probe" : "");
    HC_LOG(Info, "hcsd",
           std::string("accelerator: ") + vm::acceleratorName(accel.accelerator) + " (" + accel.reason + ")");

    // --socket is the caller's choice: replace only a stale socket (we hold the lock, so no hcsd of
    // ours listens there), never a file or another user's socket.
    hc::Result<int> listenFd = *activated;
    if (*activated < 0) {
        if (auto st = claimSocketPath(options.socketPath); !st) {
            std::fprintf(stderr, "hcsd: --socket: %s\n", st.error().message.c_str());
            return 1;
        }
        listenFd = hc::hcs::listenUnixSocket(options.socketPath);
        if (!listenFd) {
            std::fprintf(stderr, "hcsd: %s\n", listenFd.error().message.c_str());
            return 1;
        }
        if (options.system) {
            if (auto st = shareSocketWithGroup(options.socketPath); !st) {
                std::fprintf(stderr, "hcsd: %s\n", st.error().message.c_str());
                unlink(options.socketPath.c_str());
                return 1;
            }
        }
    }

    hc::EventLoop loop;
    service::ServiceOptions serviceOptions;
    serviceOptions.stateDirectory = options.stateDirectory;
    serviceOptions.qemuBinary = options.qemuBinary;
    serviceOptions.timeouts.monitorTimeout = std::chrono::milliseconds(options.monitorTimeoutMs);
    serviceOptions.agentTimeout = std::chrono::milliseconds(options.agentTimeoutMs);
    serviceOptions.containerInit = options.containerInit;
    serviceOptions.ociRuntime = options.ociRuntime;
    serviceOptions.socketPath = options.socketPath;
    // A container's init is forked by the OCI runtime, which exits: as a subreaper hcsd becomes the
    // init's parent, so it learns how the container ended and no zombie is left behind.
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    // Systems with a GuestConnection talk to their guest agent through AgentChannel (docs/guest-agent.md).
    guest::AgentChannelFactory agentChannels;
    serviceOptions.guestChannels = &agentChannels;
    int exitCode = 0;
    {
        vm::QemuLauncher launcher(loop);
        service::Service service(loop, serviceOptions, accel, launcher);
        service.readoptSystems();
        service::Server server(loop, service, *listenFd);
        loop.watchFd(signalFd, POLLIN, [&](short) {
            signalfd_siginfo info{};
            while (read(signalFd, &info, sizeof info) == sizeof info) {
                HC_LOG(Info, "hcsd",
                       "signal " + std::to_string(info.ssi_signo) + ": stopping (compute systems keep running)");
                loop.stop();
            }
        });
        // --idle-exit: checked twice a second; the check re-arms itself (it lives as long as the loop).
        auto idleSince = std::chrono::steady_clock::now();
        std::function<void()> idleCheck = [&]() {
            if (!service.idle() || server.connectionCount() > 0) idleSince = std::chrono::steady_clock::now();
            if (std::chrono::steady_clock::now() - idleSince >= std::chrono::seconds(options.idleExitSeconds)) {
                HC_LOG(Info, "hcsd", "idle: exiting");
                loop.stop();
                return;
            }
            loop.addTimer(std::chrono::milliseconds(500), idleCheck);
        };
        if (options.idleExitSeconds > 0) loop.addTimer(std::chrono::milliseconds(500), idleCheck);
        std::fprintf(stderr, "hcsd %s listening on %s (accelerator %s)\n", service::kServiceVersion,
                     options.socketPath.c_str(), vm::acceleratorName(accel.accelerator));
        if (readyFd >= 0) {
            char ok = 0;
            ssize_t ignored = write(readyFd, &ok, 1);
            (void)ignored;
            close(readyFd);
        }
        loop.run();
        if (*activated < 0) unlink(options.socketPath.c_str());  // systemd's socket stays for the next start
    }
    close(lockFd);
    return exitCode;
}
