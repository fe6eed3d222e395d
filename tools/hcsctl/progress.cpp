#include "progress.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "hcs_session.h"

namespace hcsctl {

namespace {

// Enumeration must not hold the line back for long: the next redraw tries again.
constexpr DWORD c_StateQueryTimeoutMs = 2000;

}  // namespace

std::string listedState(const std::string& id)
{
    auto wideQuery = hc::fromUtf8(nlohmann::json{{"Ids", {id}}}.dump());
    if (!wideQuery) return {};
    CallOutcome listed = runOperation(c_StateQueryTimeoutMs, [&](HCS_OPERATION operation) {
        return HcsEnumerateComputeSystems(wideQuery->c_str(), operation);
    });
    if (FAILED(listed.hr)) return {};
    auto systems = nlohmann::json::parse(listed.document, nullptr, false);
    if (!systems.is_array() || systems.empty() || !systems[0].is_object()) return {};
    auto state = systems[0].find("State");
    return state != systems[0].end() && state->is_string() ? state->get<std::string>() : std::string();
}

std::string fileSize(const std::string& path)
{
    struct stat st {};
    if (path.empty() || stat(path.c_str(), &st) != 0) return {};
    return hc::tools::humanBytes(static_cast<unsigned long long>(st.st_size));
}

std::string bytesWritten(const std::string& path)
{
    std::string size = fileSize(path);
    return size.empty() ? size : size + " written";
}

}  // namespace hcsctl
