// The seam between hcsd's core and the processes that run virtual machines. The core (service/)
// drives a Vm through this interface only; vm/qemu_vm.h implements it with QEMU + QMP, and the unit
// tests implement it with a fake they trigger by hand (reply now, exit now), so the queue, the
// lifecycle, exit attribution and re-adoption are tested without QEMU.
//
// Lifecycle of a Vm: launch()/adopt() -> onReady(OK) once the monitor is usable, or onReady(error)
// -> commands and events -> onExit(description) exactly once when the process is gone (then every
// command still pending has failed). Callbacks run on the owner's event loop thread, never from
// inside launch()/adopt()/kill(); a reply handler may run before execute() returns when the command
// cannot be sent. The owner destroys a Vm after onExit, never from inside one of its callbacks.
// Destroying a Vm does not stop its process (a later hcsd re-adopts it): that is kill() or "quit".
#pragma once

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace hc::hcs::vm {

using ReplyHandler = std::function<void(Result<nlohmann::json>)>;

struct VmCallbacks {
    std::function<void(Status)> onReady;
    std::function<void(const std::string& event, const nlohmann::json& data)> onEvent;
    std::function<void(const std::string& description)> onExit;
};

class Vm {
public:
    virtual ~Vm() = default;
    virtual pid_t pid() const = 0;
    virtual bool exited() const = 0;
    // Sends a monitor command; `handler` runs once with its reply. Returns an id for abandon().
    virtual uint64_t execute(const std::string& command, const nlohmann::json& arguments, ReplyHandler handler) = 0;
    // The same with a descriptor riding on the command (SCM_RIGHTS), for QEMU's getfd / add-fd. The
    // caller keeps (and closes) its own descriptor; QEMU receives a copy.
    virtual uint64_t executeWithDescriptor(const std::string& command, const nlohmann::json& arguments, int descriptor,
                                           ReplyHandler handler) = 0;
    // Forgets a pending command: its handler never runs (a late reply is dropped).
    virtual void abandon(uint64_t command) = 0;
    // SIGKILL (through a pidfd: never a recycled pid). onExit follows.
    virtual void kill() = 0;
};

struct LaunchRequest {
    std::vector<std::string> args;  // the command line; the monitor is descriptor 3
    std::string qmpPath;            // where the monitor socket is created
    std::string logPath;            // stdout + stderr of the process
};

// Starts and finds VM processes.
class VmLauncher {
public:
    virtual ~VmLauncher() = default;
    virtual Result<std::unique_ptr<Vm>> launch(const LaunchRequest& request, VmCallbacks callbacks) = 0;
    // Attaches to a process an earlier hcsd started (re-adoption).
    virtual Result<std::unique_ptr<Vm>> adopt(pid_t pid, const std::string& qmpPath, VmCallbacks callbacks) = 0;
    // Live processes whose command line has `argument` as one of its arguments: how a restarted hcsd
    // finds a VM whose spawn it recorded (the record names an argument unique to that VM).
    virtual std::vector<pid_t> findByArgument(const std::string& argument) = 0;
    // SIGKILL to a process that is not (or no longer) a Vm object, e.g. a VM left half-created.
    virtual void killProcess(pid_t pid) = 0;
};

}  // namespace hc::hcs::vm
