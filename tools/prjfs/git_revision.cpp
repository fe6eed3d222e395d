#include "git_revision.h"
#include "projfs_path.h"

#include "base/strings.h"

#include <algorithm>
#include <cstring>

namespace prjfs {
namespace {

template <typename T, void (*Free)(T*)>
struct GitPtr {
    T* p = nullptr;
    GitPtr() = default;
    GitPtr(const GitPtr&) = delete;
    GitPtr& operator=(const GitPtr&) = delete;
    ~GitPtr()
    {
        if (p) Free(p);
    }
};

using TreePtr = GitPtr<git_tree, git_tree_free>;
using TreeEntryPtr = GitPtr<git_tree_entry, git_tree_entry_free>;
using ObjectPtr = GitPtr<git_object, git_object_free>;
using OdbPtr = GitPtr<git_odb, git_odb_free>;
using StreamPtr = GitPtr<git_odb_stream, git_odb_stream_free>;
using BlobPtr = GitPtr<git_blob, git_blob_free>;
using RepoPtr = GitPtr<git_repository, git_repository_free>;

GitEntry entryFrom(git_odb* odb, const git_tree_entry* item)
{
    GitEntry entry;
    entry.id = *git_tree_entry_id(item);
    entry.mode = static_cast<uint32_t>(git_tree_entry_filemode(item));
    if (odb && !entry.isDirectory()) {
        size_t size = 0;
        git_object_t type = GIT_OBJECT_INVALID;
        if (git_odb_read_header(&size, &type, odb, &entry.id) == 0) entry.size = size;
    }
    return entry;
}

const HRESULT kNotFound = HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
const HRESULT kPathNotFound = HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND);

}  // namespace

hc::Error gitError(const std::string& what)
{
    const git_error* last = git_error_last();
    return hc::makeError(E_FAIL, "libgit2: " + what + ": " + (last && last->message ? last->message : "unknown error"));
}

std::string oidHex(const git_oid& id)
{
    char text[GIT_OID_HEXSZ + 1] = {};
    git_oid_tostr(text, sizeof(text), &id);
    return text;
}

// A repository handle borrowed from the pool for the length of one call.
class GitRevision::Lease {
public:
    explicit Lease(const GitRevision& owner) : owner_(owner), repo_(owner.acquire()) {}
    ~Lease()
    {
        if (repo_) owner_.release(repo_);
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    git_repository* get() const { return repo_; }

private:
    const GitRevision& owner_;
    git_repository* repo_;
};

git_repository* GitRevision::acquire() const
{
    {
        std::lock_guard lock(handlesMutex_);
        if (!handles_.empty()) {
            git_repository* repo = handles_.back();
            handles_.pop_back();
            return repo;
        }
    }
    git_repository* repo = nullptr;
    if (git_repository_open_bare(&repo, gitDir_.c_str()) != 0) return nullptr;
    return repo;
}

void GitRevision::release(git_repository* repo) const
{
    std::lock_guard lock(handlesMutex_);
    handles_.push_back(repo);
}

GitRevision::~GitRevision()
{
    for (git_repository* repo : handles_)
        git_repository_free(repo);
}

hc::Result<std::shared_ptr<GitRevision>> GitRevision::open(const std::string& repo, const std::string& rev)
{
    std::shared_ptr<GitRevision> revision(new GitRevision());
    RepoPtr handle;
    if (git_repository_open_ext(&handle.p, repo.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) != 0)
        return gitError("open repository " + repo);
    revision->gitDir_ = git_repository_path(handle.p);
    while (revision->gitDir_.size() > 1 && revision->gitDir_.back() == '/')
        revision->gitDir_.pop_back();
    ObjectPtr object;
    if (git_revparse_single(&object.p, handle.p, rev.c_str()) != 0) return gitError("revision " + rev);
    ObjectPtr commit;
    if (git_object_peel(&commit.p, object.p, GIT_OBJECT_COMMIT) != 0) return gitError("commit of " + rev);
    auto* asCommit = reinterpret_cast<git_commit*>(commit.p);
    revision->commit_ = *git_commit_id(asCommit);
    revision->tree_ = *git_commit_tree_id(asCommit);
    revision->commitTime_ = git_commit_time(asCommit);
    return revision;
}

uint64_t GitRevision::blobSize(const git_oid& id) const
{
    Lease lease(*this);
    OdbPtr odb;
    if (!lease.get() || git_repository_odb(&odb.p, lease.get()) != 0) return 0;
    size_t size = 0;
    git_object_t type = GIT_OBJECT_INVALID;
    return git_odb_read_header(&size, &type, odb.p, &id) == 0 ? size : 0;
}

hc::Result<std::vector<GitEntry>> GitRevision::list(const git_oid& treeId, bool withSizes) const
{
    Lease lease(*this);
    if (!lease.get()) return gitError("open " + gitDir_);
    TreePtr tree;
    if (git_tree_lookup(&tree.p, lease.get(), &treeId) != 0) return gitError("tree " + oidHex(treeId));
    OdbPtr odb;
    if (git_repository_odb(&odb.p, lease.get()) != 0) return gitError("object database");
    std::vector<GitEntry> entries;
    const size_t count = git_tree_entrycount(tree.p);
    entries.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        const git_tree_entry* item = git_tree_entry_byindex(tree.p, i);
        auto name = hc::fromUtf8(git_tree_entry_name(item));
        if (!name.ok() || name->find(L'\\') != std::wstring::npos) continue;
        GitEntry entry = entryFrom(withSizes ? odb.p : nullptr, item);
        entry.name = std::move(*name);
        entries.push_back(std::move(entry));
    }
    std::sort(entries.begin(), entries.end(), [](const GitEntry& a, const GitEntry& b) {
        return PrjFileNameCompare(a.name.c_str(), b.name.c_str()) < 0;
    });
    return entries;
}

