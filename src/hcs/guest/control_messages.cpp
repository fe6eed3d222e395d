#include "hcs/guest/control_messages.h"

#include <limits>
#include <nlohmann/json.hpp>

namespace hc::hcs::guest::wire {

namespace {

using nlohmann::json;

// Rejects nesting deeper than kMaxJsonDepth without building anything (brackets inside strings
// do not count), so a payload of 64 KiB of '[' never reaches the parser.
bool depthWithinLimit(std::string_view text)
{
    int depth = 0;
    bool inString = false, escaped = false;
    for (char c : text) {
        if (inString) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                inString = false;
            continue;
        }
        if (c == '"')
            inString = true;
        else if (c == '[' || c == '{') {
            if (++depth > kMaxJsonDepth) return false;
        } else if (c == ']' || c == '}')
            --depth;
    }
    return true;
}

Error invalid(const char* message, const std::string& what)
{
    return makeError(E_INVALIDARG, std::string(message) + ": " + what);
}

Result<json> parseObject(std::string_view payload, const char* message)
{
    if (!depthWithinLimit(payload)) return invalid(message, "JSON nested too deeply");
    json value = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) return invalid(message, "not valid JSON");
    if (!value.is_object()) return invalid(message, "not a JSON object");
    return value;
}

// Field readers: each names the field it found wrong.
class Fields {
public:
    Fields(const json& object, const char* message) : object_(object), message_(message) {}

    bool failed() const { return error_.has_value(); }
    Error error() const { return *error_; }

    template <typename T>
    T integer(const char* name, T fallback, bool required)
    {
        auto it = object_.find(name);
        if (it == object_.end()) {
            if (required) fail(std::string("field '") + name + "' is missing");
            return fallback;
        }
        if (!it->is_number_integer()) {
            fail(std::string("field '") + name + "' must be an integer");
            return fallback;
        }
        if (it->is_number_unsigned()) {
            auto v = it->get<uint64_t>();
            if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
                fail(std::string("field '") + name + "' is out of range");
                return fallback;
            }
            return static_cast<T>(v);
        }
        auto v = it->get<int64_t>();
        if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
            v > static_cast<int64_t>(std::numeric_limits<T>::max())) {
            fail(std::string("field '") + name + "' is out of range");
            return fallback;
        }
        return static_cast<T>(v);
    }

    std::string string(const char* name, bool required = false)
    {
        auto it = object_.find(name);
        if (it == object_.end()) {
            if (required) fail(std::string("field '") + name + "' is missing");
            return {};
        }
        if (!it->is_string()) {
            fail(std::string("field '") + name + "' must be a string");
            return {};
        }
        return it->get<std::string>();
    }

    bool boolean(const char* name)
    {
        auto it = object_.find(name);
        if (it == object_.end()) return false;
        if (!it->is_boolean()) {
            fail(std::string("field '") + name + "' must be true or false");
            return false;
        }
        return it->get<bool>();
    }

    std::vector<std::string> strings(const char* name, bool required = false)
    {
        std::vector<std::string> out;
        auto it = object_.find(name);
        if (it == object_.end()) {
            if (required) fail(std::string("field '") + name + "' is missing");
            return out;
        }
        if (!it->is_array()) {
            fail(std::string("field '") + name + "' must be an array of strings");
            return out;
        }
        for (const auto& item : *it) {
            if (!item.is_string()) {
                fail(std::string("field '") + name + "' must be an array of strings");
                return {};
            }
            out.push_back(item.get<std::string>());
        }
        return out;
    }

    std::vector<std::pair<std::string, std::string>> pairs(const char* name)
    {
        std::vector<std::pair<std::string, std::string>> out;
        auto it = object_.find(name);
        if (it == object_.end()) return out;
        const char* shape = "' must be an array of [name, value] string pairs";
        if (!it->is_array()) {
            fail(std::string("field '") + name + shape);
            return out;
        }
        for (const auto& item : *it) {
            if (!item.is_array() || item.size() != 2 || !item[0].is_string() || !item[1].is_string()) {
                fail(std::string("field '") + name + shape);
                return {};
            }
            out.emplace_back(item[0].get<std::string>(), item[1].get<std::string>());
        }
        return out;
    }

