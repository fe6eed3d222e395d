// Hole 6 (client side): the autostarted hcsd holds nothing of the client's — stdio is /dev/null and no
// other descriptor survives the exec, so a pipe the client holds reaches EOF as soon as the client
// closes it — and "service not available" says why. HCSD_PATH points at fake_hcsd_main.cpp's program.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "base/hresult.h"
#include "hcs/client/hcsd_launcher.h"
#include "hcs/client/service_channel.h"

namespace hc::hcs {
namespace {

class HcsdLauncher : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/hcs-launch-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        socket_ = dir_ + "/hcsd.sock";
    }
    void TearDown() override
    {
        std::ifstream pidFile(socket_ + ".pid");
        pid_t pid = 0;
        if (pidFile >> pid && pid > 0) kill(pid, SIGKILL);  // the fake daemon this test started
        unsetenv("HCS_SOCKET");
        unsetenv("HCSD_PATH");
        unsetenv("FAKE_HCSD_EXIT");
        std::system(("rm -rf " + dir_).c_str());
    }

    std::string read(const std::string& path)
    {
        std::ifstream in(path);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

    std::string dir_;
    std::string socket_;
};

TEST_F(HcsdLauncher, TheDaemonInheritsNoDescriptorOfTheClient)
{
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);  // deliberately not close-on-exec, as a careless caller's would be
    Status started = startPrivateHcsd(FAKE_HCSD_PATH, socket_);
    ASSERT_TRUE(started.ok()) << started.error().message;

    std::istringstream inherited(read(socket_ + ".inherited"));
    std::string line;
    int count = 0;
    while (std::getline(inherited, line)) {
        ++count;
        std::istringstream fields(line);
        int fd = -1;
        std::string target;
        fields >> fd >> target;
        EXPECT_LE(fd, 2) << "inherited " << line;
        EXPECT_EQ(target, "/dev/null") << line;
    }
    EXPECT_EQ(count, 3);

    // The daemon half is still running; the pipe's reader sees EOF once the client closes its end.
    close(fds[1]);
    pollfd p{fds[0], POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 5000), 1) << "the write end is still held elsewhere";
    char byte;
    EXPECT_EQ(::read(fds[0], &byte, 1), 0);
    close(fds[0]);
}

TEST_F(HcsdLauncher, SaysWhyHcsdDidNotStart)
{
    setenv("FAKE_HCSD_EXIT", "7", 1);
    Status exited = startPrivateHcsd(FAKE_HCSD_PATH, socket_);
    ASSERT_FALSE(exited.ok());
    EXPECT_EQ(exited.hr(), HCS_E_SERVICE_NOT_AVAILABLE);
    EXPECT_NE(exited.error().message.find("exited with status 7"), std::string::npos) << exited.error().message;
    unsetenv("FAKE_HCSD_EXIT");

    const std::string notExecutable = dir_ + "/hcsd";
    std::ofstream(notExecutable) << "#!/bin/sh\n";
    ASSERT_EQ(chmod(notExecutable.c_str(), 0644), 0);
    Status refused = startPrivateHcsd(notExecutable, socket_);
    EXPECT_EQ(refused.hr(), HCS_E_SERVICE_NOT_AVAILABLE);
    EXPECT_NE(refused.error().message.find("is not executable"), std::string::npos) << refused.error().message;
}

TEST_F(HcsdLauncher, ConnectServiceNamesAMissingHcsdPath)
{
    setenv("HCS_SOCKET", socket_.c_str(), 1);
    setenv("HCSD_PATH", "/nonexistent/hcsd", 1);
    auto channel = connectService();
    ASSERT_FALSE(channel.ok());
    EXPECT_EQ(channel.error().hr, HCS_E_SERVICE_NOT_AVAILABLE);
    EXPECT_NE(channel.error().message.find("HCSD_PATH=/nonexistent/hcsd does not exist"), std::string::npos)
        << channel.error().message;
}

}  // namespace
}  // namespace hc::hcs
