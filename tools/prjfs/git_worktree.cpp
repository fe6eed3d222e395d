#include "git_worktree.h"

#include "git_state.h"

#include <string>
#include <vector>

namespace prjfs {
namespace {

constexpr const char* kConfigName = "prjfs-git.config";
constexpr const char* kConfigText =
    "# Written by prjfs git: git compares only what a projected placeholder shows.\n"
    "[core]\n"
    "\tcheckStat = minimal\n"
    "\ttrustCtime = false\n"
    "\tfileMode = true\n"
    "\tsymlinks = true\n";

struct Handles {
    git_repository* repo = nullptr;
    git_tree* tree = nullptr;
    git_index* index = nullptr;
    git_odb* odb = nullptr;
    ~Handles()
    {
        if (index) git_index_free(index);
        if (tree) git_tree_free(tree);
        if (odb) git_odb_free(odb);
        if (repo) git_repository_free(repo);
    }
};

// The stat data every placeholder shows (see the header).
void setProjectedStat(git_index_entry& entry, int64_t epoch, uint64_t size)
{
    entry.mtime.seconds = static_cast<int32_t>(epoch);
    entry.mtime.nanoseconds = 0;
    entry.ctime = entry.mtime;
    entry.file_size = static_cast<uint32_t>(size);
}

hc::Status writeIndex(const GitRevision& revision, const std::string& adminDir, int64_t epoch)
{
    Handles h;
    if (git_repository_open_bare(&h.repo, revision.gitDir().c_str()) != 0) return gitError("open " + revision.gitDir());
    if (git_tree_lookup(&h.tree, h.repo, &revision.tree()) != 0) return gitError("tree");
    if (git_repository_odb(&h.odb, h.repo) != 0) return gitError("object database");
    const std::string path = adminDir + "/index";
    std::remove(path.c_str());
    if (git_index_open(&h.index, path.c_str()) != 0) return gitError("index " + path);
    if (git_index_read_tree(h.index, h.tree) != 0) return gitError("read tree into the index");
    // Version 4 stores each path as the part that differs from the previous one: the index is most of what
    // a new root writes (2.3 MB for libgit2's 15,606 entries in version 2; docs/performance-projfs.md).
    if (git_index_set_version(h.index, 4) != 0) return gitError("index version 4");
    // Copies first: git_index_add replaces (and frees) the entry a pointer would still name.
    std::vector<std::pair<git_index_entry, std::string>> entries;
    const size_t count = git_index_entrycount(h.index);
    entries.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        const git_index_entry* entry = git_index_get_byindex(h.index, i);
        entries.emplace_back(*entry, entry->path);
    }
    for (auto& [entry, entryPath] : entries) {
        entry.path = entryPath.c_str();
        size_t size = 0;
        git_object_t type = GIT_OBJECT_INVALID;
        if (entry.mode == GIT_FILEMODE_COMMIT || git_odb_read_header(&size, &type, h.odb, &entry.id) != 0) size = 0;
        setProjectedStat(entry, epoch, size);
        if (git_index_add(h.index, &entry) != 0) return gitError("index entry " + entryPath);
    }
    if (git_index_write(h.index) != 0) return gitError("write " + path);
    return {};
}

hc::Status includeConfig(const GitRevision& revision, const std::string& adminDir)
{
    auto written = writeTextFileAtomically(adminDir + "/" + kConfigName, kConfigText);
    if (!written.ok()) return written;
    git_config* config = nullptr;
    const std::string common = revision.gitDir() + "/config";
    if (git_config_open_ondisk(&config, common.c_str()) != 0) return gitError("open " + common);
    // Exactly the admin directory: "ADMIN/" would mean "below ADMIN" and not match it.
    const std::string key = "includeIf.gitdir:" + adminDir + ".path";
    const std::string value = adminDir + "/" + kConfigName;
    const int rc = git_config_set_string(config, key.c_str(), value.c_str());
    git_config_free(config);
    if (rc != 0) return gitError("set " + key + " in " + common);
    return {};
}

}  // namespace

hc::Status writeWorktree(const GitRevision& revision, const std::string& root, const std::string& adminDir,
                         int64_t epoch)
{
    for (const auto& [name, text] : {std::pair<std::string, std::string>{"gitdir", root + "/.git\n"},
                                     {"commondir", "../..\n"},
                                     {"HEAD", oidHex(revision.commit()) + "\n"}}) {
        auto written = writeTextFileAtomically(adminDir + "/" + name, text);
        if (!written.ok()) return written;
    }
    auto config = includeConfig(revision, adminDir);
    if (!config.ok()) return config;
    return writeIndex(revision, adminDir, epoch);
}

hc::Status updateWorktree(const GitRevision& revision, const std::string& adminDir, int64_t epoch,
                          const std::vector<TreeChange>& changes)
{
    auto head = writeTextFileAtomically(adminDir + "/HEAD", oidHex(revision.commit()) + "\n");
    if (!head.ok()) return head;
    Handles h;
    const std::string path = adminDir + "/index";
    if (git_index_open(&h.index, path.c_str()) != 0) return gitError("index " + path);
    auto add = [&](const std::string& entryPath, const GitEntry& blob) {
        git_index_entry entry = {};
        entry.path = entryPath.c_str();
        entry.id = blob.id;
        entry.mode = blob.mode;
        setProjectedStat(entry, epoch, blob.size);
        return git_index_add(h.index, &entry) == 0 ? hc::Status{} : hc::Status{gitError("index entry " + entryPath)};
    };
    for (const TreeChange& change : changes) {
        if (change.before) {
            if (change.before->mode == GIT_FILEMODE_TREE) {
                git_index_remove_directory(h.index, change.path.c_str(), 0);
            } else {
                git_index_remove(h.index, change.path.c_str(), 0);
            }
        }
        if (!change.after) continue;
        if (change.after->mode == GIT_FILEMODE_TREE) {
            hc::Status added;
            auto walked = revision.forEachBlob(change.after->id, change.path,
                                               [&](const std::string& blobPath, const GitEntry& blob) {
                                                   if (added.ok()) added = add(blobPath, blob);
                                               });
            if (!walked.ok()) return walked;
            if (!added.ok()) return added;
        } else {
            auto added = add(change.path, *change.after);
            if (!added.ok()) return added;
        }
    }
    if (git_index_write(h.index) != 0) return gitError("write " + path);
    return {};
}

}  // namespace prjfs