private:
    void fail(std::string what)
    {
        if (!error_) error_ = invalid(message_, what);
    }

    const json& object_;
    const char* message_;
    std::optional<Error> error_;
};

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
    auto object = parseObject(payload, "HelloRequest");
    if (!object) return object.error();
    Fields f(*object, "HelloRequest");
    HelloRequest m;
    m.protocolVersion = f.integer<uint32_t>("protocolVersion", 0, true);
    m.hostVersion = f.string("hostVersion");
    if (f.failed()) return f.error();
    return m;
}

Result<Hello> decodeHello(std::string_view payload)
{
    auto object = parseObject(payload, "Hello");
    if (!object) return object.error();
    Fields f(*object, "Hello");
    Hello m;
    m.protocolVersion = f.integer<uint32_t>("protocolVersion", 0, true);
    m.agentVersion = f.string("agentVersion", true);
    m.capabilities = f.strings("capabilities", true);
    m.session = f.string("session", true);
    if (f.failed()) return f.error();
    if (m.session.empty()) return invalid("Hello", "field 'session' is empty");
    return m;
}

Result<CreateProcessRequest> decodeCreateProcess(std::string_view payload)
{
    auto object = parseObject(payload, "CreateProcess");
    if (!object) return object.error();
    Fields f(*object, "CreateProcess");
    CreateProcessRequest m;
    m.req = f.integer<uint32_t>("req", 0, true);
    m.argv = f.strings("argv", true);
    m.workingDirectory = f.string("workingDirectory");
    m.environment = f.pairs("environment");
    m.user = f.string("user");
    m.console = f.boolean("console");
    m.rows = f.integer<uint16_t>("rows", 0, false);
    m.columns = f.integer<uint16_t>("columns", 0, false);
    m.stdinPipe = f.boolean("stdin");
    m.stdoutPipe = f.boolean("stdout");
    m.stderrPipe = f.boolean("stderr");
    if (f.failed()) return f.error();
    if (m.argv.empty()) return invalid("CreateProcess", "field 'argv' is empty");
    return m;
}

Result<SignalRequest> decodeSignal(std::string_view payload)
{
    auto object = parseObject(payload, "Signal");
    if (!object) return object.error();
    Fields f(*object, "Signal");
    SignalRequest m;
    m.req = f.integer<uint32_t>("req", 0, true);
    m.signal = f.integer<int>("signal", 0, true);
    if (f.failed()) return f.error();
    return m;
}

Result<ResizeRequest> decodeResize(std::string_view payload)
{
    auto object = parseObject(payload, "Resize");
    if (!object) return object.error();
    Fields f(*object, "Resize");
    ResizeRequest m;
    m.req = f.integer<uint32_t>("req", 0, true);
    m.rows = f.integer<uint16_t>("rows", 0, true);
    m.columns = f.integer<uint16_t>("columns", 0, true);
    if (f.failed()) return f.error();
    return m;
}

Result<CloseStdinRequest> decodeCloseStdin(std::string_view payload)
{
    auto object = parseObject(payload, "CloseStdin");
    if (!object) return object.error();
    Fields f(*object, "CloseStdin");
    CloseStdinRequest m;
    m.req = f.integer<uint32_t>("req", 0, true);
    if (f.failed()) return f.error();
    return m;
}

Result<Reply> decodeReply(std::string_view payload)
{
    auto object = parseObject(payload, "Reply");
    if (!object) return object.error();
    Fields f(*object, "Reply");
    Reply m;
    m.req = f.integer<uint32_t>("req", 0, true);
    m.hr = f.integer<int32_t>("hr", 0, true);
    m.message = f.string("message");
    m.pid = f.integer<uint32_t>("pid", 0, false);
    if (f.failed()) return f.error();
    return m;
}

Result<ExitedMessage> decodeExited(std::string_view payload)
{
    auto object = parseObject(payload, "Exited");
    if (!object) return object.error();
    Fields f(*object, "Exited");
    ExitedMessage m;
    m.exitCode = f.integer<int>("exitCode", -1, true);
    if (object->contains("signal")) m.signal = f.integer<int>("signal", 0, true);
    if (f.failed()) return f.error();
    return m;
}

}  // namespace hc::hcs::guest::wire
