// A fake guest::GuestChannel for hcsd's core: no QEMU, no agent. The test plays the agent by hand —
// "the agent says hello now", "process 0 started as pid 7", "it exited with 3", "answer the pending
// signal" — so every ordering of starts, exits, disconnects and VM exits is reproducible without
// sleeps. It keeps the seam's promises (guest/guest_channel.h): callbacks never run inside the call
// that registers them (the test triggers them later), destruction calls nothing and closes every end.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/hresult.h"
#include "hcs/guest/guest_channel.h"

namespace hc::hcs::testing {

class FakeGuestChannelFactory;

class FakeGuestChannel final : public guest::GuestChannel {
public:
    struct Process {
        guest::ProcessSpec spec;
        guest::StdioEnds ends;
        guest::ProcessCallbacks callbacks;
        uint32_t pid = 0;
        bool started = false, ended = false;
    };
    struct Call {
        std::string what;  // "signal", "closeStdin", "resize"
        uint32_t pid = 0;
        int a = 0, b = 0;  // signal; rows, columns
        guest::CompletionHandler done;
    };

    FakeGuestChannel(FakeGuestChannelFactory& factory, guest::ChannelOptions options,
                     guest::ChannelCallbacks callbacks);
    ~FakeGuestChannel() override;

    std::optional<guest::AgentInfo> agent() const override { return agent_; }
    void createProcess(guest::ProcessSpec spec, guest::StdioEnds ends, guest::ProcessCallbacks callbacks) override
    {
        auto p = std::make_shared<Process>();
        p->spec = std::move(spec);
        p->ends = std::move(ends);
        p->callbacks = std::move(callbacks);
        processes.push_back(p);
    }
    void signalProcess(uint32_t pid, int signal, guest::CompletionHandler done) override
    {
        calls.push_back({"signal", pid, signal, 0, std::move(done)});
    }
    void closeStdin(uint32_t pid, guest::CompletionHandler done) override
    {
        calls.push_back({"closeStdin", pid, 0, 0, std::move(done)});
    }
    void resizeConsole(uint32_t pid, uint16_t rows, uint16_t columns, guest::CompletionHandler done) override
    {
        calls.push_back({"resize", pid, rows, columns, std::move(done)});
    }

    // --- triggers (the test plays the agent) ---
    void connect(guest::AgentInfo info = {1, "fake-1.0", {"exec", "signal", "resize"}})
    {
        agent_ = info;
        if (callbacks_.onConnected) callbacks_.onConnected(info);
    }
    // The agent went away: every process it started ends with `error` first (the seam's promise).
    void disconnect(const Error& error)
    {
        agent_.reset();
        for (auto& p : processes) {
            if (p->started && !p->ended) exit(*p, guest::ProcessExit{-1, std::nullopt, error});
        }
        if (callbacks_.onDisconnected) callbacks_.onDisconnected(error);
    }
    void start(size_t index, uint32_t pid)
    {
        Process& p = *processes.at(index);
        p.pid = pid;
        p.started = true;
        p.callbacks.started(pid);
    }
    void failStart(size_t index, const Error& error)
    {
        Process& p = *processes.at(index);
        p.ended = true;
        p.ends = {};
        p.callbacks.started(error);
    }
    void exit(size_t index, guest::ProcessExit status) { exit(*processes.at(index), std::move(status)); }
    void exit(Process& p, guest::ProcessExit status)
    {
        p.ended = true;
        p.ends = {};  // the streams ended before the exit is reported
        p.callbacks.exited(status);
    }
    // Answers the oldest pending call named `what`; false when none is pending.
    bool answer(const std::string& what, Status status = {})
    {
        for (auto it = calls.begin(); it != calls.end(); ++it) {
            if (it->what != what) continue;
            auto done = std::move(it->done);
            calls.erase(it);
            done(std::move(status));
            return true;
        }
        return false;
    }

    const guest::ChannelOptions options;
    std::vector<std::shared_ptr<Process>> processes;  // in the order createProcess was called
    std::deque<Call> calls;

private:
    FakeGuestChannelFactory& factory_;
    guest::ChannelCallbacks callbacks_;
    std::optional<guest::AgentInfo> agent_;
};

class FakeGuestChannelFactory final : public guest::GuestChannelFactory {
public:
    std::unique_ptr<guest::GuestChannel> open(EventLoop&, const guest::ChannelOptions& options,
                                              guest::ChannelCallbacks callbacks) override
    {
        opened++;
        return std::make_unique<FakeGuestChannel>(*this, options, std::move(callbacks));
    }
    FakeGuestChannel& last() { return *live.back(); }

    std::vector<FakeGuestChannel*> live;  // channels not yet destroyed, oldest first
    int opened = 0;
};

inline FakeGuestChannel::FakeGuestChannel(FakeGuestChannelFactory& factory, guest::ChannelOptions options,
                                          guest::ChannelCallbacks callbacks)
    : options(std::move(options)), factory_(factory), callbacks_(std::move(callbacks))
{
    factory_.live.push_back(this);
}

inline FakeGuestChannel::~FakeGuestChannel()
{
    std::erase(factory_.live, this);
}

}  // namespace hc::hcs::testing
