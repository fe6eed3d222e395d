// The fixture of hcsd's core tests: a Service with a fake VM launcher (fake_vm.h) and, when a test
// sets guestChannels_, a fake guest channel factory (fake_guest_channel.h). Clients are sessions whose
// lines are parsed and kept (with the descriptors a reply carried); the test plays QEMU and the agent
// through the fakes' triggers and drives the event loop until the reply it expects arrives.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <vector>

#include "base/unique_fd.h"
#include "fake_vm.h"
#include "hcs/service/service.h"
#include "hcs/service/system_store.h"

namespace hc::hcs::service {

using nlohmann::json;
using protocol::Method;
using testing::FakeVm;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

class ServiceFixture : public ::testing::Test {
public:  // the ExitAttribution cases call the helpers from lambdas
    void SetUp() override
    {
        char tmpl[] = "/tmp/hcsd-service-test-XXXXXX";
        dir_ = mkdtemp(tmpl);
        kernel_ = dir_ + "/vmlinuz";
        std::ofstream(kernel_) << "not really a kernel";
        startService();
    }
    void TearDown() override
    {
        service_.reset();
        fs::remove_all(dir_);
    }

    void startService()
    {
        ServiceOptions options;
        options.stateDirectory = dir_ + "/state";
        fs::create_directories(options.stateDirectory);
        options.timeouts.monitorTimeout = monitorTimeout_;
        options.timeouts.terminateGrace = terminateGrace_;
        options.guestChannels = guestChannels_;
        options.agentTimeout = agentTimeout_;
        options.maxProcessesPerSystem = maxProcesses_;
        service_ = std::make_unique<Service>(loop_, options, vm::AcceleratorChoice{}, launcher_);
    }

    json config(bool terminateOnLastHandle = false, const std::string& namedPipe = "") const
    {
        json c{{"SchemaVersion", {{"Major", 2}, {"Minor", 1}}},
               {"Owner", "test"},
               {"VirtualMachine",
                {{"Chipset", {{"LinuxKernelDirect", {{"KernelFilePath", kernel_}}}}},
                 {"ComputeTopology", {{"Memory", {{"SizeInMB", 256}}}, {"Processor", {{"Count", 1}}}}}}}};
        if (terminateOnLastHandle) c["ShouldTerminateOnLastHandleClosed"] = true;
        if (!namedPipe.empty()) c["VirtualMachine"]["Devices"]["ComPorts"]["0"]["NamedPipe"] = namedPipe;
        return c;
    }

    // A client connected as `uid` (the peer credentials the Server passes on).
    uint64_t connect(uid_t uid = geteuid())
    {
        uint64_t index = clients_.size();
        clients_.emplace_back();
        uint64_t session = service_->openSession(
            [this, index](const std::string& line, std::vector<UniqueFd> fds) {
                json parsed = json::parse(line);
                if (!fds.empty()) descriptors_[{index, parsed.value("id", uint64_t{0})}] = std::move(fds);
                clients_[index].push_back(std::move(parsed));
            },
            uid);
        sessionIndex_[session] = index;
        return session;
    }
    std::vector<json>& lines(uint64_t session) { return clients_[sessionIndex_.at(session)]; }
    // The descriptors that came with the reply to `id` (taken: the test owns them now).
    std::vector<UniqueFd> takeDescriptors(uint64_t session, uint64_t id)
    {
        auto it = descriptors_.find({sessionIndex_.at(session), id});
        if (it == descriptors_.end()) return {};
        auto fds = std::move(it->second);
        descriptors_.erase(it);
        return fds;
    }

    uint64_t send(uint64_t session, Method method, protocol::Params params)
    {
        uint64_t id = nextRequest_++;
        service_->handle(session, protocol::Request{id, method, std::move(params)});
        return id;
    }
    uint64_t call(uint64_t session, Method method, uint64_t handle, std::string document = "")
    {
        return send(session, method, protocol::SystemCallParams{handle, std::move(document)});
    }

    std::optional<json> findReply(uint64_t session, uint64_t id)
    {
        for (const json& line : lines(session)) {
            if (line.contains("id") && line["id"] == id) return line;
        }
        return std::nullopt;
    }
    // Runs the loop until the reply to `id` arrives (a missing reply fails the test after 5 s).
    json awaitReply(uint64_t session, uint64_t id)
    {
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (auto r = findReply(session, id)) return *r;
            loop_.runOnce(20ms);
        }
        ADD_FAILURE() << "no reply to request " << id;
        return json::object();
    }
    // Lets every posted task and due timer run (no descriptors are watched with the fake).
    void settle()
    {
        for (int i = 0; i < 5; ++i)
            loop_.runOnce(0ms);
    }
    static HRESULT hrOf(const json& reply)
    {
        return reply.contains("error") ? static_cast<HRESULT>(reply["error"]["hr"].get<int64_t>()) : S_OK;
    }
    std::vector<json> events(uint64_t session, uint64_t handle)
    {
        std::vector<json> found;
        for (const json& line : lines(session)) {
            if (line.contains("event") && line["handle"] == handle) found.push_back(line);
        }
        return found;
    }

    // Creates system `id` on handle `handle` and answers QEMU's side; returns its fake VM.
    FakeVm& createReady(uint64_t session, uint64_t handle, const std::string& id, const json& c)
    {
        uint64_t rid = send(session, Method::CreateComputeSystem, protocol::CreateParams{handle, id, c.dump()});
        EXPECT_FALSE(findReply(session, rid)) << "Create replied before QEMU's monitor was ready";
        FakeVm& vm = launcher_.lastVm();
        vm.ready();
        EXPECT_EQ(hrOf(awaitReply(session, rid)), S_OK);
        return vm;
    }
    std::string stateOf(uint64_t session, uint64_t handle)
    {
        json r = awaitReply(session, call(session, Method::GetComputeSystemProperties, handle));
        return r["result"].value("State", std::string("?"));
    }
    std::string onlySystemDirectory() const
    {
        SystemStore store(dir_ + "/state");
        auto dirs = store.systemDirectories();
        return dirs.size() == 1 ? dirs[0] : std::string();
    }

    std::chrono::milliseconds monitorTimeout_ = 5000ms;
    std::chrono::milliseconds terminateGrace_ = 3000ms;
    guest::GuestChannelFactory* guestChannels_ = nullptr;
    std::chrono::milliseconds agentTimeout_ = 60000ms;
    size_t maxProcesses_ = 256;
    EventLoop loop_;
    testing::FakeLauncher launcher_{loop_};
    std::string dir_;
    std::string kernel_;
    std::unique_ptr<Service> service_;
    std::vector<std::vector<json>> clients_;
    std::map<uint64_t, uint64_t> sessionIndex_;
    std::map<std::pair<uint64_t, uint64_t>, std::vector<UniqueFd>> descriptors_;  // (client index, request id)
    uint64_t nextRequest_ = 1;
};

}  // namespace hc::hcs::service