hc::Result<GitResolved> GitRevision::resolve(PCWSTR projfsPath) const
{
    GitResolved resolved;
    resolved.entry.id = tree_;
    resolved.entry.mode = GIT_FILEMODE_TREE;
    const auto parts = splitProjfsPath(projfsPath);
    if (parts.empty()) return resolved;
    Lease lease(*this);
    if (!lease.get()) return gitError("open " + gitDir_);
    // One tree object per component: exact name first (a binary search), then a case-insensitive
    // scan; only the last component's blob header is read (for its size).
    TreePtr tree;
    if (git_tree_lookup(&tree.p, lease.get(), &tree_) != 0) return gitError("tree " + oidHex(tree_));
    for (size_t i = 0; i < parts.size(); ++i) {
        const bool last = i + 1 == parts.size();
        const HRESULT notFound = last ? kNotFound : kPathNotFound;
        auto utf8 = hc::toUtf8(parts[i]);
        const git_tree_entry* item = utf8.ok() ? git_tree_entry_byname(tree.p, utf8->c_str()) : nullptr;
        std::wstring spelling = parts[i];
        if (!item) {
            const size_t count = git_tree_entrycount(tree.p);
            for (size_t k = 0; k < count && !item; ++k) {
                const git_tree_entry* candidate = git_tree_entry_byindex(tree.p, k);
                auto name = hc::fromUtf8(git_tree_entry_name(candidate));
                if (name.ok() && PrjFileNameCompare(name->c_str(), parts[i].c_str()) == 0) {
                    item = candidate;
                    spelling = std::move(*name);
                }
            }
        }
        if (!item) return hc::makeError(notFound, "no such entry");
        if (!resolved.spelling.empty()) resolved.spelling.push_back(L'\\');
        resolved.spelling += spelling;
        resolved.entry.name = spelling;
        resolved.entry.id = *git_tree_entry_id(item);
        resolved.entry.mode = static_cast<uint32_t>(git_tree_entry_filemode(item));
        if (last) break;
        if (resolved.entry.mode != GIT_FILEMODE_TREE) return hc::makeError(kPathNotFound, "not a directory");
        TreePtr next;
        if (git_tree_lookup(&next.p, lease.get(), &resolved.entry.id) != 0) return gitError("tree");
        std::swap(tree.p, next.p);
    }
    if (!resolved.entry.isDirectory()) {
        OdbPtr odb;
        if (git_repository_odb(&odb.p, lease.get()) != 0) return gitError("object database");
        size_t size = 0;
        git_object_t type = GIT_OBJECT_INVALID;
        if (git_odb_read_header(&size, &type, odb.p, &resolved.entry.id) == 0) resolved.entry.size = size;
    }
    return resolved;
}

