// Makes a `prjfs git` root a linked git worktree that git can work in without hydrating anything:
//
//   ROOT/.git                        "gitdir: ADMIN" (the marker GitState reads too)
//   ADMIN = GITDIR/worktrees/NAME-HASH
//     gitdir, commondir, HEAD        what `git worktree add` writes (HEAD detached at the commit)
//     index                          (version 4) the commit's tree with the stat data the projection shows:
//                                    mtime = ctime = the root's epoch, size = the blob's size
//     prjfs-git.config               core.checkStat=minimal, core.trustCtime=false, core.fileMode=true,
//                                    core.symlinks=true — included from GITDIR/config only for this
//                                    worktree ([includeIf "gitdir:ADMIN"])
//
// With those settings git compares only whole-second mtime, size, the executable bit and the file type,
// which every placeholder matches (modes and links come through the ExtendedInfo chain)
// (see docs/prjfs-git.md), so `git status` reads the contents of files the user changed only.
#pragma once

#include "base/result.h"
#include "git_checkout.h"
#include "git_revision.h"

#include <cstdint>
#include <string>

namespace prjfs {

// The files above, for a new root (index included).
hc::Status writeWorktree(const GitRevision& revision, const std::string& root, const std::string& adminDir,
                         int64_t epoch);
// HEAD, and the index entries of the changed paths only, after a checkout to `revision`.
hc::Status updateWorktree(const GitRevision& revision, const std::string& adminDir, int64_t epoch,
                          const std::vector<TreeChange>& changes);

}  // namespace prjfs
