#include "trust_support.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fstream>

namespace hcsd_test {

std::string hcsctlBinary()
{
    std::string path = buildDir() + "/tools/hcsctl/hcsctl";
    EXPECT_EQ(::access(path.c_str(), X_OK), 0) << "hcsctl binary missing: " << path;
    return path;
}

std::string impostorBinary()
{
    std::string path = buildDir() + "/tests/integration/hcsd/hcsd_trust_impostor";
    EXPECT_EQ(::access(path.c_str(), X_OK), 0) << "impostor binary missing: " << path;
    return path;
}

int connectTo(const std::string& path)
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        int error = errno;
        ::close(fd);
        errno = error;
        return -1;
    }
    return fd;
}

void writeTextFile(const std::string& path, const std::string& text)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    EXPECT_TRUE(out.good()) << "cannot write " << path;
}

std::string serviceProblem(const std::string& socketPath)
{
    RawClient client(socketPath);
    if (!client.connected()) return "a new client cannot connect to " + socketPath;
    auto reply = client.tryWaitReply(client.post("GetServiceProperties", json::object()), 15s);
    if (!reply) return "a new client got no answer to GetServiceProperties within 15 s";
    if (!reply->ok()) return "GetServiceProperties failed: " + reply->raw.dump();
    return "";
}

std::vector<std::string> listedIds(const Reply& enumeration)
{
    std::vector<std::string> ids;
    if (!enumeration.ok() || !enumeration.result().is_array()) return ids;
    for (const json& system : enumeration.result())
        ids.push_back(system.value("Id", ""));
    return ids;
}

}  // namespace hcsd_test