hc::Result<GitEntry> GitRevision::lookup(const std::string& path) const
{
    GitEntry entry;
    entry.id = tree_;
    entry.mode = GIT_FILEMODE_TREE;
    if (path.empty()) return entry;
    Lease lease(*this);
    if (!lease.get()) return gitError("open " + gitDir_);
    TreePtr root;
    if (git_tree_lookup(&root.p, lease.get(), &tree_) != 0) return gitError("tree " + oidHex(tree_));
    TreeEntryPtr item;
    if (git_tree_entry_bypath(&item.p, root.p, path.c_str()) != 0)
        return hc::makeError(kNotFound, "not in tree: " + path);
    OdbPtr odb;
    if (git_repository_odb(&odb.p, lease.get()) != 0) return gitError("object database");
    entry = entryFrom(odb.p, item.p);
    auto name = hc::fromUtf8(git_tree_entry_name(item.p));
    if (name.ok()) entry.name = std::move(*name);
    return entry;
}

hc::Status GitRevision::forEachBlob(const git_oid& treeId, const std::string& prefix,
                                    const std::function<void(const std::string&, const GitEntry&)>& visit) const
{
    auto entries = list(treeId);
    if (!entries.ok()) return entries.error();
    for (const GitEntry& entry : *entries) {
        auto name = hc::toUtf8(entry.name);
        if (!name.ok()) continue;
        const std::string path = prefix.empty() ? *name : prefix + "/" + *name;
        if (entry.mode == GIT_FILEMODE_TREE) {
            auto status = forEachBlob(entry.id, path, visit);
            if (!status.ok()) return status;
        } else if (!entry.isDirectory()) {
            visit(path, entry);
        }
    }
    return {};
}

HRESULT GitRevision::readBlob(const git_oid& id, uint64_t from, size_t chunk, const BlobSink& sink) const
{
    Lease lease(*this);
    if (!lease.get()) return E_FAIL;
    OdbPtr odb;
    if (git_repository_odb(&odb.p, lease.get()) != 0) return E_FAIL;

    // Loose objects can be inflated piece by piece; the pack backend has no read stream.
    StreamPtr stream;
    size_t size = 0;
    git_object_t type = GIT_OBJECT_INVALID;
    if (git_odb_open_rstream(&stream.p, &size, &type, odb.p, &id) == 0) {
        if (type != GIT_OBJECT_BLOB) return kNotFound;
        std::vector<char> piece(chunk);
        uint64_t offset = 0;
        while (offset < size) {
            size_t filled = 0;
            while (filled < chunk && offset + filled < size) {
                int n = git_odb_stream_read(stream.p, piece.data() + filled, chunk - filled);
                if (n <= 0) return HRESULT_FROM_WIN32(ERROR_IO_DEVICE);
                filled += static_cast<size_t>(n);
            }
            const uint64_t end = offset + filled;
            if (end > from) {
                const size_t skip = offset < from ? static_cast<size_t>(from - offset) : 0;
                HRESULT hr = sink(piece.data() + skip, offset + skip, filled - skip);
                if (FAILED(hr)) return hr;
            }
            offset = end;
        }
        return S_OK;
    }

    BlobPtr blob;
    if (git_blob_lookup(&blob.p, lease.get(), &id) != 0) return kNotFound;
    const auto* data = static_cast<const char*>(git_blob_rawcontent(blob.p));
    const uint64_t total = static_cast<uint64_t>(git_blob_rawsize(blob.p));
    for (uint64_t offset = from; offset < total;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, total - offset));
        HRESULT hr = sink(data + offset, offset, n);
        if (FAILED(hr)) return hr;
        offset += n;
    }
    return S_OK;
}

}  // namespace prjfs
