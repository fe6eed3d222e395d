#include "git_checkout.h"

#include "base/hresult.h"
#include "base/strings.h"
#include "git_provider.h"
#include "git_status.h"

#include <algorithm>
#include <map>

namespace prjfs {
namespace {

constexpr PRJ_UPDATE_TYPES kAllowAll =
    PRJ_UPDATE_ALLOW_DIRTY_METADATA | PRJ_UPDATE_ALLOW_DIRTY_DATA | PRJ_UPDATE_ALLOW_TOMBSTONE;

bool isVirtual(HRESULT hr)
{
    return hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) || hr == HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND);
}

std::wstring projfsPath(const std::string& path)
{
    std::string native = path;
    std::replace(native.begin(), native.end(), '/', '\\');
    auto wide = hc::fromUtf8(native);
    return wide.ok() ? *wide : std::wstring();
}

bool isUnderOrSame(const std::string& path, const std::string& directory)
{
    return path == directory || (path.size() > directory.size() && path.compare(0, directory.size(), directory) == 0 &&
                                 path[directory.size()] == '/');
}

hc::Result<std::map<std::string, GitEntry>> byName(const GitRevision& revision, const git_oid& tree)
{
    auto entries = revision.list(tree, /*withSizes=*/false);  // ids and modes are what differ
    if (!entries.ok()) return entries.error();
    std::map<std::string, GitEntry> named;
    for (auto& entry : *entries) {
        auto name = hc::toUtf8(entry.name);
        if (name.ok()) named.emplace(*name, std::move(entry));
    }
    return named;
}

hc::Status diffInto(const GitRevision& revision, const git_oid& from, const git_oid& to, const std::string& prefix,
                    std::vector<TreeChange>& out)
{
    auto before = byName(revision, from);
    if (!before.ok()) return before.error();
    auto after = byName(revision, to);
    if (!after.ok()) return after.error();
    for (const auto& [name, entry] : *before) {
        const std::string path = prefix.empty() ? name : prefix + "/" + name;
        auto it = after->find(name);
        if (it == after->end()) {
            out.push_back({path, entry, std::nullopt});
        } else if (git_oid_cmp(&entry.id, &it->second.id) == 0 && entry.mode == it->second.mode) {
            continue;
        } else if (entry.mode == GIT_FILEMODE_TREE && it->second.mode == GIT_FILEMODE_TREE) {
            auto status = diffInto(revision, entry.id, it->second.id, path, out);
            if (!status.ok()) return status;
        } else {
            out.push_back({path, entry, it->second});
        }
    }
    for (const auto& [name, entry] : *after) {
        if (!before->count(name)) out.push_back({prefix.empty() ? name : prefix + "/" + name, std::nullopt, entry});
    }
    return {};
}

// Applies the changes through one live instance.
class Applier {
public:
    Applier(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context, const GitRevision& from, const GitRevision& to, int64_t time,
            CheckoutReport& report)
        : context_(context), from_(from), to_(to), time_(time), report_(report)
    {
    }

    void apply(const TreeChange& change)
    {
        // A file whose blob changed is updated in place; one whose mode changed (executable bit, file <->
        // symbolic link) is replaced: PrjUpdateFileIfNeeded carries no ExtendedInfo, so no mode or type.
        const bool sameKind = change.before && change.after && !change.before->isDirectory() &&
                              !change.after->isDirectory() && change.before->mode == change.after->mode;
        if (sameKind) {
            update(change.path, *change.after);
            return;
        }
        if (change.before) remove(change.path, *change.before);
        if (change.after) create(change.path, *change.after);
    }

private:
    void fail(const std::string& path, HRESULT hr) { report_.failures.push_back(path + ": " + hc::hresultName(hr)); }

    void update(const std::string& path, const GitEntry& entry)
    {
        PRJ_PLACEHOLDER_INFO info = placeholderInfoFor(entry, time_);
        PRJ_UPDATE_FAILURE_CAUSES cause = PRJ_UPDATE_FAILURE_CAUSE_NONE;
        HRESULT hr = PrjUpdateFileIfNeeded(context_, projfsPath(path).c_str(), &info, sizeof(info), kAllowAll, &cause);
        if (SUCCEEDED(hr)) {
            ++report_.updated;
        } else if (!isVirtual(hr)) {
            fail(path, hr);
        }
    }

    // Files first, then the directory (PrjDeleteFile refuses a non-empty one); items never projected onto
    // disk answer FILE_NOT_FOUND and are skipped.
    void remove(const std::string& path, const GitEntry& entry)
    {
        if (entry.mode == GIT_FILEMODE_TREE) {
            auto children = byName(from_, entry.id);
            if (children.ok()) {
                for (const auto& [name, child] : *children)
                    remove(path + "/" + name, child);
            }
        }
        PRJ_UPDATE_FAILURE_CAUSES cause = PRJ_UPDATE_FAILURE_CAUSE_NONE;
        HRESULT hr = PrjDeleteFile(context_, projfsPath(path).c_str(), kAllowAll, &cause);
        if (SUCCEEDED(hr)) {
            ++report_.deleted;
        } else if (!isVirtual(hr)) {
            fail(path, hr);
        }
    }

    void create(const std::string& path, const GitEntry& entry)
    {
        HRESULT hr = writeEntryPlaceholder(context_, projfsPath(path).c_str(), to_, entry, time_);
        if (SUCCEEDED(hr)) {
            ++report_.created;
        } else if (!isVirtual(hr)) {  // its directory is not on disk: enumeration shows it
            fail(path, hr);
        }
    }

    PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context_;
    const GitRevision& from_;
    const GitRevision& to_;
    int64_t time_;
    CheckoutReport& report_;
};

}  // namespace

hc::Result<std::vector<TreeChange>> diffTrees(const GitRevision& revision, const git_oid& from, const git_oid& to)
{
    std::vector<TreeChange> changes;
    auto status = diffInto(revision, from, to, "", changes);
    if (!status.ok()) return status.error();
    for (TreeChange& change : changes) {  // placeholders and index entries need the new blobs' sizes
        if (change.after && !change.after->isDirectory()) change.after->size = revision.blobSize(change.after->id);
    }
    return changes;
}

hc::Result<CheckoutReport> checkoutRevision(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context, const std::string& root,
                                            const GitRevision& from, const GitRevision& to, int64_t time, bool force,
                                            const std::function<void()>& switchRevision)
{
    CheckoutReport report;
    auto changes = diffTrees(to, from.tree(), to.tree());  // both commits are in the same object database
    if (!changes.ok()) return changes.error();
    report.changedPaths = changes->size();

    auto local = gitStatus(root);
    if (!local.ok()) return local.error();
    for (const StatusLine& line : *local) {
        std::string path = line.path;
        if (!path.empty() && path.back() == '/') path.pop_back();
        const bool inTheWay = std::any_of(changes->begin(), changes->end(), [&](const TreeChange& change) {
            return isUnderOrSame(path, change.path) || isUnderOrSame(change.path, path);
        });
        if (inTheWay) report.conflicts.push_back(line.path);
    }
    if (!report.conflicts.empty() && !force) return report;
    report.conflicts.clear();

    switchRevision();
    Applier applier(context, from, to, time, report);
    for (const TreeChange& change : *changes)
        applier.apply(change);
    report.changes = std::move(*changes);
    return report;
}

}  // namespace prjfs
