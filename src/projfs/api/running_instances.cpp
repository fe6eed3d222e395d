#include "projfs/api/running_instances.h"

#include <map>
#include <mutex>

namespace hc::projfs {
namespace {

std::mutex g_mutex;
uintptr_t g_nextToken = 0x1000;
std::map<uintptr_t, std::shared_ptr<RunningInstance>> g_instances;

bool contains(const std::string& outer, const std::string& inner)
{
    if (outer == "/") return true;
    return inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 && inner[outer.size()] == '/';
}

}  // namespace

Result<std::pair<std::shared_ptr<RunningInstance>, PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT>> reserveRoot(
    const std::string& rootPath)
{
    std::lock_guard lock(g_mutex);
    for (const auto& [token, running] : g_instances) {
        if (running->rootPath == rootPath) {
            return makeError(HRESULT_FROM_WIN32(ERROR_ALREADY_INITIALIZED),
                             "'" + rootPath + "' is already being virtualized");
        }
        if (contains(running->rootPath, rootPath) || contains(rootPath, running->rootPath)) {
            return makeError(HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_INVALID_OPERATION),
                             "'" + rootPath + "' overlaps the running root '" + running->rootPath + "'");
        }
    }
    auto entry = std::make_shared<RunningInstance>();
    entry->rootPath = rootPath;
    uintptr_t token = g_nextToken;
    g_nextToken += 0x10;
    g_instances.emplace(token, entry);
    return std::make_pair(entry, reinterpret_cast<PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT>(token));
}

void publishInstance(const std::shared_ptr<RunningInstance>& entry, std::unique_ptr<VirtualizationInstance> instance,
                     std::unique_ptr<ProjectedFuse> fuse)
{
    std::lock_guard lock(g_mutex);
    entry->fuse = std::move(fuse);
    entry->instance = std::move(instance);
}

std::shared_ptr<RunningInstance> findInstance(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context)
{
    std::lock_guard lock(g_mutex);
    auto it = g_instances.find(reinterpret_cast<uintptr_t>(context));
    if (it == g_instances.end() || !it->second->instance) return nullptr;
    return it->second;
}

std::shared_ptr<RunningInstance> releaseInstance(PRJ_NAMESPACE_VIRTUALIZATION_CONTEXT context)
{
    std::lock_guard lock(g_mutex);
    auto it = g_instances.find(reinterpret_cast<uintptr_t>(context));
    if (it == g_instances.end()) return nullptr;
    auto entry = it->second;
    g_instances.erase(it);
    return entry;
}

}  // namespace hc::projfs
