#include "qmp_reference.h"

#include "hcs/ipc/descriptor_passing.h"
#include "hcs/ipc/unix_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <span>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace hcs_bench {

QmpConnection::~QmpConnection()
{
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void QmpConnection::open(const std::string& socketPath, std::chrono::milliseconds timeout)
{
    connect(socketPath, timeout);
    auto greeting = nlohmann::json::parse(readLine());
    if (!greeting.contains("QMP")) {
        throw std::runtime_error("not a QMP greeting: " + greeting.dump());
    }
    execute("qmp_capabilities");
}

void QmpConnection::openGuestAgent(const std::string& socketPath, std::chrono::milliseconds timeout)
{
    connect(socketPath, timeout);
    // qemu-ga answers guest-sync-delimited with 0xFF before its reply; readLine() drops bytes up to
    // it. Until the agent runs in the guest nothing answers, so the sync is repeated, each time with a
    // new id: an agent that starts late answers every queued sync, and only the reply to the LAST one
    // means the stream is in step (the earlier replies are read and dropped here).
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (int64_t token = 0x5eed;; ++token) {
        send({{"execute", "guest-sync-delimited"}, {"arguments", {{"id", token}}}});
        pollfd ready{fd_, POLLIN, 0};
        while (::poll(&ready, 1, 500) == 1) {
            auto reply = nlohmann::json::parse(readLine());
            if (reply.value("return", int64_t{0}) == token) return;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            throw std::runtime_error("qemu-ga on " + socketPath + " did not answer guest-sync-delimited");
        }
    }
}

void QmpConnection::connect(const std::string& socketPath, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto connected = hc::hcs::connectUnixSocket(socketPath);
        if (connected) {
            fd_ = *connected;
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            throw std::runtime_error("QMP socket " + socketPath + " did not answer");
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
}

std::string QmpConnection::readLine()
{
    for (;;) {
        auto newline = buffer_.find('\n');
        if (newline != std::string::npos) {
            std::string line = buffer_.substr(0, newline);
            buffer_.erase(0, newline + 1);
            if (auto sync = line.rfind('\xff'); sync != std::string::npos) line.erase(0, sync + 1);
            if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
            return line;
        }
        char chunk[4096];
        ssize_t got = ::read(fd_, chunk, sizeof chunk);
        if (got <= 0) {
            throw std::runtime_error("QMP connection closed");
        }
        buffer_.append(chunk, static_cast<size_t>(got));
    }
}

void QmpConnection::send(const nlohmann::json& request)
{
    std::string line = request.dump() + "\n";
    if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        throw std::runtime_error("QMP write failed");
    }
}

nlohmann::json QmpConnection::executeWithDescriptor(const std::string& command, const nlohmann::json& arguments,
                                                    int descriptor)
{
    nlohmann::json request{{"execute", command}, {"arguments", arguments}};
    std::string line = request.dump() + "\n";
    if (!hc::hcs::sendAllWithDescriptors(fd_, line, std::span<const int>(&descriptor, 1))) {
        throw std::runtime_error("QMP write failed");
    }
    return awaitReturn(command);
}

nlohmann::json QmpConnection::execute(const std::string& command, const nlohmann::json& arguments)
{
    nlohmann::json request{{"execute", command}};
    if (!arguments.is_null()) request["arguments"] = arguments;
    send(request);
    return awaitReturn(command);
}

nlohmann::json QmpConnection::awaitReturn(const std::string& command)
{
    for (;;) {
        auto reply = nlohmann::json::parse(readLine());
        if (reply.contains("return")) {
            return reply["return"];
        }
        if (reply.contains("error")) {
            throw std::runtime_error("QMP " + command + ": " + reply["error"].dump());
        }
    }
}

std::vector<std::string> commandLineOf(pid_t pid)
{
    std::string text = hcs_test::readFile("/proc/" + std::to_string(pid) + "/cmdline");
    std::vector<std::string> args;
    std::string current;
    for (char c : text) {
        if (c == '\0') {
            args.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    return args;
}

std::vector<std::string> referenceCommandLine(const std::vector<std::string>& hcsdCommand, const std::string& hcsdRoot,
                                              const std::string& directory, std::string& qmpSocket)
{
    namespace fs = std::filesystem;
    qmpSocket = directory + "/qmp.sock";
    std::vector<std::string> args;
    for (std::string arg : hcsdCommand) {
        if (arg.find("id=hcs-qmp,fd=") != std::string::npos) {
            arg = "socket,id=hcs-qmp,path=" + qmpSocket + ",server=on,wait=off";
        }
        for (size_t at = arg.find(hcsdRoot); at != std::string::npos; at = arg.find(hcsdRoot, at + 1)) {
            size_t end = arg.find(',', at);
            std::string path = arg.substr(at, end == std::string::npos ? std::string::npos : end - at);
            std::string copy = directory + "/" + fs::path(path).filename().string();
            std::error_code error;
            if (fs::is_regular_file(path, error) && !fs::is_regular_file(copy, error)) {
                fs::copy_file(path, copy, error);
            }
            arg.replace(at, path.size(), copy);
        }
        args.push_back(arg);
    }
    return args;
}

uint64_t residentBytes(pid_t pid)
{
    // smaps_rollup walks the page tables; status' VmRSS is made of per-CPU counters that lag behind.
    std::istringstream rollup(hcs_test::readFile("/proc/" + std::to_string(pid) + "/smaps_rollup"));
    std::string line;
    while (std::getline(rollup, line)) {
        if (line.rfind("Rss:", 0) == 0) {
            return std::stoull(line.substr(4)) * 1024;
        }
    }
    return 0;
}

double percentileMicros(std::vector<std::chrono::nanoseconds> samples, double percentile)
{
    if (samples.empty()) {
        return 0;
    }
    std::sort(samples.begin(), samples.end());
    size_t index = static_cast<size_t>(percentile / 100.0 * static_cast<double>(samples.size() - 1) + 0.5);
    return static_cast<double>(samples[index].count()) / 1000.0;
}

}  // namespace hcs_bench
