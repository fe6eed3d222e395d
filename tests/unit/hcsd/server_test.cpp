// hcsd's connection layer when descriptors run out: accept() fails with EMFILE while a client
// waits in the backlog. The Server must stop polling the listener (not spin on it) and accept the
// client once a descriptor is free again.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <vector>

#include "hcs/ipc/unix_socket.h"
#include "fake_vm.h"
#include "hcs/service/server.h"
#include "hcs/service/service.h"

namespace hc::hcs::service {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(Server, RunningOutOfDescriptorsPausesAcceptingInsteadOfSpinning)
{
    char tmpl[] = "/tmp/hcsd-server-test-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    EventLoop loop;
    testing::FakeLauncher launcher(loop);
    ServiceOptions options;
    options.stateDirectory = dir;
    Service service(loop, options, vm::AcceleratorChoice{}, launcher);
    auto listenFd = listenUnixSocket(dir + "/hcsd.sock");
    ASSERT_TRUE(listenFd.ok());
    Server server(loop, service, *listenFd);
    auto client = connectUnixSocket(dir + "/hcsd.sock");  // waits in the backlog
    ASSERT_TRUE(client.ok());

    // Use up every descriptor below a lowered limit.
    rlimit original{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &original), 0);
    rlimit lowered = original;
    lowered.rlim_cur = static_cast<rlim_t>(*client + 16);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
    std::vector<int> fillers;
    for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
        fillers.push_back(fd);

    // Ten rounds that may each wait 20 ms: a listener still polled would make each return at once.
    auto start = Clock::now();
    for (int i = 0; i < 10; ++i)
        loop.runOnce(20ms);
    auto elapsed = Clock::now() - start;
    EXPECT_EQ(server.connectionCount(), 0u);
    EXPECT_GE(elapsed, 150ms) << "the loop spun on a listener it cannot accept from";

    for (int fd : fillers)
        close(fd);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &original), 0);
    // Accepting resumes (the retry timer) and the client gets its greeting.
    auto deadline = Clock::now() + 5s;
    pollfd p{*client, POLLIN, 0};
    while (Clock::now() < deadline && poll(&p, 1, 0) == 0)
        loop.runOnce(50ms);
    EXPECT_EQ(server.connectionCount(), 1u);
    char buffer[256];
    EXPECT_GT(read(*client, buffer, sizeof buffer), 0) << "no greeting after descriptors were freed";
    close(*client);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hc::hcs::service
