// Switching a virtualization root from one commit to another (`prjfs git checkout`): only the paths
// whose tree entry changed are touched — PrjUpdateFileIfNeeded for changed files, PrjDeleteFile for
// removed ones, PrjWritePlaceholderInfo for added ones whose directory is on disk. Items that were never
// projected onto disk need nothing (the next enumeration or lookup sees the new tree); unchanged files
// stay as they are, hydrated or not. Paths the user changed (as `prjfs git status` reports them) that
// the switch would touch are conflicts: nothing is changed and they are named, unless `force`.
#pragma once

#include "base/result.h"
#include "git_revision.h"

#include <projectedfslib.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace prjfs {

struct TreeChange {
    std::string path;                // '/'-separated
    std::optional<GitEntry> before;  // absent: added
    std::optional<GitEntry> after;   // absent: removed
};

// Entries that differ between two trees (id or mode), recursing into trees present on both sides.
hc::Result<std::vector<TreeChange>> diffTrees(const GitRevision& revision, const git_oid& from, const git_oid& to);

struct CheckoutReport {
    std::vector<TreeChange> changes;     // what differs between the two commits
    std::vector<std::string> conflicts;  // local changes in the way (nothing was changed)
    std::vector<std::string> failures;   // "path: HRESULT" for items the runtime refused
    size_t updated = 0, deleted = 0, created = 0, changedPaths = 0;
};

// Runs against a live instance `context` on `root`; placeholders get `time` (the root's epoch). `switchRevision` is
// called once the conflicts are cleared and before the disk is changed, so callbacks from then on answer from the new
// tree.
hc::Result<CheckoutReport> checkoutRevision(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context, const std::string& root,
                                            const GitRevision& from, const GitRevision& to, int64_t time, bool force,
                                            const std::function<void()>& switchRevision);

}  // namespace prjfs
