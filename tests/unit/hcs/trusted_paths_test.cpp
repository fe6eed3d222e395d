// Hole 1 (socket hijack): no path the client or hcsd uses may be one another local user controls, and
// the client talks only to a daemon of its own user (or root). Another user is played by uid 65534:
// directories are chown()ed to it (the tests run as root) and a listener drops to it with setresuid().
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/hresult.h"
#include "hcs/client/service_channel.h"
#include "hcs/ipc/runtime_paths.h"
#include "hcs/ipc/unix_socket.h"

namespace hc::hcs {
namespace {

constexpr uid_t kOtherUser = 65534;

// A scratch root standing in for /tmp: world-writable and sticky, owned by this user.
class TrustedPaths : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (geteuid() != 0) GTEST_SKIP() << "needs root to play another user";
        char tmpl[] = "/tmp/hcs-paths-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        root_ = tmpl;
        ASSERT_EQ(chmod(root_.c_str(), 01777), 0);
        environment_.tmpRoot = root_;
    }
    void TearDown() override
    {
        if (!root_.empty()) std::system(("rm -rf " + root_).c_str());
    }

    std::string ownDirectory() const { return root_ + "/hostcompute-" + std::to_string(geteuid()); }

    std::string root_;
    RuntimeEnvironment environment_;
};

