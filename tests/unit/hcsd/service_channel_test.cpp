// The client side of the hcsd connection against a scripted fake hcsd in this process: replies reach
// their handlers exactly once (also when sent from several threads), events are typed, and a dropped
// connection fails what is pending, reports ServiceDisconnect once, and fails later sends at once.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "hcs/client/service_channel.h"
#include "hcs/ipc/unix_socket.h"

namespace hc::hcs {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Accepts one connection, greets, answers Hello, then hands each request line to `script`, which
// returns the lines to send back; an empty optional closes the connection.
class FakeHcsd {
public:
    using Script = std::function<std::optional<std::vector<std::string>>(const json& request)>;

    explicit FakeHcsd(Script script) : script_(std::move(script))
    {
        char tmpl[] = "/tmp/hcs-chan-XXXXXX";
        dir_ = mkdtemp(tmpl);
        path_ = dir_ + "/hcsd.sock";
        auto fd = listenUnixSocket(path_);
        EXPECT_TRUE(fd.ok());
        listenFd_ = fd.ok() ? *fd : -1;
        thread_ = std::thread([this] { serve(); });
        setenv("HCS_SOCKET", path_.c_str(), 1);
        setenv("HCSD_PATH", "/nonexistent/hcsd", 1);  // never autostart a real one here
    }
    ~FakeHcsd()
    {
        ::shutdown(listenFd_, SHUT_RDWR);
        if (connFd_ >= 0) ::shutdown(connFd_, SHUT_RDWR);
        thread_.join();
        close(listenFd_);
        unlink(path_.c_str());
        rmdir(dir_.c_str());
    }

private:
    void serve()
    {
        int fd = accept(listenFd_, nullptr, nullptr);
        if (fd < 0) return;
        connFd_ = fd;
        std::string greeting = "{\"greeting\":{\"service\":\"hcsd\",\"version\":\"fake\",\"protocols\":[1]}}\n";
        (void)writeAll(fd, greeting);
        std::string buffer;
        char chunk[4096];
        while (true) {
            size_t nl = buffer.find('\n');
            if (nl == std::string::npos) {
                ssize_t n = recv(fd, chunk, sizeof chunk, 0);
                if (n <= 0) break;
                buffer.append(chunk, static_cast<size_t>(n));
                continue;
            }
            json request = json::parse(buffer.substr(0, nl));
            buffer.erase(0, nl + 1);
            if (request["method"] == "Hello") {
                (void)writeAll(fd, "{\"id\":" + request["id"].dump() + ",\"result\":{\"protocol\":1}}\n");
                continue;
            }
            auto lines = script_(request);
            if (!lines) break;
            for (const auto& line : *lines)
                (void)writeAll(fd, line + "\n");
        }
        close(fd);
    }

    Script script_;
    std::string dir_, path_;
    int listenFd_ = -1;
    std::atomic<int> connFd_{-1};
    std::thread thread_;
};

// The fake answers these with their method name; kHold is never answered.
constexpr protocol::Method kEcho = protocol::Method::GetServiceProperties;
constexpr protocol::Method kHold = protocol::Method::WaitForComputeSystemExit;
constexpr protocol::Method kThreadMethods[] = {
    protocol::Method::StartComputeSystem, protocol::Method::PauseComputeSystem, protocol::Method::ResumeComputeSystem,
    protocol::Method::TerminateComputeSystem};

std::string echo(const json& request)
{
    return json{{"id", request["id"]}, {"result", {{"method", request["method"]}}}}.dump();
}

TEST(ServiceChannel, RepliesReachTheirHandlersOnceFromManyThreads)
{
    auto fake =
        std::make_unique<FakeHcsd>([](const json& r) { return std::optional<std::vector<std::string>>({echo(r)}); });
    auto channel = connectService();
    ASSERT_TRUE(channel.ok()) << channel.error().message;
    constexpr int kThreads = 4, kEach = 200;
    std::atomic<int> replies{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                const protocol::Method method = kThreadMethods[t];
                (*channel)->send(method, protocol::SystemCallParams{static_cast<uint64_t>(i + 1), ""},
                                 [&, method](ServiceReply r) {
                                     EXPECT_EQ(r.hr, S_OK);
                                     EXPECT_EQ(json::parse(r.document)["method"], protocol::methodName(method));
                                     replies.fetch_add(1);
                                 });
            }
        });
    }
    for (auto& th : threads)
        th.join();
    for (int i = 0; i < 500 && replies.load() < kThreads * kEach; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(replies.load(), kThreads * kEach);
    EXPECT_NE((*channel)->newHandleNumber(), (*channel)->newHandleNumber());
    // Same channel while connected.
    auto again = connectService();
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->get(), channel->get());
    fake.reset();
    for (int i = 0; i < 500; ++i) {  // the next connectService() must see the disconnect
        std::promise<HRESULT> probe;
        (*channel)->send(kEcho, protocol::QueryParams{}, [&](ServiceReply r) { probe.set_value(r.hr); });
        if (probe.get_future().get() == HCS_E_SERVICE_DISCONNECT) break;
        std::this_thread::sleep_for(10ms);
    }
}

