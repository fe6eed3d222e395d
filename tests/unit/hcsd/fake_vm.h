// A fake vm::VmLauncher / vm::Vm for hcsd's core: no processes, no QEMU. The test plays QEMU by
// hand — "the monitor is ready now", "answer the pending `cont` now", "exit now" — so every
// ordering of replies, events and exits is reproducible without sleeps. Everything runs on the
// test's thread, between rounds of the event loop (the same thread rules as the real QemuVm).
#pragma once

#include <sys/types.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "base/event_loop.h"
#include "base/hresult.h"
#include "hcs/vm/vm.h"

namespace hc::hcs::testing {

class FakeVm;

// A "process": lives on in the launcher after its FakeVm is gone (as QEMU outlives an hcsd).
struct FakeProcess {
    pid_t pid = 0;
    std::vector<std::string> args;
    bool alive = true;
    bool killed = false;
    FakeVm* vm = nullptr;  // the Vm object attached to it, if any
};

class FakeVm final : public vm::Vm {
public:
    FakeVm(EventLoop& loop, std::shared_ptr<FakeProcess> process, vm::VmCallbacks callbacks)
        : loop_(loop), process_(std::move(process)), callbacks_(std::move(callbacks))
    {
        process_->vm = this;
    }
    ~FakeVm() override { process_->vm = nullptr; }

    pid_t pid() const override { return process_->pid; }
    bool exited() const override { return exited_; }
    uint64_t execute(const std::string& command, const nlohmann::json& arguments, vm::ReplyHandler handler) override
    {
        if (exited_) {
            handler(makeError(HCS_E_CONNECTION_CLOSED, "the fake QEMU exited"));
            return 0;
        }
        uint64_t id = nextId_++;
        pending_.push_back({id, command, arguments, std::move(handler)});
        sent_.push_back(command);
        return id;
    }
    // The descriptor is not kept: the test sees the command (and whether one came with it).
    uint64_t executeWithDescriptor(const std::string& command, const nlohmann::json& arguments, int descriptor,
                                   vm::ReplyHandler handler) override
    {
        if (descriptor >= 0) descriptorsSent_++;
        return execute(command, arguments, std::move(handler));
    }
    size_t descriptorsSent() const { return descriptorsSent_; }
    // QEMU still carries an abandoned command out; only nobody waits for its answer any more.
    void abandon(uint64_t command) override
    {
        for (auto& p : pending_) {
            if (p.id == command) p.handler = nullptr;
        }
    }
    void kill() override
    {
        if (exited_ || process_->killed) return;
        process_->killed = true;
        process_->alive = false;
        // Like a pidfd becoming readable: the exit is reported on a later loop round.
        loop_.post([process = process_] {
            if (process->vm) process->vm->exitNow("killed by signal 9");
        });
    }

    // --- triggers (the test plays QEMU) ---
    void ready(Status status = {})
    {
        if (callbacks_.onReady) callbacks_.onReady(status);
    }
    // Answers the oldest pending `command`; false when none is pending.
    bool reply(const std::string& command, Result<nlohmann::json> result = nlohmann::json::object())
    {
        for (auto it = pending_.begin(); it != pending_.end(); ++it) {
            if (it->command != command) continue;
            vm::ReplyHandler handler = std::move(it->handler);
            pending_.erase(it);
            if (handler) handler(std::move(result));
            return true;
        }
        return false;
    }
    bool pending(const std::string& command) const
    {
        for (const auto& p : pending_) {
            if (p.command == command) return true;
        }
        return false;
    }
    // Every command ever sent, in order.
    const std::vector<std::string>& sent() const { return sent_; }
    void event(const std::string& name, const nlohmann::json& data)
    {
        if (callbacks_.onEvent) callbacks_.onEvent(name, data);
    }
    // The process ends: pending commands fail, then onExit (what QemuVm does on pidfd readable).
    void exitNow(const std::string& description = "exit code 0")
    {
        if (exited_) return;
        exited_ = true;
        process_->alive = false;
        auto pending = std::move(pending_);
        pending_.clear();
        for (auto& p : pending) {
            if (p.handler) p.handler(makeError(HCS_E_CONNECTION_CLOSED, "QEMU exited"));
        }
        if (callbacks_.onExit) callbacks_.onExit(description);
    }

private:
    struct Pending {
        uint64_t id;
        std::string command;
        nlohmann::json arguments;
        vm::ReplyHandler handler;
    };
    EventLoop& loop_;
    std::shared_ptr<FakeProcess> process_;
    vm::VmCallbacks callbacks_;
    std::deque<Pending> pending_;
    std::vector<std::string> sent_;
    uint64_t nextId_ = 1;
    size_t descriptorsSent_ = 0;
    bool exited_ = false;
};

class FakeLauncher final : public vm::VmLauncher {
public:
    explicit FakeLauncher(EventLoop& loop) : loop_(loop) {}

    Result<std::unique_ptr<vm::Vm>> launch(const vm::LaunchRequest& request, vm::VmCallbacks callbacks) override
    {
        if (onLaunch) onLaunch(request);
        if (launchError) return *launchError;
        auto process = std::make_shared<FakeProcess>();
        process->pid = nextPid_++;
        process->args = request.args;
        processes.push_back(process);
        return std::unique_ptr<vm::Vm>(std::make_unique<FakeVm>(loop_, process, std::move(callbacks)));
    }
    Result<std::unique_ptr<vm::Vm>> adopt(pid_t pid, const std::string&, vm::VmCallbacks callbacks) override
    {
        for (auto& process : processes) {
            if (process->pid == pid && process->alive) {
                return std::unique_ptr<vm::Vm>(std::make_unique<FakeVm>(loop_, process, std::move(callbacks)));
            }
        }
        return makeError(E_FAIL, "no fake process " + std::to_string(pid));
    }
    std::vector<pid_t> findByArgument(const std::string& argument) override
    {
        std::vector<pid_t> found;
        for (auto& process : processes) {
            for (const auto& arg : process->args) {
                if (process->alive && arg == argument) found.push_back(process->pid);
            }
        }
        return found;
    }
    void killProcess(pid_t pid) override
    {
        for (auto& process : processes) {
            if (process->pid == pid) {
                process->alive = false;
                process->killed = true;
            }
        }
    }

    // A process an earlier hcsd left running (re-adoption tests).
    std::shared_ptr<FakeProcess> addOrphan(std::vector<std::string> args)
    {
        auto process = std::make_shared<FakeProcess>();
        process->pid = nextPid_++;
        process->args = std::move(args);
        processes.push_back(process);
        return process;
    }
    FakeVm& lastVm() { return *processes.back()->vm; }

    std::vector<std::shared_ptr<FakeProcess>> processes;
    std::function<void(const vm::LaunchRequest&)> onLaunch;
    std::optional<Error> launchError;

private:
    EventLoop& loop_;
    pid_t nextPid_ = 40000;
};

}  // namespace hc::hcs::testing
