#include "hcs/service/system_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "base/hresult.h"
#include "base/log.h"
#include "hcs/schema/json_limits.h"

namespace hc::hcs::service {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

Status writeFileAtomically(const std::string& path, const std::string& text)
{
    std::string tmp = path + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return lastErrnoError("cannot create " + tmp);
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            Error e = lastErrnoError("cannot write " + tmp);
            close(fd);
            return e;
        }
        done += static_cast<size_t>(n);
    }
    close(fd);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) return lastErrnoError("cannot rename " + tmp);
    return {};
}

SystemStore::SystemStore(std::string stateDirectory) : stateDirectory_(std::move(stateDirectory))
{
    for (const std::string& dir : {systemsDirectory(), pipeDirectory()}) {
        if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) HC_LOG(Warn, "hcsd", "cannot create " + dir);
    }
}

std::vector<std::string> SystemStore::systemDirectories() const
{
    std::vector<std::string> directories;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(systemsDirectory(), ec)) {
        if (entry.is_directory(ec)) directories.push_back(entry.path().string());
    }
    return directories;
}

Result<std::string> SystemStore::createSystemDirectory(const std::string& runtimeId) const
{
    std::string directory = systemsDirectory() + "/" + runtimeId.substr(0, 8);
    if (mkdir(directory.c_str(), 0700) != 0) return lastErrnoError("cannot create the state directory " + directory);
    return directory;
}

void SystemStore::removeSystemDirectory(const std::string& directory) const
{
    std::error_code ec;
    fs::remove_all(directory, ec);
    if (ec) HC_LOG(Warn, "hcsd", "cannot remove " + directory + ": " + ec.message());
}

Status SystemStore::writeConfig(const std::string& directory, const std::string& configText) const
{
    return writeFileAtomically(directory + "/config.json", configText);
}

std::string SystemStore::readConfig(const std::string& directory) const
{
    return readFile(directory + "/config.json");
}

Status SystemStore::writeRecord(const std::string& directory, const SystemRecord& record) const
{
    json text{{"Id", record.id},
              {"RuntimeId", record.runtimeId},
              {"State", record.state},
              {"CreateTime", record.createTime},
              {"StartTime", record.startTime}};
    if (record.pid > 0) text["Pid"] = record.pid;
    if (record.ownerUid) text["OwnerUid"] = *record.ownerUid;  // absent until QEMU is spawned (never a 0 to kill)
    return writeFileAtomically(directory + "/system.json", text.dump(2));
}

std::optional<SystemRecord> SystemStore::readRecord(const std::string& directory) const
{
    auto parsed = schema::parseJson(readFile(directory + "/system.json"), schema::kDocumentLimits, "system.json",
                                    HCS_E_INVALID_JSON);
    if (!parsed || !parsed->is_object()) return std::nullopt;
    const json& text = *parsed;
    SystemRecord record;
    try {
        record.id = text.value("Id", std::string());
        record.runtimeId = text.value("RuntimeId", std::string());
        record.pid = text.value("Pid", 0);
        record.state = text.value("State", std::string());
        record.createTime = text.value("CreateTime", int64_t{0});
        record.startTime = text.value("StartTime", int64_t{0});
        if (text.contains("OwnerUid")) record.ownerUid = text.at("OwnerUid").get<uid_t>();
    } catch (const json::exception&) {
        return std::nullopt;  // a field of the wrong type: not a record this hcsd wrote
    }
    return record;
}

}  // namespace hc::hcs::service
