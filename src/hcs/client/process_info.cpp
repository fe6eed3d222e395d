#include "hcs/client/process_info.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace hc::hcs {

namespace {

HANDLE toHandle(UniqueFd& fd)
{
    return fd.valid() ? reinterpret_cast<HANDLE>(static_cast<intptr_t>(fd.release())) : nullptr;
}

// Moves `fd` to a number >= 3 when it landed on 0, 1 or 2 (a caller that closed its own stdio), so that
// no descriptor handed out is NULL as a HANDLE or mistaken for the caller's own stdio.
Status liftAboveStdio(UniqueFd& fd)
{
    if (fd.get() > STDERR_FILENO) return {};
    int lifted = fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    if (lifted < 0)
        return makeError(E_OUTOFMEMORY, std::string("cannot duplicate a stdio descriptor: ") + strerror(errno));
    fd.reset(lifted);
    return {};
}

}  // namespace

void ProcessInfo::handOver(HCS_PROCESS_INFORMATION* out)
{
    out->ProcessId = processId;
    out->Reserved = 0;
    out->StdInput = toHandle(stdInput);
    out->StdOutput = toHandle(stdOutput);
    out->StdError = toHandle(stdError);
}

Result<ProcessInfo> parseProcessInfo(const std::string& document, std::vector<UniqueFd> fds)
{
    auto json = nlohmann::json::parse(document, nullptr, false);
    if (!json.is_object()) return makeError(HCS_E_PROTOCOL_ERROR, "the process information is not a JSON object");
    ProcessInfo info;
    auto pid = json.find("ProcessId");
    if (pid == json.end() || !pid->is_number_unsigned() || pid->get<uint64_t>() > 0xFFFFFFFFu)
        return makeError(HCS_E_PROTOCOL_ERROR, "ProcessId: expected a 32-bit unsigned integer");
    info.processId = pid->get<DWORD>();
    std::vector<bool> claimed(fds.size(), false);
    struct Stream {
        const char* name;
        UniqueFd* slot;
    };
    for (const Stream& stream : {Stream{"StdInput", &info.stdInput}, Stream{"StdOutput", &info.stdOutput},
                                 Stream{"StdError", &info.stdError}}) {
        auto field = json.find(stream.name);
        if (field == json.end() || field->is_null()) continue;
        if (!field->is_number_unsigned() || field->get<uint64_t>() >= fds.size())
            return makeError(HCS_E_PROTOCOL_ERROR, std::string(stream.name) + ": expected the index of one of the " +
                                                       std::to_string(fds.size()) + " descriptors sent with the reply");
        const size_t index = field->get<size_t>();
        if (claimed[index])
            return makeError(HCS_E_PROTOCOL_ERROR,
                             std::string(stream.name) + ": descriptor " + std::to_string(index) + " is used twice");
        claimed[index] = true;
        *stream.slot = std::move(fds[index]);
        if (Status lifted = liftAboveStdio(*stream.slot); !lifted) return lifted.error();
    }
    return info;
}

}  // namespace hc::hcs
