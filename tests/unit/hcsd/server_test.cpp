// hcsd's connection layer: when descriptors run out (accept() fails with EMFILE while a client waits
// in the backlog) the Server stops polling the listener (not spin on it) and accepts the client once a
// descriptor is free again; and a reply that carries descriptors (CreateProcess's stdio) delivers them
// with its own line over a real socket.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "fake_guest_channel.h"
#include "fake_vm.h"
#include "hcs/ipc/descriptor_passing.h"
#include "hcs/ipc/unix_socket.h"
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

// Reads lines (and the descriptors that come with them) from hcsd, running its loop meanwhile.
class LineReader {
public:
    LineReader(EventLoop& loop, int fd) : loop_(loop), fd_(fd) {}
    // The next line whose "id" is `id` (earlier lines are skipped, their descriptors too).
    nlohmann::json awaitReply(uint64_t id, std::vector<UniqueFd>* fds = nullptr)
    {
        auto deadline = Clock::now() + 5s;
        while (Clock::now() < deadline) {
            for (size_t nl; (nl = input_.find('\n')) != std::string::npos;) {
                auto line = nlohmann::json::parse(input_.substr(0, nl));
                input_.erase(0, nl + 1);
                auto taken = queue_.take(line.value("fds", 0u));
                if (!taken) ADD_FAILURE() << "lost sync: " << line.dump();
                if (line.value("id", uint64_t{0}) == id) {
                    if (fds && taken) *fds = std::move(*taken);
                    return line;
                }
            }
            loop_.runOnce(10ms);
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, 0) <= 0) continue;
            char buffer[4096];
            auto n = receiveWithDescriptors(fd_, buffer, queue_);
            if (!n || *n == 0) break;
            input_.append(buffer, *n);
        }
        ADD_FAILURE() << "no reply " << id;
        return {};
    }

private:
    EventLoop& loop_;
    int fd_;
    std::string input_;
    DescriptorQueue queue_;
};

TEST(Server, ACreateProcessReplyCarriesTheStdioDescriptors)
{
    char tmpl[] = "/tmp/hcsd-server-test-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::ofstream(dir + "/vmlinuz") << "not a kernel";
    EventLoop loop;
    testing::FakeLauncher launcher(loop);
    testing::FakeGuestChannelFactory channels;
    ServiceOptions options;
    options.stateDirectory = dir + "/state";
    std::filesystem::create_directories(options.stateDirectory);
    options.guestChannels = &channels;
    Service service(loop, options, vm::AcceleratorChoice{}, launcher);
    auto listenFd = listenUnixSocket(dir + "/hcsd.sock");
    ASSERT_TRUE(listenFd.ok());
    Server server(loop, service, *listenFd);
    auto client = connectUnixSocket(dir + "/hcsd.sock");
    ASSERT_TRUE(client.ok());
    UniqueFd clientFd(*client);
    LineReader reader(loop, clientFd.get());
    auto request = [&](uint64_t id, const std::string& method, const nlohmann::json& params) {
        std::string line = nlohmann::json{{"id", id}, {"method", method}, {"params", params}}.dump() + "\n";
        ASSERT_EQ(write(clientFd.get(), line.data(), line.size()), static_cast<ssize_t>(line.size()));
    };
    request(1, "Hello", {{"protocol", 1}, {"client", "test"}});
    EXPECT_FALSE(reader.awaitReply(1).contains("error"));
    nlohmann::json config{{"SchemaVersion", {{"Major", 2}, {"Minor", 1}}},
                          {"VirtualMachine",
                           {{"Chipset", {{"LinuxKernelDirect", {{"KernelFilePath", dir + "/vmlinuz"}}}}},
                            {"ComputeTopology", {{"Memory", {{"SizeInMB", 256}}}}},
                            {"GuestConnection", nlohmann::json::object()}}}};
    request(2, "CreateComputeSystem", {{"handle", 1}, {"id", "vm"}, {"configuration", config}});
    for (int i = 0; i < 10; ++i)
        loop.runOnce(0ms);
    ASSERT_FALSE(launcher.processes.empty());
    launcher.lastVm().ready();
    EXPECT_FALSE(reader.awaitReply(2).contains("error"));
    request(3, "StartComputeSystem", {{"handle", 1}, {"options", nullptr}});
    for (int i = 0; i < 10 && !launcher.lastVm().pending("cont"); ++i)
        loop.runOnce(10ms);
    ASSERT_TRUE(launcher.lastVm().reply("cont"));
    channels.last().connect();
    EXPECT_FALSE(reader.awaitReply(3).contains("error"));
    request(4, "CreateProcess",
            {{"handle", 1},
             {"process", 2},
             {"parameters", {{"CommandLine", "cat"}, {"CreateStdInPipe", true}, {"CreateStdOutPipe", true}}}});
    for (int i = 0; i < 10 && channels.last().processes.empty(); ++i)
        loop.runOnce(10ms);
    ASSERT_EQ(channels.last().processes.size(), 1u);
    channels.last().start(0, 5);
    // A line with descriptors right after one without: each line gets exactly its own.
    request(5, "GetProcessInfo", {{"handle", 2}});
    std::vector<UniqueFd> fds;
    auto reply = reader.awaitReply(4, &fds);
    EXPECT_EQ(reply.value("fds", 0u), 2u) << reply.dump();
    ASSERT_EQ(fds.size(), 2u);
    auto& guestSide = channels.last().processes[0]->ends;
    ASSERT_EQ(write(guestSide.stdoutSink.get(), "hi", 2), 2);
    char buffer[8] = {};
    EXPECT_EQ(read(fds[1].get(), buffer, sizeof buffer), 2);
    EXPECT_STREQ(buffer, "hi");
    std::vector<UniqueFd> none;
    auto info = reader.awaitReply(5, &none);
    EXPECT_EQ(info["result"]["ProcessId"], 5);
    EXPECT_TRUE(none.empty());
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hc::hcs::service