TEST(ServiceChannel, ErrorsEventsAndGarbage)
{
    std::mutex m;
    std::vector<ServiceEvent> events;
    std::promise<void> disconnected;
    auto fake = std::make_unique<FakeHcsd>([](const json& r) -> std::optional<std::vector<std::string>> {
        if (r["method"] == "StartComputeSystem") {
            return std::vector<std::string>{
                "this is not json",  // ignored by the client
                R"({"event":"SystemExited","handle":5,"data":{"ExitType":"GracefulExit"}})",
                R"({"event":"SomethingNew","handle":5,"data":{}})",  // unknown: ignored
                json{{"id", r["id"]},
                     {"error",
                      {{"hr", static_cast<int32_t>(HCS_E_INVALID_STATE)},
                       {"message", "nope"},
                       {"document", {{"Error", static_cast<int32_t>(HCS_E_INVALID_STATE)}, {"ErrorMessage", "nope"}}}}}}
                    .dump()};
        }
        return std::vector<std::string>{echo(r)};
    });
    auto channel = connectService();
    ASSERT_TRUE(channel.ok()) << channel.error().message;
    // The handler outlives nothing it uses: the test waits for the disconnect before returning.
    (*channel)->setEventHandler([&](const ServiceEvent& e) {
        if (e.type == HcsEventServiceDisconnect) return disconnected.set_value();
        std::lock_guard lock(m);
        events.push_back(e);
    });
    std::promise<ServiceReply> failed;
    (*channel)->send(protocol::Method::StartComputeSystem, protocol::SystemCallParams{1, ""},
                     [&](ServiceReply r) { failed.set_value(std::move(r)); });
    ServiceReply r = failed.get_future().get();
    EXPECT_EQ(r.hr, HCS_E_INVALID_STATE);
    EXPECT_EQ(json::parse(r.document)["ErrorMessage"], "nope");
    {
        std::lock_guard lock(m);
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].type, HcsEventSystemExited);
        EXPECT_EQ(events[0].handle, 5u);
        EXPECT_EQ(json::parse(events[0].data)["ExitType"], "GracefulExit");
    }

    // Params that are not the catalogue's struct for the method never reach the wire.
    std::promise<ServiceReply> bad;
    (*channel)->send(protocol::Method::StartComputeSystem, protocol::QueryParams{},
                     [&](ServiceReply x) { bad.set_value(std::move(x)); });
    EXPECT_EQ(bad.get_future().get().hr, E_INVALIDARG);
    fake.reset();
    EXPECT_EQ(disconnected.get_future().wait_for(5s), std::future_status::ready);
}

TEST(ServiceChannel, DisconnectFailsPendingOnceAndLaterSendsAtOnce)
{
    std::promise<void> holdRelease;
    auto hold = holdRelease.get_future().share();
    FakeHcsd fake([hold](const json& r) -> std::optional<std::vector<std::string>> {
        if (r["method"] == "WaitForComputeSystemExit") return std::vector<std::string>{};  // never answered
        if (r["method"] == "CloseComputeSystem") {
            hold.wait();
            return std::nullopt;  // close the connection
        }
        return std::vector<std::string>{echo(r)};
    });
    auto channel = connectService();
    ASSERT_TRUE(channel.ok()) << channel.error().message;
    std::atomic<int> disconnects{0};
    std::promise<void> disconnected;
    (*channel)->setEventHandler([&](const ServiceEvent& e) {
        if (e.type == HcsEventServiceDisconnect) {
            EXPECT_EQ(e.handle, 0u);
            if (disconnects.fetch_add(1) == 0) disconnected.set_value();
        }
    });
    std::atomic<int> pendingFailures{0};
    for (int i = 0; i < 10; ++i) {
        (*channel)->send(kHold, protocol::WaitExitParams{1}, [&](ServiceReply r) {
            EXPECT_EQ(r.hr, HCS_E_SERVICE_DISCONNECT);
            pendingFailures.fetch_add(1);
        });
    }
    uint64_t cancelled = (*channel)->send(kHold, protocol::WaitExitParams{1}, [&](ServiceReply r) {
        EXPECT_EQ(r.hr, HCS_E_SERVICE_DISCONNECT);
        pendingFailures.fetch_add(1);
    });
    (*channel)->cancel(cancelled);  // best effort; the fake ignores it
    (*channel)->send(protocol::Method::CloseComputeSystem, protocol::HandleParams{1}, [&](ServiceReply r) {
        EXPECT_EQ(r.hr, HCS_E_SERVICE_DISCONNECT);
        pendingFailures.fetch_add(1);
    });
    holdRelease.set_value();
    ASSERT_EQ(disconnected.get_future().wait_for(5s), std::future_status::ready);
    EXPECT_EQ(pendingFailures.load(), 12);
    // After the drop: the handler runs before send() returns.
    bool ran = false;
    (*channel)->send(kEcho, protocol::QueryParams{}, [&](ServiceReply r) {
        EXPECT_EQ(r.hr, HCS_E_SERVICE_DISCONNECT);
        ran = true;
    });
    EXPECT_TRUE(ran);
    EXPECT_EQ(disconnects.load(), 1);
}

TEST(ServiceChannel, NothingListeningAndNoHcsdFailsClearly)
{
    char tmpl[] = "/tmp/hcs-chan-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    setenv("HCS_SOCKET", (dir + "/hcsd.sock").c_str(), 1);
    setenv("HCSD_PATH", "/nonexistent/hcsd", 1);
    auto channel = connectService();
    ASSERT_FALSE(channel.ok());
    EXPECT_EQ(channel.error().hr, HCS_E_SERVICE_NOT_AVAILABLE);
    EXPECT_NE(channel.error().message.find("/nonexistent/hcsd"), std::string::npos) << channel.error().message;
    unlink((dir + "/hcsd.sock.start.lock").c_str());
    rmdir(dir.c_str());
}

}  // namespace
}  // namespace hc::hcs
