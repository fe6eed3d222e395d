#include "hcsd_harness.h"

#include "hcs/ipc/unix_socket.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

namespace hcsd_test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string buildDir()
{
    const char* env = std::getenv("HOSTCOMPUTE_BUILD_DIR");
    if (!env) {
        ADD_FAILURE() << "HOSTCOMPUTE_BUILD_DIR is not set (run through ctest)";
        return ".";
    }
    return env;
}

std::string hcsdBinary()
{
    std::string path = buildDir() + "/tools/hcsd/hcsd";
    EXPECT_EQ(access(path.c_str(), X_OK), 0) << "hcsd binary missing: " << path;
    return path;
}

std::string guestDirectory()
{
    const char* env = std::getenv("HOSTCOMPUTE_TEST_GUEST_DIR");
    std::string dir =
        env ? env
            : std::string(std::getenv("HOSTCOMPUTE_SOURCE_DIR") ? std::getenv("HOSTCOMPUTE_SOURCE_DIR") : ".") +
                  "/.cache/test-guest";
    for (const char* f : {"vmlinuz", "initrd-poweroff.gz", "initrd-idle.gz"}) {
        if (access((dir + "/" + f).c_str(), R_OK) != 0) {
            ADD_FAILURE() << "test guest file missing: " << dir << "/" << f << " — run scripts/make-test-guest.sh";
        }
    }
    return dir;
}

json kernelGuestConfig(const std::string& initrd, bool terminateOnLastHandle, const std::string& comPipe)
{
    std::string dir = guestDirectory();
    json config = {{"SchemaVersion", {{"Major", 2}, {"Minor", 1}}},
                   {"Owner", "hcsd-integration"},
                   {"ShouldTerminateOnLastHandleClosed", terminateOnLastHandle},
                   {"VirtualMachine",
                    {{"StopOnReset", true},
                     {"Chipset",
                      {{"LinuxKernelDirect",
                        {{"KernelFilePath", dir + "/vmlinuz"},
                         {"InitRdPath", dir + "/" + initrd},
                         {"KernelCmdLine", "console=ttyS0 quiet"}}}}},
                     {"ComputeTopology", {{"Memory", {{"SizeInMB", 256}}}, {"Processor", {{"Count", 1}}}}}}}};
    if (!comPipe.empty()) config["VirtualMachine"]["Devices"] = {{"ComPorts", {{"0", {{"NamedPipe", comPipe}}}}}};
    return config;
}

json uefiConfig(bool terminateOnLastHandle)
{
    return {{"SchemaVersion", {{"Major", 2}, {"Minor", 1}}},
            {"Owner", "Sample"},
            {"ShouldTerminateOnLastHandleClosed", terminateOnLastHandle},
            {"VirtualMachine",
             {{"Chipset", {{"Uefi", json::object()}}},
              {"ComputeTopology",
               {{"Memory", {{"Backing", "Physical"}, {"SizeInMB", 256}}}, {"Processor", {{"Count", 1}}}}}}}};
}

// ------------------------------------------------------------------------------------ HcsdProcess

HcsdProcess::HcsdProcess(std::vector<std::string> extraArgs) : extraArgs_(std::move(extraArgs))
{
    char tmpl[] = "/tmp/hcsd-it-XXXXXX";
    char* d = mkdtemp(tmpl);
    if (!d) {
        ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
        return;
    }
    dir_ = d;
    socket_ = dir_ + "/hcsd.sock";
    stateDir_ = dir_ + "/state";
    start();
}

void HcsdProcess::start()
{
    std::string binary = hcsdBinary();
    std::string log = dir_ + "/hcsd.log";
    pid_ = fork();
    if (pid_ == 0) {
        int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setenv("HOSTCOMPUTE_LOG", "info", 1);
        std::vector<std::string> args{binary, "--socket", socket_, "--state-dir", stateDir_, "--foreground"};
        args.insert(args.end(), extraArgs_.begin(), extraArgs_.end());
        std::vector<char*> argv;
        for (auto& arg : args)
            argv.push_back(arg.data());
        argv.push_back(nullptr);
        execv(binary.c_str(), argv.data());
        _exit(127);
    }
    auto deadline = Clock::now() + 20s;  // the first run on a host probes the accelerator (~2 s)
    while (Clock::now() < deadline) {
        auto probe = hc::hcs::connectUnixSocket(socket_);
        if (probe) {
            close(*probe);
            return;
        }
        int status;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            ADD_FAILURE() << "hcsd exited at start; log: " << dir_ << "/hcsd.log";
            return;
        }
        std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "hcsd did not listen within 20 s";
}

void HcsdProcess::kill(int signal)
{
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

std::vector<pid_t> HcsdProcess::qemuPids() const
{
    std::vector<pid_t> pids;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(stateDir_ + "/systems", ec)) {
        std::ifstream in(entry.path() / "system.json");
        json record = json::parse(in, nullptr, false);
        if (record.is_object() && record.contains("Pid") && record["Pid"].get<pid_t>() > 0) {
            pids.push_back(record["Pid"].get<pid_t>());
        }
    }
    return pids;
}

