// What `prjfs git` remembers about a virtualization root between runs, kept outside the root (so that
// writing it never goes through the root's own mount):
//
//   ROOT/.git                    "gitdir: ADMIN_DIR" (written before the first mount; a plain local
//                                file that the projection never contains)
//   ADMIN_DIR = GITDIR/worktrees/NAME-HASH  (also a linked worktree's admin directory: git_worktree.h)
//     state                      "repo GITDIR", "commit OID", "epoch SECONDS" (replaced atomically);
//                                the epoch is every placeholder's time, fixed when the root is made
//     touched                    root-relative '/'-separated paths that notifications reported as
//                                created, modified, deleted or renamed (appended, one per line)
//
// Lifecycle and threads: GitState is loaded or created by one thread; record() may then be called from
// any thread (it serialises on its mutex); the destructor closes the touched log.
#pragma once

#include "base/result.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace prjfs {

constexpr const char* kMarkerName = ".git";

class GitState {
public:
    // Reads ROOT/.git and the admin directory's files. FILE_NOT_FOUND when ROOT has no marker.
    static hc::Result<std::unique_ptr<GitState>> load(const std::string& root);
    // Creates the admin directory and the marker for a new root (ROOT must not be mounted).
    static hc::Result<std::unique_ptr<GitState>> create(const std::string& root, const std::string& gitDir,
                                                        const std::string& commit, int64_t epoch);
    ~GitState();
    GitState(const GitState&) = delete;
    GitState& operator=(const GitState&) = delete;

    const std::string& adminDir() const { return adminDir_; }
    const std::string& gitDir() const { return gitDir_; }
    int64_t epoch() const { return epoch_; }
    std::string commit() const;
    // Replaces the projected commit (after a checkout).
    hc::Status setCommit(const std::string& commit);

    // Adds `path` to the touched set (and the log) if it is new there.
    hc::Status record(const std::string& path);
    std::set<std::string> touched() const;
    // Keeps only `paths` (after a checkout made the others equal to the new revision).
    hc::Status replaceTouched(const std::set<std::string>& paths);

private:
    GitState() = default;
    hc::Status writeState() const;
    hc::Status openLog();

    std::string adminDir_;
    std::string gitDir_;
    int64_t epoch_ = 0;
    mutable std::mutex mutex_;
    std::string commit_;
    std::set<std::string> touched_;
    int logFd_ = -1;
};

// Absolute, without a trailing '/' ("" when it cannot be resolved).
std::string absolutePath(const std::string& path);
hc::Result<std::string> readTextFile(const std::string& path);
// Through a temporary file and rename(), so a reader sees the old or the new text, never a part.
hc::Status writeTextFileAtomically(const std::string& path, const std::string& text);
// In "key value" lines, the value of `key` ("" when absent).
std::string field(const std::string& text, const std::string& key);

}  // namespace prjfs
