// hcsd_trust_impostor DIRECTORY: the attacker of the socket-hijack test (issue 7, hole 1). Run as
// another user, it creates DIRECTORY (mode 0777, as a user squatting on a victim's default path would),
// listens on DIRECTORY/hcsd.sock (0777) and plays hcsd: a greeting, Hello accepted, every other request
// answered with a fake success. Every byte a client sends is copied to stdout, which the test reads.
// stderr gets "listening" once clients can connect. SIGTERM: read what is still queued, then exit 0.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

void record(const char* data, size_t size)
{
    while (size > 0) {
        ssize_t n = ::write(STDOUT_FILENO, data, size);
        if (n <= 0 && errno != EINTR) return;
        if (n > 0) {
            data += n;
            size -= static_cast<size_t>(n);
        }
    }
}

void reply(int fd, const std::string& line)
{
    std::string data = line + "\n";
    ssize_t ignored = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)ignored;
}

// A fake answer: the request is what the attacker wanted; the answer only has to keep the victim talking.
void answer(int fd, const std::string& line)
{
    auto request = nlohmann::json::parse(line, nullptr, false);
    if (!request.is_object() || !request.contains("id")) return;
    const std::string method = request.value("method", "");
    nlohmann::json result = nlohmann::json::object();
    if (method == "Hello") result = {{"protocol", 1}, {"version", "0.1.0"}};
    if (method == "EnumerateComputeSystems") result = nlohmann::json::array();
    reply(fd, nlohmann::json{{"id", request["id"]}, {"result", result}}.dump());
}

// Reads what `fd` has queued; false once the peer closed.
bool readFrom(int fd, std::string& pending)
{
    char buffer[65536];
    for (;;) {
        ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) {
            record(buffer, static_cast<size_t>(n));
            pending.append(buffer, static_cast<size_t>(n));
            for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
                answer(fd, pending.substr(0, nl));
            }
            continue;
        }
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    }
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: hcsd_trust_impostor DIRECTORY\n");
        return 2;
    }
    const std::string directory = argv[1];
    const std::string socketPath = directory + "/hcsd.sock";
    if (::mkdir(directory.c_str(), 0777) != 0 && errno != EEXIST) {
        std::fprintf(stderr, "mkdir %s: %s\n", directory.c_str(), std::strerror(errno));
        return 1;
    }
    ::chmod(directory.c_str(), 0777);

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &signals, nullptr);
    int signalFd = ::signalfd(-1, &signals, SFD_CLOEXEC);

    int listenFd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socketPath.c_str());
    ::unlink(socketPath.c_str());
    if (::bind(listenFd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listenFd, 16) != 0) {
        std::fprintf(stderr, "listen %s: %s\n", socketPath.c_str(), std::strerror(errno));
        return 1;
    }
    ::chmod(socketPath.c_str(), 0777);
    std::fprintf(stderr, "listening\n");

    const std::string greeting = R"({"greeting":{"protocols":[1],"service":"hcsd","version":"0.1.0"}})";
    std::map<int, std::string> clients;  // fd -> bytes after the last complete line
    for (;;) {
        std::vector<pollfd> watched = {{signalFd, POLLIN, 0}, {listenFd, POLLIN, 0}};
        for (auto& [fd, pending] : clients)
            watched.push_back({fd, POLLIN, 0});
        if (::poll(watched.data(), watched.size(), -1) < 0 && errno != EINTR) return 1;
        if (watched[0].revents != 0) break;
        if (watched[1].revents & POLLIN) {
            int fd = ::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd >= 0) {
                clients[fd];
                reply(fd, greeting);
            }
        }
        for (size_t i = 2; i < watched.size(); ++i) {
            if (watched[i].revents != 0 && !readFrom(watched[i].fd, clients[watched[i].fd])) {
                ::close(watched[i].fd);
                clients.erase(watched[i].fd);
            }
        }
    }
    // Stopping: record whatever the victims sent that was not read yet.
    for (auto& [fd, pending] : clients)
        readFrom(fd, pending);
    return 0;
}
