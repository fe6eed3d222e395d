// hcsd's core: sessions (one per client connection) with their handle numbers, the registry of
// compute systems by id, the per-system call queues driven by the lifecycle table, exit detection
// and SystemExited events, handle accounting (terminate on last handle closed). It receives typed
// requests (protocol::Request) and sends encoded lines through each session's Sender; it never
// parses raw protocol lines. Runs entirely on the EventLoop thread.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "hcs/protocol/messages.h"
#include "hcs/service/compute_system.h"
#include "hcs/service/event_loop.h"
#include "hcs/vm/accelerator.h"

namespace hc::hcs::service {

extern const char* const kServiceVersion;

struct ServiceOptions {
    std::string stateDirectory;  // private; holds systems/<dir>/ and pipes/
    std::string qemuBinary = "qemu-system-x86_64";
    // How long Terminate waits for QEMU to quit before SIGKILL.
    std::chrono::milliseconds terminateGrace{3000};
};

class Service {
public:
    using Sender = std::function<void(const std::string& line)>;

    Service(EventLoop& loop, ServiceOptions options, vm::AcceleratorChoice accelerator);
    ~Service();
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    uint64_t openSession(Sender sender);
    // The connection is gone: its handles close (which may terminate systems), its waits end.
    void closeSession(uint64_t session);
    // Every method except Hello (the connection layer's business). Cancel is handled here too.
    void handle(uint64_t session, const protocol::Request& request);

    // Re-attaches to QEMU processes an earlier hcsd left running (state directory scan).
    void readoptSystems();
    bool idle() const { return sessions_.empty() && systems_.empty(); }
    size_t systemCount() const { return systems_.size(); }

private:
    struct Session {
        Sender send;
        std::map<uint64_t, std::shared_ptr<ComputeSystem>> handles;
    };
    using SystemPtr = std::shared_ptr<ComputeSystem>;

    // Replies.
    void reply(uint64_t session, uint64_t requestId, const nlohmann::json& result);
    void replyError(uint64_t session, uint64_t requestId, HRESULT hr, const std::string& message);
    void replyResult(uint64_t session, uint64_t requestId, const Result<nlohmann::json>& result);

    // Requests that are not queued on a system.
    void create(uint64_t session, const protocol::Request& request, const protocol::CreateParams& params);
    void open(uint64_t session, const protocol::Request& request, const protocol::OpenParams& params);
    void enumerate(uint64_t session, const protocol::Request& request, const std::string& query);
    void serviceProperties(uint64_t session, const protocol::Request& request);
    void waitForExit(uint64_t session, const protocol::Request& request, const protocol::WaitExitParams& params);
    void cancel(uint64_t session, uint64_t requestId, uint64_t target);
    SystemPtr systemForHandle(uint64_t session, uint64_t handle, uint64_t requestId);

    // The per-system queue.
    void enqueue(const SystemPtr& system, QueuedCall call);
    void pump(const SystemPtr& system);
    void run(const SystemPtr& system, const QueuedCall& call);
    void finishCall(const SystemPtr& system);
    void runStateChange(const SystemPtr& system, const QueuedCall& call, SystemCall what, const char* qmpCommand);
    void runShutDown(const SystemPtr& system, const QueuedCall& call);
    void runTerminate(const SystemPtr& system, const QueuedCall& call);
    void beginTerminate(const SystemPtr& system, schema::ExitInitiator initiator);
    void releaseHandle(const SystemPtr& system);

    // QEMU side.
    Status launchVm(const SystemPtr& system);
    QemuVm::Callbacks vmCallbacks(const SystemPtr& system);
    void onVmReady(const SystemPtr& system, Status status);
    void onVmEvent(const SystemPtr& system, const std::string& event, const nlohmann::json& data);
    void onVmExit(const SystemPtr& system, const std::string& description);
    void removeIfUnused(const SystemPtr& system);
    void adoptSystem(const std::string& directory);
    void finishAdoption(const SystemPtr& system);
    void persist(const ComputeSystem& system);

    nlohmann::json properties(const ComputeSystem& system, const schema::PropertyQuery& query) const;

    EventLoop& loop_;
    ServiceOptions options_;
    vm::AcceleratorChoice accelerator_;
    std::map<uint64_t, Session> sessions_;
    uint64_t nextSession_ = 1;
    std::map<std::string, SystemPtr> systems_;
    // Per Create: who gets the reply once QEMU is ready.
    std::map<ComputeSystem*, std::pair<uint64_t, uint64_t>> pendingCreates_;
};

}  // namespace hc::hcs::service
