// One process-isolated container behind the vm::Vm seam, so hcsd's core drives it exactly like a VM
// (service/vm_supervisor.h bounds every command; the process calls go to its init, hcs-guest in
// container mode, through the same guest channel). The monitor commands the core sends map onto the
// OCI runtime:
//   "cont"             first time: `runtime start` (the init begins); later: `runtime resume` (thaw)
//   "stop"             `runtime pause` (freeze every process of the container's cgroup)
//   "query-status"     "prelaunch" before Start, then "paused" while frozen, else "running"
//   "system_powerdown" SIGTERM to the init: it ends every process and exits 0 (a graceful exit,
//                      reported as the guest's SHUTDOWN event)
//   "quit"             SIGKILL to the init (its pid namespace dies with it), thawing it first
//
// Lifecycle: create() runs `runtime create` (the init exists, waiting for Start) -> onReady(OK), or
// the creation fails -> onExit. adopt() attaches to the init an earlier hcsd created -> onReady(OK).
// When the init is gone (a pidfd says so): `runtime delete --force` (cgroups, runtime state), the
// root file system is unmounted, every pending command fails, then onExit exactly once. Destroying a
// ContainerVm before that leaves the container running for a later hcsd.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "base/event_loop.h"
#include "base/unique_fd.h"
#include "hcs/container/runtime.h"
#include "hcs/vm/vm.h"

namespace hc::hcs::container {

struct ContainerPaths {
    std::string containerId;  // the runtime's id
    std::string bundle;       // the directory holding config.json
    std::string rootfs;       // the overlay mount point (rootfs.h)
    std::string logPath;      // the runtime's and the init's output
    std::string cgroupsPath;  // "/hostcompute/<container id>"
};

class ContainerVm : public vm::Vm {
public:
    // `agentListener` becomes the init's descriptor 3 (hcs-guest --container).
    static std::unique_ptr<ContainerVm> create(EventLoop& loop, const OciRuntime& runtime, ContainerPaths paths,
                                               UniqueFd agentListener, vm::VmCallbacks callbacks);
    static Result<std::unique_ptr<ContainerVm>> adopt(EventLoop& loop, const OciRuntime& runtime, ContainerPaths paths,
                                                      pid_t pid, bool started, vm::VmCallbacks callbacks);
    ~ContainerVm() override;

    pid_t pid() const override { return pid_; }
    bool exited() const override { return exited_; }
    uint64_t execute(const std::string& command, const nlohmann::json& arguments, vm::ReplyHandler handler) override;
    // No container operation takes a descriptor: answered like execute() (E_NOTIMPL for getfd).
    uint64_t executeWithDescriptor(const std::string& command, const nlohmann::json& arguments, int,
                                   vm::ReplyHandler handler) override
    {
        return execute(command, arguments, std::move(handler));
    }
    void abandon(uint64_t command) override { pending_.erase(command); }
    void kill() override;

private:
    ContainerVm(EventLoop& loop, const OciRuntime& runtime, ContainerPaths paths, vm::VmCallbacks callbacks);
    void created(Result<int> exitCode);
    Status watchInit(pid_t pid);
    void initExited();
    void finishExit(const std::string& description);
    // Start: releases runc's init through its exec fifo when it can (startThroughExecFifo), else runs
    // `runtime start`.
    uint64_t start(vm::ReplyHandler handler);
    // runc's `start` opens <root>/<id>/exec.fifo, on which the init created by `runc create` waits, reads
    // the init's byte and removes the fifo (runc then reports the container as running). Doing that here
    // saves spawning runc a second time (~60-100 ms of the container's start). False when the fifo is not
    // there (another runtime, or runc changed): the caller falls back to `runtime start`.
    bool startThroughExecFifo(uint64_t command);
    void execFifoReadable(uint64_t command);
    // Runs `runtime <verb> <id>`; the reply is {} or the runtime's error.
    uint64_t runVerb(const std::string& verb, vm::ReplyHandler handler, std::function<void()> onSuccess = {});
    void answer(uint64_t command, Result<nlohmann::json> reply);
    bool frozen() const;
    void thaw() const;

    EventLoop& loop_;
    const OciRuntime& runtime_;
    ContainerPaths paths_;
    vm::VmCallbacks callbacks_;
    RuntimeCommands commands_;
    std::map<uint64_t, vm::ReplyHandler> pending_;
    uint64_t nextCommand_ = 1;
    uint64_t createCommand_ = 0;  // `runtime create` while it runs
    pid_t pid_ = -1;              // the init (after create)
    UniqueFd pidfd_;
    UniqueFd execFifo_;  // runc's exec fifo while a start waits for the init's byte
    bool started_ = false;
    bool powerdown_ = false;
    bool killed_ = false;
    bool dying_ = false;  // the init is gone; cleaning up
    bool exited_ = false;
};

}  // namespace hc::hcs::container
