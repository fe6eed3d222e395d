// One commit of a local git repository, read through libgit2 for `prjfs git`: resolving ProjFS paths
// (root-relative, '\\'-separated, matched like the file system) to tree entries, listing trees in
// PrjFileNameCompare order, and streaming blobs in chunks.
//
// Lifecycle and threads: open() resolves the revision once; the object is immutable afterwards and
// may be used from any number of threads at once. libgit2 objects are not shared between threads:
// each call leases a repository handle from a small pool (a handle is opened when none is free and
// kept for reuse until the GitRevision is destroyed).
#pragma once

#include "base/result.h"

#include <git2.h>
#include <projectedfslib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace prjfs {

struct GitEntry {
    std::wstring name;  // the tree's spelling
    git_oid id = {};    // blob, tree or (submodule) commit id
    uint32_t mode = 0;  // git file mode (GIT_FILEMODE_*)
    uint64_t size = 0;  // blob size; 0 for directories
    bool isDirectory() const { return mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT; }
};

struct GitResolved {
    std::wstring spelling;  // the tree's spelling, '\\'-separated ("" for the root)
    GitEntry entry;         // for the root: a directory whose id is the commit's tree
};

// Keeps one libgit2 initialisation alive; every GitRevision holds one.
class GitLibrary {
public:
    GitLibrary() { git_libgit2_init(); }
    ~GitLibrary() { git_libgit2_shutdown(); }
    GitLibrary(const GitLibrary&) = delete;
    GitLibrary& operator=(const GitLibrary&) = delete;
};

// "libgit2: <what>: <message of the last libgit2 error>".
hc::Error gitError(const std::string& what);
std::string oidHex(const git_oid& id);

class GitRevision {
public:
    // `repo` is a working tree or a git directory; `rev` anything git rev-parse takes (peeled to a commit).
    static hc::Result<std::shared_ptr<GitRevision>> open(const std::string& repo, const std::string& rev);
    ~GitRevision();
    GitRevision(const GitRevision&) = delete;
    GitRevision& operator=(const GitRevision&) = delete;

    const std::string& gitDir() const { return gitDir_; }
    const git_oid& commit() const { return commit_; }
    const git_oid& tree() const { return tree_; }
    int64_t commitTime() const { return commitTime_; }  // seconds since the epoch

    // Case-insensitive component by component (an exact spelling wins); FILE_NOT_FOUND / PATH_NOT_FOUND.
    hc::Result<GitResolved> resolve(PCWSTR projfsPath) const;
    // Exact, '/'-separated UTF-8 path as git spells it ("" = root); FILE_NOT_FOUND when absent.
    hc::Result<GitEntry> lookup(const std::string& path) const;
    // A tree's entries sorted with PrjFileNameCompare, with blob sizes unless `withSizes` is false (a
    // size costs a header read, for a packed object a walk of its delta chain). Names that cannot be
    // projected (invalid UTF-8, containing '\\') are left out.
    hc::Result<std::vector<GitEntry>> list(const git_oid& treeId, bool withSizes = true) const;
    // A blob's size (0 when it cannot be read).
    uint64_t blobSize(const git_oid& id) const;
    // Every blob path under `treeId` (prefix + '/' + name), depth first.
    hc::Status forEachBlob(const git_oid& treeId, const std::string& prefix,
                           const std::function<void(const std::string& path, const GitEntry&)>& visit) const;

    // Calls `sink(data, offset, length)` with consecutive pieces of at most `chunk` bytes of the blob,
    // starting at `from`; streams loose objects, loads packed ones once (libgit2 cannot stream them).
    // Stops early (returning `sink`'s failure) when `sink` fails.
    using BlobSink = std::function<HRESULT(const void* data, uint64_t offset, size_t length)>;
    HRESULT readBlob(const git_oid& id, uint64_t from, size_t chunk, const BlobSink& sink) const;

private:
    class Lease;
    GitRevision() = default;
    git_repository* acquire() const;
    void release(git_repository* repo) const;

    GitLibrary library_;
    std::string gitDir_;
    git_oid commit_ = {};
    git_oid tree_ = {};
    int64_t commitTime_ = 0;
    mutable std::mutex handlesMutex_;
    mutable std::vector<git_repository*> handles_;  // idle handles
};

}  // namespace prjfs