HcsdProcess::~HcsdProcess()
{
    // hcsd leaves VMs running when it stops (a new hcsd re-adopts them); tests clean up after it.
    auto pids = qemuPids();
    kill(SIGTERM);
    for (pid_t p : pids)
        ::kill(p, SIGKILL);
    std::error_code ec;
    if (!dir_.empty() && !::testing::Test::HasFailure()) fs::remove_all(dir_, ec);
}

// -------------------------------------------------------------------------------------- RawClient

RawClient::RawClient(const std::string& socketPath, bool hello)
{
    auto connected = hc::hcs::connectUnixSocket(socketPath);
    if (!connected) {
        ADD_FAILURE() << "connect " << socketPath << ": " << connected.error().message;
        return;
    }
    fd_ = *connected;
    auto g = readMessage(10s);
    EXPECT_TRUE(g && g->contains("greeting")) << "no greeting";
    if (g) greeting_ = *g;
    if (hello) {
        Reply r = call("Hello", {{"protocol", 1}, {"client", "hcsd-integration"}});
        EXPECT_TRUE(r.ok()) << r.raw.dump();
    }
}

RawClient::~RawClient()
{
    closeSocket();
}

void RawClient::closeSocket()
{
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
}

void RawClient::sendLine(const std::string& line)
{
    std::string data = line + "\n";
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n <= 0) {
            ADD_FAILURE() << "send failed: " << std::strerror(errno);
            return;
        }
        done += static_cast<size_t>(n);
    }
}

std::optional<json> RawClient::readMessage(std::chrono::milliseconds timeout)
{
    auto deadline = Clock::now() + timeout;
    while (true) {
        size_t nl = buffer_.find('\n');
        if (nl != std::string::npos) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            json j = json::parse(line, nullptr, false);
            EXPECT_FALSE(j.is_discarded()) << "hcsd sent a non-JSON line: " << line;
            if (j.is_object() && j.value("fds", 0u) > 0) {
                auto fds = received_.take(j["fds"].get<size_t>());
                EXPECT_TRUE(fds.ok()) << "fewer descriptors than the line says: " << line;
                if (fds) descriptors_[j.value("id", uint64_t{0})] = std::move(*fds);
            }
            return j;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0 || fd_ < 0) return std::nullopt;
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
        char chunk[65536];
        auto n = hc::hcs::receiveWithDescriptors(fd_, chunk, received_);
        if (!n || *n == 0) return std::nullopt;
        buffer_.append(chunk, *n);
    }
}

uint64_t RawClient::post(const std::string& method, const json& params)
{
    uint64_t id = nextId_++;
    sendLine(json{{"id", id}, {"method", method}, {"params", params}}.dump());
    return id;
}

Reply RawClient::waitReply(uint64_t id, std::chrono::milliseconds timeout)
{
    if (auto r = tryWaitReply(id, timeout)) return *r;
    ADD_FAILURE() << "no reply to request " << id;
    return Reply{json{{"error", {{"hr", -1}, {"message", "no reply"}}}}};
}

std::optional<Reply> RawClient::tryWaitReply(uint64_t id, std::chrono::milliseconds timeout)
{
    for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
        if (it->contains("id") && (*it)["id"] == id) {
            Reply r{*it};
            backlog_.erase(it);
            return r;
        }
    }
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        auto m = readMessage(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
        if (!m) break;
        if (m->contains("id") && (*m)["id"] == id) return Reply{*m};
        backlog_.push_back(*m);
    }
    return std::nullopt;
}

Reply RawClient::call(const std::string& method, const json& params, std::chrono::milliseconds timeout)
{
    return waitReply(post(method, params), timeout);
}

std::optional<json> RawClient::waitEvent(const std::string& name, uint64_t handle, std::chrono::milliseconds timeout)
{
    for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
        if (it->value("event", "") == name && (*it)["handle"] == handle) {
            json e = *it;
            backlog_.erase(it);
            return e;
        }
    }
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        auto m = readMessage(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
        if (!m) break;
        if (m->value("event", "") == name && (*m)["handle"] == handle) return m;
        backlog_.push_back(*m);
    }
    return std::nullopt;
}

std::vector<hc::UniqueFd> RawClient::takeDescriptors(uint64_t id)
{
    auto it = descriptors_.find(id);
    if (it == descriptors_.end()) return {};
    auto fds = std::move(it->second);
    descriptors_.erase(it);
    return fds;
}

bool waitForConsole(const std::string& socketPath, const std::string& marker, std::chrono::milliseconds timeout)
{
    auto deadline = Clock::now() + timeout;
    int fd = -1;
    while (Clock::now() < deadline && fd < 0) {
        auto connected = hc::hcs::connectUnixSocket(socketPath);
        if (connected) {
            fd = *connected;
        } else {
            std::this_thread::sleep_for(20ms);
        }
    }
    if (fd < 0) return false;
    std::string seen;
    bool found = false;
    while (!found && Clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        char chunk[4096];
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        seen.append(chunk, static_cast<size_t>(n));
        found = seen.find(marker) != std::string::npos;
    }
    close(fd);
    return found;
}

bool processAlive(pid_t pid)
{
    if (::kill(pid, 0) != 0) return false;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    size_t close = text.rfind(')');
    return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

bool waitProcessGone(pid_t pid, std::chrono::milliseconds timeout)
{
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (!processAlive(pid)) return true;
        std::this_thread::sleep_for(10ms);
    }
    return !processAlive(pid);
}

}  // namespace hcsd_test
