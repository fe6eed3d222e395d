#include "hcs/container/rootfs.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/hresult.h"
#include "hcs/vm/host_files.h"

namespace hc::hcs::container {

namespace {

constexpr size_t kMaxMountOptions = 4000;  // mount(2) copies one page of options

Status pathError(const std::string& field, const std::string& what)
{
    return makeError(E_INVALIDARG, "Container." + field + ": " + what);
}

// overlayfs splits lowerdir at ':' and mount options at ','; a backslash escapes them, so all three are
// refused rather than escaped (layer directories are hcsd's or hcsctl's own, named by digests).
bool safeForOverlay(const std::string& path)
{
    return path.find_first_of(":,\\") == std::string::npos;
}

Status ensureDirectory(const std::string& path, mode_t mode)
{
    if (mkdir(path.c_str(), mode) == 0 || errno == EEXIST) {
        struct stat st {};
        if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
        return makeError(E_INVALIDARG, "\"" + path + "\" is not a directory");
    }
    return makeError(HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED), "cannot create \"" + path + "\": " + strerror(errno));
}

bool inside(const std::string& path, const std::string& directory)
{
    return path == directory || (path.size() > directory.size() && path.compare(0, directory.size(), directory) == 0 &&
                                 path[directory.size()] == '/');
}

}  // namespace

Status mountRootfs(const schema::ContainerConfig& config, const std::string& target)
{
    std::string lower;
    for (size_t i = 0; i < config.layers.size(); ++i) {
        const std::string field = "Storage.Layers[" + std::to_string(i) + "].Path";
        const std::string& path = config.layers[i].path;
        if (!safeForOverlay(path)) return pathError(field, "\"" + path + "\" contains ':', ',' or '\\'");
        if (Status st = vm::checkShareDirectory(path, true); !st) return pathError(field, st.error().message);
        if (!lower.empty()) lower += ':';
        lower += path;
    }
    const std::string& scratch = config.scratchPath;
    if (!safeForOverlay(scratch)) return pathError("Storage.Path", "\"" + scratch + "\" contains ':', ',' or '\\'");
    if (Status st = vm::checkShareDirectory(scratch, false); !st) return pathError("Storage.Path", st.error().message);
    const std::string upper = scratch + "/upper", work = scratch + "/work";
    if (Status st = ensureDirectory(upper, 0755); !st) return pathError("Storage.Path", st.error().message);
    if (Status st = ensureDirectory(work, 0700); !st) return pathError("Storage.Path", st.error().message);
    if (Status st = ensureDirectory(target, 0755); !st) return st;
    std::string options = "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work;
    if (options.size() > kMaxMountOptions) {
        return pathError("Storage.Layers", "the layer paths are too long together for one overlay mount (" +
                                               std::to_string(options.size()) + " bytes of options)");
    }
    if (mount("overlay", target.c_str(), "overlay", MS_NODEV, options.c_str()) != 0) {
        int err = errno;
        rmdir(target.c_str());
        HRESULT hr = err == EPERM ? E_ACCESSDENIED : E_FAIL;
        return makeError(hr, "cannot mount the container's overlay (Container.Storage) at " + target + ": " +
                                 strerror(err) +
                                 (err == EPERM ? " (process isolation needs hcsd to run as root)"
                                               : " (is Storage.Path on a file system overlayfs can write to?)"));
    }
    return {};
}

void unmountRootfs(const std::string& target)
{
    umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    rmdir(target.c_str());
}

Status checkMappedDirectories(const schema::ContainerConfig& config, const std::vector<std::string>& privatePaths)
{
    for (size_t i = 0; i < config.mappedDirectories.size(); ++i) {
        const auto& dir = config.mappedDirectories[i];
        const std::string field = "MappedDirectories[" + std::to_string(i) + "].HostPath";
        char resolved[PATH_MAX];
        if (!realpath(dir.hostPath.c_str(), resolved)) {
            return makeError(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND),
                             "Container." + field + ": \"" + dir.hostPath + "\": " + strerror(errno));
        }
        if (Status st = vm::checkShareDirectory(resolved, dir.readOnly); !st) {
            return makeError(st.hr(), "Container." + field + ": " + st.error().message);
        }
        for (const auto& privatePath : privatePaths) {
            if (privatePath.empty()) continue;
            if (inside(resolved, privatePath) || inside(privatePath, resolved)) {
                return makeError(E_ACCESSDENIED, "Container." + field + ": \"" + dir.hostPath +
                                                     "\" holds or lies inside hcsd's private " + privatePath);
            }
        }
    }
    return {};
}

}  // namespace hc::hcs::container
