// Progress of large hydrations for a person watching the provider's terminal: while at least one file of
// c_LargeFileBytes or more is being hydrated, one line on stderr says which file, how far it is and how
// many others run beside it ("hydrating: 2.1 s, iso/debian.iso 312.0 MiB of 1.0 GiB (30 %), 1 more").
// Small files never show (a `tar` over the root would make the line flicker); nothing at all is written
// when stderr is not a terminal.
//
// Lifecycle: the line exists while the set of running large hydrations is not empty. It is created by the
// start() that makes the set non-empty and destroyed by the Scope destructor that empties it, outside
// the meter's lock (the line's thread takes that lock to describe the set, and its destructor joins the
// thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "progress_line.h"

namespace hc::tools {

class HydrationProgress {
public:
    static constexpr uint64_t c_LargeFileBytes = 16ull << 20;

    // fd and interval: where and how often the line is drawn (tests use a pty and a short interval).
    explicit HydrationProgress(int fd = STDERR_FILENO,
                               std::chrono::milliseconds interval = ProgressLine::c_DefaultInterval);
    ~HydrationProgress();
    HydrationProgress(const HydrationProgress&) = delete;
    HydrationProgress& operator=(const HydrationProgress&) = delete;

    // One GetFileData's hydration; counts only when it is large. Not copyable; ends when destroyed.
    class Scope {
    public:
        Scope(Scope&& other) noexcept;
        Scope& operator=(Scope&&) = delete;
        Scope(const Scope&) = delete;
        ~Scope();
        // `bytes` more of the file were written.
        void advance(uint64_t bytes);

    private:
        friend class HydrationProgress;
        Scope(HydrationProgress* owner, uint64_t id) : owner_(owner), id_(id) {}
        HydrationProgress* owner_;  // nullptr: not tracked (small, or moved from)
        uint64_t id_;
    };

    // `name`: the file's path below the root, as shown; `bytes`: how much this hydration writes.
    Scope start(const std::wstring& name, uint64_t bytes);

    // What the line says after the time ("" when nothing large runs); exposed for tests.
    std::string describe();

private:
    struct Hydration {
        std::string name;
        uint64_t total = 0;
        uint64_t done = 0;
    };
    void advance(uint64_t id, uint64_t bytes);
    void finish(uint64_t id);

    const int fd_;
    const std::chrono::milliseconds interval_;
    const bool enabled_;  // isatty(fd), asked once: start() runs for every hydration
    std::mutex mutex_;
    std::map<uint64_t, Hydration> running_;  // by start order: the oldest is the one shown
    uint64_t nextId_ = 1;
    std::unique_ptr<ProgressLine> line_;
};

}  // namespace hc::tools
