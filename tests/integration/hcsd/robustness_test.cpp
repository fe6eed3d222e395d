// hcsd never crashes on bad input, and the client channel reports a lost service.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "hcs/client/service_channel.h"
#include "hcsd_harness.h"

namespace hcsd_test {
namespace {

using hc::hcs::protocol::CreateParams;
using hc::hcs::protocol::Method;
using hc::hcs::protocol::QueryParams;
using hc::hcs::protocol::WaitExitParams;

constexpr int32_t kProtocolError = static_cast<int32_t>(0x80370111);
constexpr int32_t kUnknownMessage = static_cast<int32_t>(0x8037010B);
constexpr int32_t kInvalidJson = static_cast<int32_t>(0x8037010D);
constexpr int32_t kUnsupportedVersion = static_cast<int32_t>(0x8037010C);
constexpr int32_t kHandle = static_cast<int32_t>(0x80070006);
constexpr int32_t kNotImpl = static_cast<int32_t>(0x80004001);

TEST(HcsdRobustness, BadInputGetsDocumentedErrors)
{
    HcsdProcess hcsd;
    RawClient early(hcsd.socketPath(), /*hello=*/false);
    EXPECT_EQ(early.greeting()["greeting"]["protocols"], json::array({1}));
    EXPECT_EQ(early.call("EnumerateComputeSystems", json::object()).hr(), kProtocolError) << "before Hello";
    EXPECT_EQ(early.call("Hello", {{"protocol", 99}}).hr(), kUnsupportedVersion);

    RawClient c(hcsd.socketPath());
    c.sendLine("this is not json");
    auto m = c.readMessage(5s);
    ASSERT_TRUE(m);
    EXPECT_EQ((*m)["error"]["hr"], kProtocolError);
    EXPECT_TRUE((*m)["id"].is_null());
    c.sendLine("[1,2,3]");
    EXPECT_EQ((*c.readMessage(5s))["error"]["hr"], kProtocolError);
    c.sendLine(std::string("{\"id\": 5, \"method\": \"\xff\xfe\"}"));  // invalid UTF-8
    EXPECT_EQ((*c.readMessage(5s))["error"]["hr"], kProtocolError);
    c.sendLine("");  // blank lines are ignored
    EXPECT_EQ(c.call("FormatHardDisk", json::object()).hr(), kUnknownMessage);
    EXPECT_EQ(c.call("StartComputeSystem", {{"handle", 42}}).hr(), kHandle);
    EXPECT_EQ(c.call("StartComputeSystem", {{"handle", "x"}}).hr(), kProtocolError);
    EXPECT_EQ(c.call("CloseComputeSystem", {{"handle", 42}}).hr(), kHandle);

    json bad = kernelGuestConfig("initrd-idle.gz");
    bad["VirtualMachine"]["ComputeTopology"]["Memory"]["SizeInMB"] = "lots";
    Reply r = c.call("CreateComputeSystem", {{"handle", 1}, {"id", "bad"}, {"configuration", bad.dump()}});
    EXPECT_EQ(r.hr(), kInvalidJson);
    EXPECT_EQ(r.message(), "VirtualMachine.ComputeTopology.Memory.SizeInMB: expected an unsigned integer, got string");
    EXPECT_EQ(r.raw["error"]["document"]["ErrorMessage"], r.message());
    json pmem = kernelGuestConfig("initrd-idle.gz");
    pmem["VirtualMachine"]["Devices"] = {{"VirtualPMem", json::object()}};
    Reply unsupported = c.call("CreateComputeSystem", {{"handle", 1}, {"id", "bad"}, {"configuration", pmem.dump()}});
    EXPECT_EQ(unsupported.hr(), kNotImpl);
    EXPECT_NE(unsupported.message().find("VirtualMachine.Devices.VirtualPMem"), std::string::npos);
    // A feature this host lacks is refused at Create, naming the field (no /dev/vhost-vsock here).
    json hvSocket = kernelGuestConfig("initrd-idle.gz");
    hvSocket["VirtualMachine"]["Devices"] = {{"HvSocket", json::object()}};
    Reply noVsock = c.call("CreateComputeSystem", {{"handle", 1}, {"id", "bad"}, {"configuration", hvSocket.dump()}});
    EXPECT_EQ(noVsock.hr(), kNotImpl);
    EXPECT_NE(noVsock.message().find("VirtualMachine.Devices.HvSocket"), std::string::npos) << noVsock.message();
    EXPECT_EQ(c.call("CreateComputeSystem", {{"handle", 1}, {"id", "bad"}, {"configuration", "{"}}).hr(), kInvalidJson);
    json missingKernel = kernelGuestConfig("initrd-idle.gz");
    missingKernel["VirtualMachine"]["Chipset"]["LinuxKernelDirect"]["KernelFilePath"] = "/nonexistent/vmlinuz";
    Reply missing =
        c.call("CreateComputeSystem", {{"handle", 1}, {"id", "bad"}, {"configuration", missingKernel.dump()}});
    EXPECT_LT(missing.hr(), 0);
    EXPECT_NE(missing.message().find("KernelFilePath"), std::string::npos);
    EXPECT_EQ(c.call("CreateComputeSystem", {{"handle", 1}, {"id", ""}, {"configuration", "{}"}}).hr(),
              static_cast<int32_t>(0x80070057));

    // Still alive and serving.
    Reply props = c.call("GetServiceProperties", json::object());
    ASSERT_TRUE(props.ok());
    // No query: Windows' Basic, then hostcompute's own facts.
    const json basic = props.result()["Properties"][0];
    const json facts = props.result()["Properties"][1];
    EXPECT_EQ(facts["ProcessId"], hcsd.pid());
    EXPECT_TRUE(facts["Accelerator"] == "tcg" || facts["Accelerator"] == "kvm");
    EXPECT_FALSE(basic["SupportedSchemaVersions"].empty());
}

TEST(HcsdRobustness, ClientChannelSeesServiceDisconnect)
{
    HcsdProcess hcsd;
    setenv("HCS_SOCKET", hcsd.socketPath().c_str(), 1);
    auto channel = hc::hcs::connectService();
    ASSERT_TRUE(channel.ok()) << channel.error().message;
    std::promise<void> disconnected;
    std::atomic<int> disconnects{0};
    (*channel)->setEventHandler([&](const hc::hcs::ServiceEvent& e) {
        if (e.type == HcsEventServiceDisconnect && disconnects.fetch_add(1) == 0) disconnected.set_value();
    });
    std::promise<hc::hcs::ServiceReply> first;
    (*channel)->send(Method::GetServiceProperties, QueryParams{},
                     [&](hc::hcs::ServiceReply r) { first.set_value(std::move(r)); });
    auto reply = first.get_future().get();
    ASSERT_EQ(reply.hr, S_OK) << reply.document;
    EXPECT_EQ(json::parse(reply.document)["Properties"][1]["ProcessId"], hcsd.pid());

    // A wait that is in flight when hcsd dies fails with HCS_E_SERVICE_DISCONNECT.
    std::promise<hc::hcs::ServiceReply> pending;
    std::promise<hc::hcs::ServiceReply> created;
    uint64_t handle = (*channel)->newHandleNumber();
    (*channel)->send(Method::CreateComputeSystem,
                     CreateParams{handle, "lost", kernelGuestConfig("initrd-idle.gz").dump()},
                     [&](hc::hcs::ServiceReply r) { created.set_value(std::move(r)); });
    (*channel)->send(Method::WaitForComputeSystemExit, WaitExitParams{handle},
                     [&](hc::hcs::ServiceReply r) { pending.set_value(std::move(r)); });
    // Only once Create has answered is the QEMU pid on record, so the test can kill it afterwards.
    ASSERT_EQ(created.get_future().get().hr, S_OK);
    auto qemu = hcsd.qemuPids();
    ASSERT_EQ(qemu.size(), 1u);
    hcsd.kill(SIGKILL);
    ASSERT_EQ(disconnected.get_future().wait_for(5s), std::future_status::ready);
    EXPECT_EQ(pending.get_future().get().hr, HCS_E_SERVICE_DISCONNECT);
    std::promise<hc::hcs::ServiceReply> after;
    (*channel)->send(Method::GetServiceProperties, QueryParams{},
                     [&](hc::hcs::ServiceReply r) { after.set_value(std::move(r)); });
    EXPECT_EQ(after.get_future().get().hr, HCS_E_SERVICE_DISCONNECT);
    EXPECT_EQ(disconnects.load(), 1);
    for (pid_t p : qemu)
        kill(p, SIGKILL);

    // The next connectService() starts a private hcsd (HCSD_PATH) and connects again.
    setenv("HCSD_PATH", hcsdBinary().c_str(), 1);
    auto again = hc::hcs::connectService();
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_NE(again->get(), channel->get());
    std::promise<hc::hcs::ServiceReply> fresh;
    (*again)->send(Method::GetServiceProperties, QueryParams{},
                   [&](hc::hcs::ServiceReply r) { fresh.set_value(std::move(r)); });
    auto props = fresh.get_future().get();
    ASSERT_EQ(props.hr, S_OK);
    pid_t daemon = json::parse(props.document)["Properties"][1]["ProcessId"].get<pid_t>();
    EXPECT_NE(daemon, hcsd.pid());
    kill(daemon, SIGTERM);
    EXPECT_TRUE(waitProcessGone(daemon, 5s));
    unsetenv("HCS_SOCKET");
    unsetenv("HCSD_PATH");
}

TEST(HcsdRobustness, RacingAutostartsMakeOneHcsd)
{
    char tmpl[] = "/tmp/hcsd-race-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    std::string socket = std::string(tmpl) + "/hcsd.sock";
    std::string binary = hcsdBinary();
    // Each racer is its own process (connectService keeps one channel per process).
    constexpr int kRacers = 4;
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    std::vector<pid_t> racers;
    for (int i = 0; i < kRacers; ++i) {
        pid_t p = fork();
        if (p == 0) {
            close(out[0]);
            setenv("HCS_SOCKET", socket.c_str(), 1);
            setenv("HCSD_PATH", binary.c_str(), 1);
            auto ch = hc::hcs::connectService();
            int32_t pid = -1;
            if (ch) {
                std::promise<hc::hcs::ServiceReply> r;
                (*ch)->send(Method::GetServiceProperties, QueryParams{},
                            [&](hc::hcs::ServiceReply x) { r.set_value(std::move(x)); });
                auto reply = r.get_future().get();
                if (reply.hr == S_OK) pid = json::parse(reply.document)["Properties"][1]["ProcessId"].get<int32_t>();
            }
            if (write(out[1], &pid, sizeof pid) != sizeof pid) _exit(2);
            _exit(0);
        }
        racers.push_back(p);
    }
    close(out[1]);
    std::set<int32_t> daemons;
    for (int i = 0; i < kRacers; ++i) {
        int32_t pid = -1;
        ASSERT_EQ(read(out[0], &pid, sizeof pid), static_cast<ssize_t>(sizeof pid));
        daemons.insert(pid);
    }
    close(out[0]);
    for (pid_t p : racers)
        waitpid(p, nullptr, 0);
    ASSERT_EQ(daemons.size(), 1u) << "racing clients started more than one hcsd";
    int32_t daemon = *daemons.begin();
    ASSERT_GT(daemon, 0) << "autostart failed; see " << socket << ".state/hcsd.log";
    kill(daemon, SIGTERM);
    EXPECT_TRUE(waitProcessGone(daemon, 5s));
    std::error_code ec;
    std::filesystem::remove_all(tmpl, ec);
}

}  // namespace
}  // namespace hcsd_test
