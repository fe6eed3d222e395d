#include "hcs/container/oci_spec.h"

#include <algorithm>

namespace hc::hcs::container {

using nlohmann::json;

const char* const kDefaultCapabilities[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
    nullptr,
};

namespace {

constexpr uint64_t kCpuPeriodUs = 100000;
constexpr uint64_t kMaxCpuShares = 262144;
constexpr uint64_t kMinCpuShares = 2;
constexpr uint32_t kProcessorScale = 10000;

json capabilities()
{
    json list = json::array();
    for (const char* const* c = kDefaultCapabilities; *c; ++c)
        list.push_back(*c);
    return {{"bounding", list}, {"effective", list}, {"permitted", list}};
}

json mounts(const schema::ContainerConfig& config, const BundleSettings& settings)
{
    json m = json::array({
        {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"},
         {"type", "tmpfs"},
         {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"},
         {"type", "devpts"},
         {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
        {{"destination", "/dev/shm"},
         {"type", "tmpfs"},
         {"source", "shm"},
         {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
        {{"destination", "/dev/mqueue"},
         {"type", "mqueue"},
         {"source", "mqueue"},
         {"options", {"nosuid", "noexec", "nodev"}}},
        {{"destination", "/sys"},
         {"type", "sysfs"},
         {"source", "sysfs"},
         {"options", {"nosuid", "noexec", "nodev", "ro"}}},
        {{"destination", "/sys/fs/cgroup"},
         {"type", "cgroup"},
         {"source", "cgroup"},
         {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}},
        {{"destination", kAgentPathInContainer},
         {"type", "bind"},
         {"source", settings.agentBinary},
         {"options", {"bind", "ro", "nosuid", "nodev"}}},
    });
    // A mapped directory is a recursive bind mount; symlinks inside it resolve in the container's
    // root (the bind gives no way back to the host's tree), and the runtime resolves the
    // destination inside the root file system.
    for (const auto& dir : config.mappedDirectories) {
        json options = {"rbind", "rprivate", "nosuid", "nodev"};
        options.push_back(dir.readOnly ? "ro" : "rw");
        m.push_back(
            {{"destination", dir.containerPath}, {"type", "bind"}, {"source", dir.hostPath}, {"options", options}});
    }
    return m;
}

json resources(const schema::ContainerConfig& config, const BundleSettings& settings)
{
    json r{{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
    if (config.memorySizeInMB) {
        int64_t bytes = static_cast<int64_t>(*config.memorySizeInMB * 1024 * 1024);
        // Swap included: a container over its limit is OOM-killed rather than swapped out.
        r["memory"] = {{"limit", bytes}, {"swap", bytes}};
    }
    if (config.processorCount) {
        r["cpu"] = {{"period", kCpuPeriodUs}, {"quota", static_cast<int64_t>(*config.processorCount * kCpuPeriodUs)}};
    } else if (config.processorMaximum) {
        uint64_t quota = kCpuPeriodUs * settings.hostCpus * *config.processorMaximum / kProcessorScale;
        r["cpu"] = {{"period", kCpuPeriodUs}, {"quota", static_cast<int64_t>(std::max<uint64_t>(quota, 1000))}};
    } else if (config.processorWeight) {
        uint64_t shares = kMaxCpuShares * *config.processorWeight / kProcessorScale;
        r["cpu"] = {{"shares", std::clamp(shares, kMinCpuShares, kMaxCpuShares)}};
    }
    return r;
}

}  // namespace

json buildOciSpec(const schema::ContainerConfig& config, const BundleSettings& settings)
{
    json namespaces = json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
    if (config.network == schema::ContainerNetwork::Private) namespaces.push_back({{"type", "network"}});
    json process{
        {"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", {kAgentPathInContainer, "--container"}},
        {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
        {"cwd", "/"},
        {"capabilities", capabilities()},
        {"noNewPrivileges", false},
    };
    json linux{
        {"namespaces", namespaces},
        {"cgroupsPath", settings.cgroupsPath},
        {"resources", resources(config, settings)},
        {"maskedPaths",
         {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
          "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}},
        {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
    };
    return {
        {"ociVersion", "1.0.2"},
        {"process", process},
        {"root", {{"path", settings.rootfs}, {"readonly", false}}},
        {"hostname", config.hostName.empty() ? settings.hostName : config.hostName},
        {"mounts", mounts(config, settings)},
        {"linux", linux},
    };
}

}  // namespace hc::hcs::container