TEST_F(TrustedPaths, CreatesAPrivateDirectoryAndAcceptsItAgain)
{
    auto socket = serviceSocketPath(environment_);
    ASSERT_TRUE(socket.ok()) << socket.error().message;
    EXPECT_EQ(*socket, ownDirectory() + "/hcsd.sock");
    struct stat st {};
    ASSERT_EQ(lstat(ownDirectory().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    // Loosened by accident: tightened again, still accepted.
    ASSERT_EQ(chmod(ownDirectory().c_str(), 0755), 0);
    EXPECT_TRUE(serviceSocketPath(environment_).ok());
    ASSERT_EQ(lstat(ownDirectory().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(TrustedPaths, RefusesTheDirectoryWhenAnotherUserCreatedItFirst)
{
    ASSERT_EQ(mkdir(ownDirectory().c_str(), 0777), 0);
    ASSERT_EQ(chmod(ownDirectory().c_str(), 0777), 0);
    ASSERT_EQ(chown(ownDirectory().c_str(), kOtherUser, kOtherUser), 0);
    auto socket = serviceSocketPath(environment_);
    ASSERT_FALSE(socket.ok()) << *socket;
    EXPECT_EQ(socket.error().hr, E_ACCESSDENIED);
    EXPECT_NE(socket.error().message.find(ownDirectory()), std::string::npos) << socket.error().message;
    EXPECT_NE(socket.error().message.find("uid 65534"), std::string::npos) << socket.error().message;
    // Not taken over either: it still belongs to the other user, with their mode.
    struct stat st {};
    ASSERT_EQ(lstat(ownDirectory().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kOtherUser);
}

TEST_F(TrustedPaths, RefusesASymbolicLinkPlantedInItsPlace)
{
    const std::string elsewhere = root_ + "/attacker";
    ASSERT_EQ(mkdir(elsewhere.c_str(), 0700), 0);
    ASSERT_EQ(symlink(elsewhere.c_str(), ownDirectory().c_str()), 0);
    ASSERT_EQ(lchown(ownDirectory().c_str(), kOtherUser, kOtherUser), 0);
    auto socket = serviceSocketPath(environment_);
    ASSERT_FALSE(socket.ok());
    EXPECT_EQ(socket.error().hr, E_ACCESSDENIED);
    // Even a link of this user's own is not followed for the private directory itself.
    ASSERT_EQ(lchown(ownDirectory().c_str(), geteuid(), getegid()), 0);
    EXPECT_EQ(serviceSocketPath(environment_).hr(), E_ACCESSDENIED);
}

TEST_F(TrustedPaths, RefusesAParentOthersMayRewrite)
{
    ASSERT_EQ(chmod(root_.c_str(), 0777), 0);  // world-writable without the sticky bit
    auto socket = serviceSocketPath(environment_);
    ASSERT_FALSE(socket.ok());
    EXPECT_EQ(socket.error().hr, E_ACCESSDENIED);
    EXPECT_NE(socket.error().message.find("not sticky"), std::string::npos) << socket.error().message;
}

TEST_F(TrustedPaths, ChecksEveryComponentOfAnExplicitSocketPath)
{
    const std::string theirs = root_ + "/theirs";
    ASSERT_EQ(mkdir(theirs.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((theirs + "/run").c_str(), 0700), 0);
    ASSERT_EQ(chown(theirs.c_str(), kOtherUser, kOtherUser), 0);
    environment_.socketOverride = theirs + "/run/hcsd.sock";
    auto socket = serviceSocketPath(environment_);
    ASSERT_FALSE(socket.ok());
    EXPECT_EQ(socket.error().hr, E_ACCESSDENIED);
    EXPECT_NE(socket.error().message.find(theirs + ": it belongs to uid 65534"), std::string::npos)
        << socket.error().message;
    EXPECT_EQ(prepareSocketDirectory(environment_.socketOverride).hr(), E_ACCESSDENIED);

    // Reached through a link the other user owns: refused; through one of this user's: followed.
    const std::string mine = root_ + "/mine";
    ASSERT_EQ(mkdir(mine.c_str(), 0700), 0);
    ASSERT_EQ(symlink(mine.c_str(), (root_ + "/link").c_str()), 0);
    environment_.socketOverride = root_ + "/link/hcsd.sock";
    EXPECT_TRUE(serviceSocketPath(environment_).ok());
    ASSERT_EQ(lchown((root_ + "/link").c_str(), kOtherUser, kOtherUser), 0);
    EXPECT_EQ(serviceSocketPath(environment_).hr(), E_ACCESSDENIED);

    environment_.socketOverride = "relative/hcsd.sock";
    EXPECT_EQ(serviceSocketPath(environment_).hr(), E_INVALIDARG);
}

TEST_F(TrustedPaths, UsesXdgRuntimeDirOnlyWhenItIsTrusted)
{
    const std::string xdg = root_ + "/xdg";
    ASSERT_EQ(mkdir(xdg.c_str(), 0700), 0);
    environment_.xdgRuntimeDir = xdg;
    EXPECT_EQ(userRuntimeDirectory(environment_).value(), xdg + "/hostcompute");
    ASSERT_EQ(chown(xdg.c_str(), kOtherUser, kOtherUser), 0);
    ASSERT_EQ(chmod(xdg.c_str(), 0777), 0);
    EXPECT_EQ(userRuntimeDirectory(environment_).value(), ownDirectory());  // the safe fallback
}

// A listener that binds as root in a trusted directory but serves as another user (what an impostor
// who got hold of the socket path looks like). It reports how many bytes the client sent it.
class ForeignListener {
public:
    explicit ForeignListener(const std::string& path)
    {
        int report[2];
        EXPECT_EQ(pipe2(report, O_CLOEXEC), 0);
        int ready[2];
        EXPECT_EQ(pipe2(ready, O_CLOEXEC), 0);
        pid_ = fork();
        if (pid_ == 0) {
            close(report[0]);
            close(ready[0]);
            int fd = socket(AF_UNIX, SOCK_STREAM, 0);
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
            if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) _exit(2);
            if (setresgid(kOtherUser, kOtherUser, kOtherUser) != 0 ||
                setresuid(kOtherUser, kOtherUser, kOtherUser) != 0)
                _exit(3);
            if (listen(fd, 1) != 0) _exit(4);
            char one = 1;
            if (write(ready[1], &one, 1) != 1) _exit(5);
            int conn = accept(fd, nullptr, nullptr);
            if (conn < 0) _exit(6);
            const char greeting[] = "{\"greeting\":{\"service\":\"hcsd\",\"version\":\"x\",\"protocols\":[1]}}\n";
            (void)!send(conn, greeting, sizeof greeting - 1, MSG_NOSIGNAL);  // the client may be gone already
            long received = 0;
            char buffer[4096];
            ssize_t n;
            while ((n = read(conn, buffer, sizeof buffer)) > 0)
                received += n;
            (void)!write(report[1], &received, sizeof received);
            _exit(0);
        }
        close(report[1]);
        close(ready[1]);
        report_ = report[0];
        char one = 0;
        EXPECT_EQ(read(ready[0], &one, 1), 1) << "the listener did not start";
        close(ready[0]);
    }

    // Bytes the client sent before closing (waits for the client to close).
    long bytesReceived()
    {
        long received = -1;
        EXPECT_EQ(read(report_, &received, sizeof received), static_cast<ssize_t>(sizeof received));
        int status = 0;
        waitpid(pid_, &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
        close(report_);
        return received;
    }

private:
    pid_t pid_ = -1;
    int report_ = -1;
};

TEST_F(TrustedPaths, TheClientRefusesADaemonOfAnotherUserBeforeSendingAnything)
{
    const std::string dir = root_ + "/run";
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
    const std::string path = dir + "/hcsd.sock";
    ForeignListener listener(path);
    setenv("HCS_SOCKET", path.c_str(), 1);
    setenv("HCSD_PATH", "/nonexistent/hcsd", 1);  // an autostart would fail loudly
    auto channel = connectService();
    ASSERT_FALSE(channel.ok());
    EXPECT_EQ(channel.error().hr, E_ACCESSDENIED);
    EXPECT_NE(channel.error().message.find("uid 65534"), std::string::npos) << channel.error().message;
    EXPECT_NE(channel.error().message.find(path), std::string::npos) << channel.error().message;
    EXPECT_EQ(listener.bytesReceived(), 0);  // the refusal closed the connection: not even Hello went out
    unsetenv("HCS_SOCKET");
    unsetenv("HCSD_PATH");
}

TEST_F(TrustedPaths, PeerCredentialsNameTheListener)
{
    const std::string path = root_ + "/own.sock";
    auto listenFd = listenUnixSocket(path);
    ASSERT_TRUE(listenFd.ok()) << listenFd.error().message;
    auto client = connectUnixSocket(path);
    ASSERT_TRUE(client.ok());
    auto peer = peerCredentials(*client);
    ASSERT_TRUE(peer.ok());
    EXPECT_EQ(peer->uid, geteuid());
    EXPECT_EQ(peer->pid, getpid());
    EXPECT_TRUE(requireTrustedPeer(*client, "the socket").ok());
    close(*client);
    close(*listenFd);
}

}  // namespace
}  // namespace hc::hcs
