// hcs-guest: the hostcompute guest agent. Opens the virtio-serial port named org.hostcompute.agent.0
// (or the path given with --port) and serves the host on it until killed; init restarts it if it dies.
// With --container it is instead the init of a process-isolated container, serving hcsd on the
// listening socket it inherits as descriptor 3 (container_init.h).
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "agent_core.h"
#include "container_init.h"
#include "hcs/guest/guest_channel.h"

namespace {

// /dev/virtio-ports/<name> exists when udev runs; without udev, find the port by its sysfs name.
std::string findPort()
{
    std::string byName = std::string("/dev/virtio-ports/") + hc::hcs::guest::kAgentPortName;
    if (access(byName.c_str(), F_OK) == 0) return byName;
    DIR* dir = opendir("/sys/class/virtio-ports");
    if (!dir) return {};
    std::string found;
    while (dirent* entry = readdir(dir)) {
        if (entry->d_name[0] == '.') continue;
        std::ifstream in(std::string("/sys/class/virtio-ports/") + entry->d_name + "/name");
        std::string name;
        std::getline(in, name);
        if (name == hc::hcs::guest::kAgentPortName) {
            found = std::string("/dev/") + entry->d_name;
            break;
        }
    }
    closedir(dir);
    return found;
}

}  // namespace

int main(int argc, char** argv)
{
    std::string port;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--container") == 0) {
            signal(SIGPIPE, SIG_IGN);
            hc::guest_agent::runContainerInit(3, HCS_GUEST_VERSION);
        } else if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = argv[++i];
        } else if (std::strcmp(argv[i], "--version") == 0) {
            std::printf("hcs-guest %s\n", HCS_GUEST_VERSION);
            return 0;
        } else {
            std::fprintf(stderr, "usage: hcs-guest [--port PATH | --container] [--version]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    // The agent's own stdio may be closed by init; keep 0..2 taken so pipes never land there.
    for (int fd = open("/dev/null", O_RDWR); fd >= 0 && fd <= 2; fd = open("/dev/null", O_RDWR)) {
    }
    int fd = -1;
    for (int attempt = 0; fd < 0; ++attempt) {
        std::string path = port.empty() ? findPort() : port;
        if (!path.empty()) fd = open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) break;
        if (attempt % 50 == 0)
            std::fprintf(stderr, "hcs-guest: waiting for the port %s\n",
                         path.empty() ? hc::hcs::guest::kAgentPortName : path.c_str());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    hc::EventLoop loop;
    hc::guest_agent::AgentOptions options;
    options.agentVersion = HCS_GUEST_VERSION;
    hc::guest_agent::AgentCore agent(loop, hc::UniqueFd(fd), options);
    std::fprintf(stderr, "hcs-guest %s: serving session %s\n", HCS_GUEST_VERSION, agent.session().c_str());
    loop.run();
    return 1;
}
