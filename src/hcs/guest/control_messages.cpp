#include "hcs/guest/control_messages.h"

#include <cstdint>
#include <nlohmann/json.hpp>

#include "hcs/schema/json_limits.h"
#include "hcs/schema/json_reader.h"

namespace hc::hcs::guest::wire {

namespace {

using nlohmann::json;
using schema::ObjectReader;

// A control message is a JSON object of at most kMaxPayload bytes and kMaxJsonDepth levels, checked
// by the shared pre-scan before the parser builds anything; its fields are read by the shared
// ObjectReader (every error names "<Message>.<field>"). Unlike hcsd's documents, fields this side does
// not know are ignored (no finish()): a newer peer may add optional fields within a protocol version.
constexpr schema::JsonLimits kControlLimits{kMaxPayload, kMaxJsonDepth};

template <typename Message, typename Read>
Result<Message> decodeMessage(std::string_view payload, const char* name, Read read)
{
    auto value = schema::parseJson(payload, kControlLimits, name, E_INVALIDARG);
    if (!value) return value.error();
    try {
        ObjectReader fields(*value, name, E_INVALIDARG);
        return Result<Message>(read(fields));
    } catch (const schema::SchemaError& error) {
        return makeError(error.hr, error.what());
    }
}

// A signed integer field within [min, max]; `fallback` when absent and not required.
int64_t signedField(ObjectReader& fields, std::string_view name, int64_t min, int64_t max, bool required,
                    int64_t fallback = 0)
{
    auto value = fields.optSigned(name);
    if (!value) {
        if (required) fields.fail(name, "is missing");
        return fallback;
    }
    if (*value < min || *value > max) fields.fail(name, "is out of range");
    return *value;
}

// "environment": [[name, value], ...]
std::vector<std::pair<std::string, std::string>> stringPairs(ObjectReader& fields, std::string_view name)
{
    std::vector<std::pair<std::string, std::string>> out;
    const json* member = fields.optMember(name);
    if (!member) return out;
    if (!member->is_array()) fields.fail(name, "must be an array of [name, value] string pairs");
    for (const auto& item : *member) {
        if (!item.is_array() || item.size() != 2 || !item[0].is_string() || !item[1].is_string())
            fields.fail(name, "must be an array of [name, value] string pairs");
        out.emplace_back(item[0].get<std::string>(), item[1].get<std::string>());
    }
    return out;
}

std::string dump(const json& value)
{
    // Replace invalid UTF-8 rather than throw: argv and environment bytes come from users.
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string encode(const HelloRequest& m)
{
    return dump(json{{"protocolVersion", m.protocolVersion}, {"hostVersion", m.hostVersion}});
}

std::string encode(const Hello& m)
{
    return dump(json{{"protocolVersion", m.protocolVersion},
                     {"agentVersion", m.agentVersion},
                     {"capabilities", m.capabilities},
                     {"session", m.session}});
}

std::string encode(const CreateProcessRequest& m)
{
    json env = json::array();
    for (const auto& [name, value] : m.environment)
        env.push_back(json::array({name, value}));
    return dump(json{{"req", m.req},
                     {"argv", m.argv},
                     {"workingDirectory", m.workingDirectory},
                     {"environment", env},
                     {"user", m.user},
                     {"console", m.console},
                     {"rows", m.rows},
                     {"columns", m.columns},
                     {"stdin", m.stdinPipe},
                     {"stdout", m.stdoutPipe},
                     {"stderr", m.stderrPipe}});
}

std::string encode(const SignalRequest& m)
{
    return dump(json{{"req", m.req}, {"signal", m.signal}});
}

std::string encode(const ResizeRequest& m)
{
    return dump(json{{"req", m.req}, {"rows", m.rows}, {"columns", m.columns}});
}

std::string encode(const CloseStdinRequest& m)
{
    return dump(json{{"req", m.req}});
}

std::string encode(const Reply& m)
{
    json value{{"req", m.req}, {"hr", m.hr}};
    if (!m.message.empty()) value["message"] = m.message;
    if (m.pid != 0) value["pid"] = m.pid;
    return dump(value);
}

std::string encode(const ExitedMessage& m)
{
    json value{{"exitCode", m.exitCode}};
    if (m.signal) value["signal"] = *m.signal;
    return dump(value);
}

Result<HelloRequest> decodeHelloRequest(std::string_view payload)
{
    return decodeMessage<HelloRequest>(payload, "HelloRequest", [](ObjectReader& f) {
        HelloRequest m;
        m.protocolVersion = static_cast<uint32_t>(f.reqUnsigned("protocolVersion", UINT32_MAX));
        m.hostVersion = f.optString("hostVersion").value_or("");
        return m;
    });
}

Result<Hello> decodeHello(std::string_view payload)
{
    return decodeMessage<Hello>(payload, "Hello", [](ObjectReader& f) {
        Hello m;
        m.protocolVersion = static_cast<uint32_t>(f.reqUnsigned("protocolVersion", UINT32_MAX));
        m.agentVersion = f.reqString("agentVersion");
        if (!f.has("capabilities")) f.fail("capabilities", "is missing");
        m.capabilities = f.optStringArray("capabilities");
        m.session = f.reqString("session");
        if (m.session.empty()) f.fail("session", "is empty");
        return m;
    });
}

Result<CreateProcessRequest> decodeCreateProcess(std::string_view payload)
{
    return decodeMessage<CreateProcessRequest>(payload, "CreateProcess", [](ObjectReader& f) {
        CreateProcessRequest m;
        m.req = static_cast<uint32_t>(f.reqUnsigned("req", UINT32_MAX));
        m.argv = f.optStringArray("argv");
        if (m.argv.empty()) f.fail("argv", "is missing or empty");
        m.workingDirectory = f.optString("workingDirectory").value_or("");
        m.environment = stringPairs(f, "environment");
        m.user = f.optString("user").value_or("");
        m.console = f.optBool("console").value_or(false);
        m.rows = static_cast<uint16_t>(f.optUnsigned("rows", UINT16_MAX).value_or(0));
        m.columns = static_cast<uint16_t>(f.optUnsigned("columns", UINT16_MAX).value_or(0));
        m.stdinPipe = f.optBool("stdin").value_or(false);
        m.stdoutPipe = f.optBool("stdout").value_or(false);
        m.stderrPipe = f.optBool("stderr").value_or(false);
        return m;
    });
}

Result<SignalRequest> decodeSignal(std::string_view payload)
{
    return decodeMessage<SignalRequest>(payload, "Signal", [](ObjectReader& f) {
        SignalRequest m;
        m.req = static_cast<uint32_t>(f.reqUnsigned("req", UINT32_MAX));
        m.signal = static_cast<int>(signedField(f, "signal", INT32_MIN, INT32_MAX, true));
        return m;
    });
}

Result<ResizeRequest> decodeResize(std::string_view payload)
{
    return decodeMessage<ResizeRequest>(payload, "Resize", [](ObjectReader& f) {
        ResizeRequest m;
        m.req = static_cast<uint32_t>(f.reqUnsigned("req", UINT32_MAX));
        m.rows = static_cast<uint16_t>(f.reqUnsigned("rows", UINT16_MAX));
        m.columns = static_cast<uint16_t>(f.reqUnsigned("columns", UINT16_MAX));
        return m;
    });
}

Result<CloseStdinRequest> decodeCloseStdin(std::string_view payload)
{
    return decodeMessage<CloseStdinRequest>(payload, "CloseStdin", [](ObjectReader& f) {
        CloseStdinRequest m;
        m.req = static_cast<uint32_t>(f.reqUnsigned("req", UINT32_MAX));
        return m;
    });
}

Result<Reply> decodeReply(std::string_view payload)
{
    return decodeMessage<Reply>(payload, "Reply", [](ObjectReader& f) {
        Reply m;
        m.req = static_cast<uint32_t>(f.reqUnsigned("req", UINT32_MAX));
        m.hr = static_cast<HRESULT>(signedField(f, "hr", INT32_MIN, INT32_MAX, true));
        m.message = f.optString("message").value_or("");
        m.pid = static_cast<uint32_t>(f.optUnsigned("pid", UINT32_MAX).value_or(0));
        return m;
    });
}

Result<ExitedMessage> decodeExited(std::string_view payload)
{
    return decodeMessage<ExitedMessage>(payload, "Exited", [](ObjectReader& f) {
        ExitedMessage m;
        m.exitCode = static_cast<int>(signedField(f, "exitCode", INT32_MIN, INT32_MAX, true, -1));
        if (f.has("signal")) m.signal = static_cast<int>(signedField(f, "signal", INT32_MIN, INT32_MAX, true));
        return m;
    });
}

}  // namespace hc::hcs::guest::wire
