// hcsd's state on disk, so a restarted hcsd finds every VM it ever started:
//   <state>/systems/<dir>/config.json   the Create document
//   <state>/systems/<dir>/system.json   the record: id, runtime id, pid, state, times
//   <state>/systems/<dir>/qemu.pid      QEMU's pid file; its path is QEMU's spawn token
//   <state>/systems/<dir>/agent.sock    the guest agent's port (GuestConnection only)
//   <state>/pipes/<name>                ComPort sockets named \\.\pipe\<name>
// The record is written (atomically: renamed into place) with State "Creating" BEFORE QEMU is
// spawned, and QEMU's command line names the spawn token, so a process can be found (and killed or
// re-adopted) even when hcsd died before it learnt the pid. Files are created 0600, directories 0700.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace hc::hcs::service {

struct SystemRecord {
    std::string id;
    std::string runtimeId;
    pid_t pid = 0;           // 0 = not yet known (the file then has no "Pid")
    std::string state;       // "Creating" until the Create reply; then the lifecycle state's name
    int64_t createTime = 0;  // FILETIME ticks
    int64_t startTime = 0;
    std::optional<uid_t> ownerUid;  // absent in records of older hcsd versions (then: hcsd's own user)
};

class SystemStore {
public:
    explicit SystemStore(std::string stateDirectory);

    const std::string& stateDirectory() const { return stateDirectory_; }
    std::string pipeDirectory() const { return stateDirectory_ + "/pipes"; }
    std::vector<std::string> systemDirectories() const;

    // A new private directory named after the runtime id (short: socket paths stay below 108 bytes).
    Result<std::string> createSystemDirectory(const std::string& runtimeId) const;
    void removeSystemDirectory(const std::string& directory) const;

    Status writeConfig(const std::string& directory, const std::string& configText) const;
    std::string readConfig(const std::string& directory) const;
    Status writeRecord(const std::string& directory, const SystemRecord& record) const;
    std::optional<SystemRecord> readRecord(const std::string& directory) const;

    static std::string spawnToken(const std::string& directory) { return directory + "/qemu.pid"; }
    static std::string monitorPath(const std::string& directory) { return directory + "/qmp.sock"; }
    static std::string logPath(const std::string& directory) { return directory + "/qemu.log"; }
    // The host end of the guest agent's port (GuestConnection): QEMU listens, hcsd's channel connects.
    static std::string agentSocketPath(const std::string& directory) { return directory + "/agent.sock"; }

private:
    std::string systemsDirectory() const { return stateDirectory_ + "/systems"; }
    std::string stateDirectory_;
};

// Replaces `path` with `text` (a temporary file renamed over it), so that hcsd killed at any point
// leaves either the old or the new content. Not fsync'd, on purpose (docs/design.md, "hcsd's records
// are not fsync'd"): the records serve a restarted hcsd, and the kernel keeps them across any process's
// death; a host crash, the only thing an fsync would add, also ends every QEMU the records describe.
Status writeFileAtomically(const std::string& path, const std::string& text);

}  // namespace hc::hcs::service
