// SubtreeDetach: what happens before a directory placeholder moves (docs/projfs-design.md, "Renaming a
// directory placeholder"). The provider knows the directory's children by the directory's path only, so
// a moved placeholder directory could no longer be enumerated or looked up. Instead, before the rename:
//   1. walk: every directory of the subtree that the provider backs is enumerated once and each of its
//      provider entries not on disk gets its placeholder (GetPlaceholderInfo), so the item list on disk
//      is complete — placeholders only, no GetFileData;
//   2. detach: every placeholder directory of the subtree becomes a full directory (no longer enumerated
//      or asked about names; it keeps its origin), and the tombstones in them, which hide nothing any
//      more, are removed.
// The files keep their placeholders' origin and VersionInfo, so a later open still hydrates them from the
// provider (GetFileData by the path they were created under). A failure in step 1 (a provider error, an
// interrupted rename) leaves only placeholders a lookup could have written; the rename is not made.
//
// Lifecycle: start() creates the object, owned by the continuations of its own asynchronous calls; it
// visits one directory and one name at a time and calls `done` exactly once — on a transport thread or
// the instance's executor, never on a thread delivering the provider's PrjCompleteCommand (from which
// the provider must not be called again). Callbacks that completed inline continue the loop instead of
// recursing, so a 10,000-entry directory needs no deep stack.
#pragma once

#include "base/result.h"
#include "projfs/core/request_context.h"

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hc::projfs {

class EnumerationSession;
class VirtualizationInstance;

class SubtreeDetach : public std::enable_shared_from_this<SubtreeDetach> {
public:
    // Prepares directory `rel` (and everything below it) for a move; done(ok) when it may be renamed.
    static void start(VirtualizationInstance& instance, const RequestContext& ctx, const std::string& rel,
                      std::function<void(Status)> done);

    SubtreeDetach(VirtualizationInstance& instance, const RequestContext& ctx, const std::string& rel,
                  std::function<void(Status)> done);

private:
    // One asynchronous call's rendezvous: whichever of the caller and the completion arrives second
    // continues the walk (inline completions are continued by the caller's loop).
    using Arrival = std::shared_ptr<std::atomic<int>>;
    void loop();
    // One step of the walk; false when it waits for an asynchronous completion.
    bool advance();
    bool arrivedSecond(const Arrival& arrival) { return arrival->fetch_add(1) == 1; }
    void resume();
    bool listCurrentDirectory();
    bool resolveNextName();
    void queueSubdirectories();
    void finish(Status status);
    Status detachAll();

    VirtualizationInstance& instance_;
    RequestContext ctx_;
    std::function<void(Status)> done_;

    std::deque<std::string> toVisit_;
    std::vector<std::string> directories_;  // visited, in walk order
    // The directory being visited.
    std::string current_;
    std::shared_ptr<EnumerationSession> session_;
    std::vector<std::string> missing_;  // provider entries not on disk yet
    size_t nextName_ = 0;
    bool visiting_ = false;
    bool listed_ = false;  // its provider listing arrived (or it has none)
    // The last asynchronous result.
    Status result_;
};

}  // namespace hc::projfs
