// hcsd's core. It receives typed requests (protocol::Request) from the Server and answers through
// each session's Sender; handle() is the ONE function mapping a request to its handler. The parts
// it coordinates each have their own module:
//   sessions.h        connections and their handle numbers
//   managed_system.h  one system: lifecycle state (lifecycle.h), call queue, exit waiters
//   vm_supervisor.h   the VM behind a system, every wait on it bounded (vm/vm.h is the seam)
//   system_store.h    the state directory: records written before each spawn, so a restarted hcsd finds every VM
//   readopt.cpp       re-adoption of the VMs an earlier hcsd left
//   process_table.h   the guest processes of a system; process_calls.cpp the process calls and the
//                     guest channel (guest/guest_channel.h is the seam to the agent)
// Runs entirely on the EventLoop thread. docs/hcsd.md maps every call to where it goes.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/event_loop.h"
#include "hcs/container/container_backend.h"
#include "hcs/guest/guest_channel.h"
#include "hcs/protocol/messages.h"
#include "hcs/service/managed_system.h"
#include "hcs/service/sessions.h"
#include "hcs/service/system_store.h"
#include "hcs/vm/accelerator.h"
#include "hcs/vm/hotplug.h"
#include "hcs/vm/qemu_command.h"
#include "hcs/vm/vm.h"

namespace hc::hcs::service {

extern const char* const kServiceVersion;

// "2026-11-22T03:30:00.1234567Z" from FILETIME ticks (Statistics and ProcessList timestamps).
std::string rfc3339(int64_t filetime);

struct ServiceOptions {
    std::string stateDirectory;  // private; holds systems/<dir>/ and pipes/
    std::string qemuBinary = "qemu-system-x86_64";
    SupervisionTimeouts timeouts;
    // Makes the guest agent channel of systems with a GuestConnection; null = such systems are refused.
    guest::GuestChannelFactory* guestChannels = nullptr;
    // How long a Save may take to write its file, and a restoring Create to load it.
    std::chrono::milliseconds migrationTimeout{600000};
    // How long Crash waits for the guest to panic after the NMI before hcsd kills the VM.
    std::chrono::milliseconds crashTimeout{30000};
    // How long Start waits for the agent's hello, and CreateProcess for an agent (hcsd --agent-timeout).
    std::chrono::milliseconds agentTimeout{60000};
    // Live (starting or running) processes per system; one more fails CreateProcess.
    size_t maxProcessesPerSystem = 256;
    // Process-isolated containers (container/container_backend.h): the init every container runs
    // (the static hcs-guest) and the OCI runtime ("" = probe).
    std::string containerInit;
    std::string ociRuntime;
    std::string socketPath;  // hcsd's own socket: never mapped into a container
};

class Service {
public:
    using Sender = Sessions::Sender;

    Service(EventLoop& loop, ServiceOptions options, vm::AcceleratorChoice accelerator, vm::VmLauncher& launcher);
    // Systems whose Create has not finished are killed and forgotten (their client sees the
    // connection drop); every other QEMU keeps running for a later hcsd to re-adopt.
    ~Service();
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    // `uid`: the connected user (SO_PEERCRED); it owns the systems the session creates.
    uint64_t openSession(Sender sender, uid_t uid);
    // The connection is gone: its handles close (which may terminate systems), its waits end.
    void closeSession(uint64_t session);
    // Every method except Hello (the Server's business).
    void handle(uint64_t session, const protocol::Request& request);

    // Finds the VMs an earlier hcsd left (state directory scan): re-adopts those whose Create
    // finished, kills those whose Create did not.
    void readoptSystems();
    bool idle() const { return sessions_.count() == 0 && systems_.empty(); }
    size_t systemCount() const { return systems_.size(); }

private:
    // Replies.
    void reply(uint64_t session, uint64_t requestId, const nlohmann::json& result);
    void replyError(uint64_t session, uint64_t requestId, const Error& error);

