#include "hcs/container/container_backend.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "base/hresult.h"
#include "base/log.h"
#include "hcs/container/oci_spec.h"
#include "hcs/container/rootfs.h"
#include "hcs/ipc/unix_socket.h"

namespace hc::hcs::container {

using nlohmann::json;

namespace {

std::string readText(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

uint64_t readNumber(const std::string& path)
{
    return std::strtoull(readText(path).c_str(), nullptr, 10);
}

// "key value" lines (memory.stat, cpu.stat, memory.oom_control).
uint64_t statField(const std::string& text, const std::string& key)
{
    std::istringstream in(text);
    std::string k;
    uint64_t v = 0;
    while (in >> k >> v) {
        if (k == key) return v;
    }
    return 0;
}

Status writeBundle(const std::string& bundle, const json& spec)
{
    if (mkdir(bundle.c_str(), 0700) != 0 && errno != EEXIST) {
        return lastErrnoError("cannot create the bundle directory " + bundle);
    }
    std::string path = bundle + "/config.json";
    std::ofstream out(path, std::ios::trunc);
    out << spec.dump(1);
    out.close();
    if (!out) return makeError(E_FAIL, "cannot write " + path);
    chmod(path.c_str(), 0600);
    return {};
}

}  // namespace

ContainerBackend::ContainerBackend(EventLoop& loop, BackendOptions options) : loop_(loop), options_(std::move(options))
{
}

Result<const OciRuntime*> ContainerBackend::runtime()
{
    if (!runtime_) {
        std::string base = options_.stateDirectory + "/containers";
        mkdir(base.c_str(), 0700);
        mkdir((base + "/rootfs").c_str(), 0700);
        runtime_ = probeRuntime(options_.runtime, base + "/runtime");
        if (*runtime_) {
            HC_LOG(
                Info, "hcsd",
                "OCI runtime: " + (*runtime_)->binary + " (" + (*runtime_)->version + "; " + (*runtime_)->reason + ")");
        }
    }
    if (!*runtime_) return runtime_->error();
    return &runtime_->value();
}

ContainerPaths ContainerBackend::pathsOf(const SystemIdentity& system) const
{
    ContainerPaths p;
    p.containerId = containerId(system.runtimeId);
    p.bundle = system.directory + "/bundle";
    p.rootfs = options_.stateDirectory + "/containers/rootfs/" + p.containerId;
    p.logPath = system.logPath;
    p.cgroupsPath = "/hostcompute/" + p.containerId;
    return p;
}

Result<std::unique_ptr<vm::Vm>> ContainerBackend::launch(const SystemIdentity& system,
                                                         const schema::ContainerConfig& config,
                                                         vm::VmCallbacks callbacks)
{
    if (geteuid() != 0) {
        return makeError(E_ACCESSDENIED,
                         "Container: process isolation needs hcsd to run as root (overlay mounts, namespaces and "
                         "cgroups); this hcsd runs as uid " +
                             std::to_string(geteuid()));
    }
    auto rt = runtime();
    if (!rt) return makeError(rt.error().hr, "Container: " + rt.error().message);
    if (access(options_.agentBinary.c_str(), X_OK) != 0) {
        return makeError(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND),
                         "Container: the container init (hcs-guest) is missing at " + options_.agentBinary +
                             " (hcsd --container-init PATH)");
    }
    if (Status st = checkMappedDirectories(config, options_.privatePaths); !st) return st.error();
    std::string socketPath = system.directory + "/agent.sock";
    if (socketPath.size() >= sizeof(sockaddr_un{}.sun_path)) {
        return makeError(E_INVALIDARG, "Container: the init's socket path " + socketPath +
                                           " is longer than a Unix socket path may be (use a shorter state directory)");
    }
    ContainerPaths paths = pathsOf(system);
    BundleSettings settings;
    settings.rootfs = paths.rootfs;
    settings.agentBinary = options_.agentBinary;
    settings.cgroupsPath = paths.cgroupsPath;
    settings.hostName = system.id.size() <= 64 ? system.id : system.runtimeId;
    for (char& c : settings.hostName) {
        if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '-';
    }
    settings.hostCpus = std::max(1u, std::thread::hardware_concurrency());
    if (Status st = writeBundle(paths.bundle, buildOciSpec(config, settings)); !st) return st.error();
    auto listener = listenUnixSocket(socketPath, 4);
    if (!listener) return listener.error();
    UniqueFd listenFd(*listener);
    if (Status st = mountRootfs(config, paths.rootfs); !st) {
        unlink(socketPath.c_str());
        return st.error();
    }
    return std::unique_ptr<vm::Vm>(
        ContainerVm::create(loop_, **rt, std::move(paths), std::move(listenFd), std::move(callbacks)));
}

std::optional<ContainerBackend::Found> ContainerBackend::find(const std::string& runtimeId)
{
    auto rt = runtime();
    if (!rt) return std::nullopt;
    auto state = runRuntimeSync((*rt)->command({"state", containerId(runtimeId)}));
    if (!state) return std::nullopt;
    auto doc = json::parse(*state, nullptr, false);
    if (!doc.is_object()) return std::nullopt;
    std::string status = doc.value("status", "");
    pid_t pid = doc.value("pid", 0);
    if (pid <= 0 || (status != "created" && status != "running" && status != "paused")) return std::nullopt;
    return Found{pid, status != "created"};
}

Result<std::unique_ptr<vm::Vm>> ContainerBackend::adopt(const SystemIdentity& system, const Found& found,
                                                        vm::VmCallbacks callbacks)
{
    auto rt = runtime();
    if (!rt) return rt.error();
    auto vm = ContainerVm::adopt(loop_, **rt, pathsOf(system), found.pid, found.started, std::move(callbacks));
    if (!vm) return vm.error();
    return std::unique_ptr<vm::Vm>(std::move(*vm));
}

void ContainerBackend::discard(const std::string& runtimeId)
{
    auto rt = runtime();
    if (rt) {
        auto deleted = runRuntimeSync((*rt)->command({"delete", "--force", containerId(runtimeId)}));
        if (!deleted)
            HC_LOG(Info, "hcsd", "discarding container " + containerId(runtimeId) + ": " + deleted.error().message);
    }
    unmountRootfs(options_.stateDirectory + "/containers/rootfs/" + containerId(runtimeId));
}

Result<ContainerStats> ContainerBackend::statistics(const std::string& runtimeId) const
{
    const std::string group = "/hostcompute/" + containerId(runtimeId);
    ContainerStats s;
    const std::string cpuacct = "/sys/fs/cgroup/cpuacct" + group, memory = "/sys/fs/cgroup/memory" + group;
    if (access(cpuacct.c_str(), F_OK) == 0) {  // cgroup v1 (nanoseconds, bytes)
        s.totalRuntime100ns = readNumber(cpuacct + "/cpuacct.usage") / 100;
        s.userRuntime100ns = readNumber(cpuacct + "/cpuacct.usage_user") / 100;
        s.kernelRuntime100ns = readNumber(cpuacct + "/cpuacct.usage_sys") / 100;
        s.memoryUsageBytes = readNumber(memory + "/memory.usage_in_bytes");
        s.memoryPeakBytes = readNumber(memory + "/memory.max_usage_in_bytes");
        s.memoryPrivateBytes = statField(readText(memory + "/memory.stat"), "total_rss");
        s.oomKills = statField(readText(memory + "/memory.oom_control"), "oom_kill");
        return s;
    }
    const std::string unified = "/sys/fs/cgroup" + group;
    if (access(unified.c_str(), F_OK) != 0) {
        return makeError(HCS_E_SYSTEM_NOT_FOUND, "the container's cgroup " + group + " is gone");
    }
    std::string cpu = readText(unified + "/cpu.stat");  // microseconds
    s.totalRuntime100ns = statField(cpu, "usage_usec") * 10;
    s.userRuntime100ns = statField(cpu, "user_usec") * 10;
    s.kernelRuntime100ns = statField(cpu, "system_usec") * 10;
    s.memoryUsageBytes = readNumber(unified + "/memory.current");
    s.memoryPeakBytes = readNumber(unified + "/memory.peak");
    s.memoryPrivateBytes = statField(readText(unified + "/memory.stat"), "anon");
    s.oomKills = statField(readText(unified + "/memory.events"), "oom_kill");
    return s;
}

json ContainerBackend::properties()
{
    auto rt = runtime();
    if (!rt) return {{"Available", false}, {"Error", rt.error().message}};
    return {{"Available", true},
            {"Runtime", (*rt)->binary},
            {"Version", (*rt)->version},
            {"Reason", (*rt)->reason},
            {"Init", options_.agentBinary}};
}

}  // namespace hc::hcs::container