    // Requests that are not queued on a system.
    void create(uint64_t session, uint64_t requestId, const protocol::CreateParams& params);
    void open(uint64_t session, uint64_t requestId, const protocol::OpenParams& params);
    void enumerate(uint64_t session, uint64_t requestId, const std::string& query);
    void serviceProperties(uint64_t session, uint64_t requestId, const std::string& query);
    // HcsGrantVmAccess / HcsRevokeVmAccess (file_acl.h), with the caller's file rights.
    void vmAccess(uint64_t session, uint64_t requestId, const protocol::VmAccessParams& params, bool grant);
    void waitForExit(uint64_t session, uint64_t requestId, const protocol::WaitExitParams& params);
    void cancel(uint64_t session, uint64_t requestId, uint64_t target);
    SystemPtr systemForHandle(uint64_t session, uint64_t handle, uint64_t requestId);
    // Who may see and control a system (docs/hcsd.md): root, hcsd's own user, the system's owner.
    bool mayAccess(uint64_t session, const ComputeSystem& system) const;

    // The per-system queue.
    void enqueue(const SystemPtr& system, QueuedCall call);
    void pump(const SystemPtr& system);
    void run(const SystemPtr& system, const QueuedCall& call);
    void finishInFlight(const SystemPtr& system);
    void runStateChange(const SystemPtr& system, const QueuedCall& call, const char* qmpCommand);
    void runShutDown(const SystemPtr& system, const QueuedCall& call);
    void runTerminate(const SystemPtr& system, const QueuedCall& call);
    // `call` is answered (success) when the system has exited: Terminate, Crash.
    void replyOnExit(const SystemPtr& system, const QueuedCall& call);
    void resynchronise(const SystemPtr& system);
    void beginTerminate(const SystemPtr& system, schema::ExitInitiator initiator);
    void releaseHandle(const SystemPtr& system);
    void removeIfUnused(const SystemPtr& system);

    // The VM side.
    Result<vm::LaunchRequest> prepareLaunch(const ComputeSystem& system);
    // The Unix sockets of ComPorts and VirtioSerial ports: named, free, and claimed for this system.
    Status claimPipes(const ComputeSystem& system, vm::QemuLaunchSettings& settings);
    // Disk images and shared directories opened with the caller's rights; host-dependent devices.
    Status checkHostFiles(const schema::VirtualMachineConfig& vm, vm::QemuLaunchSettings& settings);
    vm::VmCallbacks vmCallbacks(const SystemPtr& system);
    void onVmReady(const SystemPtr& system, Status status);
    void onVmEvent(const SystemPtr& system, const std::string& event, const nlohmann::json& data);
    void onVmExit(const SystemPtr& system, const std::string& description);
    container::SystemIdentity containerIdentity(const ComputeSystem& system) const;
    void failCreation(const SystemPtr& system, const std::string& how);
    schema::SystemExitStatus exitStatusOf(const ComputeSystem& system) const;
    // The system's record (system_store.h). Before QEMU is spawned a failure refuses the Create;
    // later ones are logged (persist).
    Status writeRecord(const ComputeSystem& system);
    void persist(const ComputeSystem& system);

    // Save, restore and crash (save_restore.cpp).
    void runSave(const SystemPtr& system, const QueuedCall& call);
    void runCrash(const SystemPtr& system, const QueuedCall& call);
    // RestoreState: the save file opened for the Create (with the caller's rights); error names the field.
    Status openRestoreFile(ComputeSystem& system);
    // A restoring Create once QEMU's monitor is up: load the file, then finishCreate().
    void beginRestore(const SystemPtr& system);
    void finishCreate(const SystemPtr& system);
    // Waits (bounded) for QEMU's migration to end; `onDone` runs once.
    void awaitMigration(const SystemPtr& system, std::function<void(Status)> onDone);
    void endMigration(const SystemPtr& system, Status status);
    void onGuestPanicked(const SystemPtr& system, const nlohmann::json& data);
    void sendSystemEvent(const ComputeSystem& system, const char* event, const nlohmann::json& data);

    // Re-adoption (readopt.cpp).
    void adoptSystem(const std::string& directory);
    void finishAdoption(const SystemPtr& system);
    void answerWaitingEnumerations();

    nlohmann::json properties(const ComputeSystem& system, const schema::PropertyQuery& query) const;

    // Modify and the Memory property (modify_calls.cpp).
    void runModify(const SystemPtr& system, const QueuedCall& call);
    // The QMP steps of a change, one after another; a failure sends the undo of each step done, in
    // reverse, and reports the failure. `done` runs once; not at all if the call was cancelled.
    void runSteps(const SystemPtr& system, const QueuedCall& call, std::vector<vm::QmpStep> steps, size_t next,
                  std::function<void(Status)> done);
    void undoSteps(const SystemPtr& system, std::vector<vm::QmpStep> steps, size_t count);
    // Bounded wait for DEVICE_DELETED of `device`.
    void awaitDeviceDeleted(const SystemPtr& system, const std::string& device, std::function<void(Status)> done);
    void failDeviceRemovals(const SystemPtr& system, const Error& error);
    // The first of the VM's hcs-rp* root ports with nothing plugged in (qom-list of each port's bus).
    void findFreeRootPort(const SystemPtr& system, const QueuedCall& call,
                          std::function<void(Result<std::string>)> done);
    void checkRootPorts(const SystemPtr& system, const QueuedCall& call, std::vector<std::string> ports, size_t next,
                        std::function<void(Result<std::string>)> done);
    void applyModified(const SystemPtr& system, const QueuedCall& call, nlohmann::json document,
                       schema::ComputeSystemConfig config, Status outcome);
    // GetComputeSystemProperties with "Memory": asks the balloon first.
    void runPropertiesWithMemory(const SystemPtr& system, const QueuedCall& call, const schema::PropertyQuery& query);
    bool stillInFlight(const ComputeSystem& system, const QueuedCall& call) const;

    // Processes and the guest channel (process_calls.cpp).
    void createProcess(uint64_t session, uint64_t requestId, const protocol::CreateProcessParams& params);
    void openProcess(uint64_t session, uint64_t requestId, const protocol::OpenProcessParams& params);
    void closeProcess(uint64_t session, uint64_t requestId, uint64_t handle);
    void waitForProcessExit(uint64_t session, uint64_t requestId, const protocol::WaitExitParams& params);
    // Terminate, Signal, GetInfo, GetProperties, Modify: deferred while the process is starting.
    void processCall(uint64_t session, const protocol::Request& request);
    void runProcessCall(const ProcessPtr& process, uint64_t session, const protocol::Request& request);
    void runCreateProcess(const SystemPtr& system, const QueuedCall& call);
    void onProcessStarted(const ProcessPtr& process, Result<uint32_t> pid);
    void onProcessExited(const ProcessPtr& process, const guest::ProcessExit& exit);
    void failProcessStart(const ProcessPtr& process, const Error& error);
    void releaseProcessHandle(const ProcessPtr& process);
    // A request answered when the channel completes it (or with `error` if the channel goes first).
    void callGuest(const SystemPtr& system, uint64_t session, uint64_t requestId,
                   const std::function<void(guest::CompletionHandler)>& start);
    void openGuestChannel(const SystemPtr& system);
    // The VM is gone: the channel is destroyed, every process ends with `error`, every guest call fails.
    void closeGuestChannel(const SystemPtr& system, const Error& error);
    void waitForAgent(const SystemPtr& system, const QueuedCall& start);
    void onAgentConnected(const SystemPtr& system, const guest::AgentInfo& info);
    nlohmann::json processList(const ComputeSystem& system) const;
    nlohmann::json guestConnectionProperties(const ComputeSystem& system) const;

    EventLoop& loop_;
    ServiceOptions options_;
    vm::AcceleratorChoice accelerator_;
    vm::VmLauncher& launcher_;
    SystemStore store_;
    container::ContainerBackend containers_;
    Sessions sessions_;
    std::map<std::string, SystemPtr> systems_;  // the registry, by id
    // Enumerations that arrived while systems were being re-adopted: answered once none is
    // (so a restarted hcsd lists every system it found, not only those already re-attached).
    struct WaitingEnumeration {
        uint64_t session;
        uint64_t requestId;
        std::string query;
    };
    std::vector<WaitingEnumeration> waitingEnumerations_;
};

}  // namespace hc::hcs::service
