#include "hcs/protocol/messages.h"

#include <array>
#include <set>
#include <utility>

#include "base/hresult.h"

namespace hc::hcs::protocol {

using nlohmann::json;

namespace {

constexpr std::array<std::pair<Method, const char*>, 17> kMethods{{
    {Method::Hello, "Hello"},
    {Method::Cancel, "Cancel"},
    {Method::CreateComputeSystem, "CreateComputeSystem"},
    {Method::OpenComputeSystem, "OpenComputeSystem"},
    {Method::CloseComputeSystem, "CloseComputeSystem"},
    {Method::EnumerateComputeSystems, "EnumerateComputeSystems"},
    {Method::StartComputeSystem, "StartComputeSystem"},
    {Method::ShutDownComputeSystem, "ShutDownComputeSystem"},
    {Method::TerminateComputeSystem, "TerminateComputeSystem"},
    {Method::CrashComputeSystem, "CrashComputeSystem"},
    {Method::PauseComputeSystem, "PauseComputeSystem"},
    {Method::ResumeComputeSystem, "ResumeComputeSystem"},
    {Method::SaveComputeSystem, "SaveComputeSystem"},
    {Method::GetComputeSystemProperties, "GetComputeSystemProperties"},
    {Method::ModifyComputeSystem, "ModifyComputeSystem"},
    {Method::WaitForComputeSystemExit, "WaitForComputeSystemExit"},
    {Method::GetServiceProperties, "GetServiceProperties"},
}};

// Reads the fields of "params"; any problem is a protocol error naming "params.<field>".
class ParamsReader {
public:
    explicit ParamsReader(const json& params) : params_(params) {}

    uint64_t unsignedField(const char* name, bool required = true, uint64_t fallback = 0)
    {
        const json* v = member(name);
        if (!v) {
            if (required) fail(name, "required field is missing");
            return fallback;
        }
        if (!v->is_number_unsigned()) fail(name, "expected an unsigned integer");
        return v->get<uint64_t>();
    }

    std::string stringField(const char* name)
    {
        const json* v = member(name);
        if (!v) fail(name, "required field is missing");
        if (!v->is_string()) fail(name, "expected a string");
        return v->get<std::string>();
    }

    std::string optionalString(const char* name)
    {
        const json* v = member(name);
        if (!v) return {};
        if (!v->is_string()) fail(name, "expected a string");
        return v->get<std::string>();
    }

    // A document argument: a JSON string holding the document, an object typed inline (convenient by
    // hand), or null/absent for none.
    std::string documentField(const char* name)
    {
        const json* v = member(name);
        if (!v || v->is_null()) return {};
        if (v->is_string()) return v->get<std::string>();
        if (v->is_object() || v->is_array()) return v->dump();
        fail(name, "expected a JSON document as a string or an object");
    }

    void finish() const
    {
        for (auto it = params_.begin(); it != params_.end(); ++it) {
            if (!seen_.count(it.key())) fail(it.key().c_str(), "unknown parameter");
        }
    }

    [[noreturn]] static void fail(const char* name, const char* what)
    {
        throw Error{HCS_E_PROTOCOL_ERROR, std::string("params.") + name + ": " + what};
    }

private:
    const json* member(const char* name)
    {
        seen_.insert(name);
        auto it = params_.find(name);
        if (it == params_.end() || it->is_null()) return nullptr;
        return &*it;
    }

    const json& params_;
    std::set<std::string> seen_;
};

// Calls on one system: its handle plus the one optional document the method takes.
SystemCallParams systemCall(ParamsReader& r, const char* field)
{
    SystemCallParams p;
    p.handle = r.unsignedField("handle");
    p.document = r.documentField(field);
    return p;
}

Params decodeParams(Method method, const json& params)
{
    ParamsReader r(params);
    Params out;
    switch (method) {
        case Method::Hello: {
            HelloParams p;
            p.protocol = static_cast<uint32_t>(r.unsignedField("protocol"));
            p.client = r.optionalString("client");
            out = p;
            break;
        }
        case Method::Cancel:
            out = CancelParams{r.unsignedField("requestId")};
            break;
        case Method::CreateComputeSystem: {
            CreateParams p;
            p.handle = r.unsignedField("handle");
            p.id = r.stringField("id");
            p.configuration = r.documentField("configuration");
            out = p;
            break;
        }
        case Method::OpenComputeSystem: {
            OpenParams p;
            p.handle = r.unsignedField("handle");
            p.id = r.stringField("id");
            out = p;
            break;
        }
        case Method::CloseComputeSystem:
            out = HandleParams{r.unsignedField("handle")};
            break;
        case Method::EnumerateComputeSystems:
        case Method::GetServiceProperties:
            out = QueryParams{r.documentField("query")};
            break;
        case Method::StartComputeSystem:
        case Method::ShutDownComputeSystem:
        case Method::TerminateComputeSystem:
        case Method::CrashComputeSystem:
        case Method::PauseComputeSystem:
        case Method::ResumeComputeSystem:
        case Method::SaveComputeSystem:
            out = systemCall(r, "options");
            break;
        case Method::GetComputeSystemProperties:
            out = systemCall(r, "query");
            break;
        case Method::ModifyComputeSystem:
            out = systemCall(r, "configuration");
            break;
        case Method::WaitForComputeSystemExit: {
            WaitExitParams p;
            p.handle = r.unsignedField("handle");
            uint64_t timeout = r.unsignedField("timeoutMs", false, 0xFFFFFFFFu);
            if (timeout > 0xFFFFFFFFu) ParamsReader::fail("timeoutMs", "must fit in 32 bits");
            p.timeoutMs = static_cast<uint32_t>(timeout);
            out = p;
            break;
        }
    }
    r.finish();
    return out;
}

std::string dump(const json& value)
{
    // Invalid UTF-8 in a string (e.g. from a QEMU error) is replaced rather than thrown.
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string line(const json& message)
{
    return dump(message) + "\n";
}

}  // namespace

const char* methodName(Method method)
{
    for (const auto& [m, name] : kMethods) {
        if (m == method) return name;
    }
    return "?";
}

std::optional<Method> methodFromName(std::string_view name)
{
    for (const auto& [m, n] : kMethods) {
        if (name == n) return m;
    }
    return std::nullopt;
}

Result<Request> decodeRequest(std::string_view text, std::optional<uint64_t>* idOut)
{
    idOut->reset();
    json message = json::parse(text, nullptr, false);
    if (message.is_discarded()) return makeError(HCS_E_PROTOCOL_ERROR, "the line is not valid JSON");
    if (!message.is_object()) return makeError(HCS_E_PROTOCOL_ERROR, "a request must be a JSON object");
    auto id = message.find("id");
    if (id == message.end() || !id->is_number_unsigned()) {
        return makeError(HCS_E_PROTOCOL_ERROR, "\"id\" is missing or not an unsigned integer");
    }
    Request request;
    request.id = id->get<uint64_t>();
    *idOut = request.id;
    for (auto it = message.begin(); it != message.end(); ++it) {
        if (it.key() != "id" && it.key() != "method" && it.key() != "params") {
            return makeError(HCS_E_PROTOCOL_ERROR, "unknown member \"" + it.key() + "\" in a request");
        }
    }
    auto method = message.find("method");
    if (method == message.end() || !method->is_string()) {
        return makeError(HCS_E_PROTOCOL_ERROR, "\"method\" is missing or not a string");
    }
    auto known = methodFromName(method->get<std::string>());
    if (!known) return makeError(HCS_E_UNKNOWN_MESSAGE, "unknown method \"" + method->get<std::string>() + "\"");
    request.method = *known;
    static const json kEmpty = json::object();
    auto params = message.find("params");
    const json* p = &kEmpty;
    if (params != message.end() && !params->is_null()) {
        if (!params->is_object()) return makeError(HCS_E_PROTOCOL_ERROR, "\"params\" must be an object");
        p = &*params;
    }
    try {
        request.params = decodeParams(request.method, *p);
    } catch (const Error& e) {
        return e;
    }
    return request;
}

std::string encodeGreeting(std::string_view serviceVersion)
{
    json protocols = json::array();
    for (uint32_t v = kMinProtocolVersion; v <= kProtocolVersion; ++v)
        protocols.push_back(v);
    return line(
        json{{"greeting", {{"service", "hcsd"}, {"version", std::string(serviceVersion)}, {"protocols", protocols}}}});
}

// Envelopes are written by hand so that "id" / "event" come first on the line (easier to read in a
// terminal); payloads are dumped by the JSON library.
std::string encodeResult(uint64_t id, const json& result)
{
    return "{\"id\":" + std::to_string(id) + ",\"result\":" + dump(result) + "}\n";
}

std::string encodeError(std::optional<uint64_t> id, HRESULT hr, std::string_view message)
{
    json document{{"Error", static_cast<int32_t>(hr)}, {"ErrorMessage", std::string(message)}};
    json error{{"hr", static_cast<int32_t>(hr)},
               {"name", hresultName(hr)},
               {"message", std::string(message)},
               {"document", document}};
    return "{\"id\":" + (id ? std::to_string(*id) : std::string("null")) + ",\"error\":" + dump(error) + "}\n";
}

std::string encodeEvent(std::string_view event, uint64_t handle, const json& data)
{
    return "{\"event\":" + dump(json(std::string(event))) + ",\"handle\":" + std::to_string(handle) +
           ",\"data\":" + dump(data) + "}\n";
}

Result<std::string> encodeRequest(uint64_t id, std::string_view method, std::string_view paramsJson)
{
    json params = json::object();
    if (!paramsJson.empty()) {
        params = json::parse(paramsJson, nullptr, false);
        if (params.is_discarded() || !params.is_object()) {
            return makeError(E_INVALIDARG, "request parameters must be a JSON object");
        }
    }
    return line(json{{"id", id}, {"method", std::string(method)}, {"params", params}});
}

Result<ServerMessage> decodeServerMessage(std::string_view text)
{
    json message = json::parse(text, nullptr, false);
    if (message.is_discarded() || !message.is_object()) {
        return makeError(HCS_E_PROTOCOL_ERROR, "hcsd sent a line that is not a JSON object");
    }
    if (auto g = message.find("greeting"); g != message.end() && g->is_object()) {
        Greeting greeting;
        greeting.serviceVersion = g->value("version", "");
        if (auto p = g->find("protocols"); p != g->end() && p->is_array()) {
            for (const auto& v : *p) {
                if (v.is_number_unsigned()) greeting.protocols.push_back(v.get<uint32_t>());
            }
        }
        return ServerMessage(greeting);
    }
    if (auto e = message.find("event"); e != message.end() && e->is_string()) {
        Event event;
        event.name = e->get<std::string>();
        auto h = message.find("handle");
        if (h != message.end() && h->is_number_unsigned()) event.handle = h->get<uint64_t>();
        auto d = message.find("data");
        if (d != message.end() && !d->is_null()) event.data = d->dump();
        return ServerMessage(event);
    }
    auto id = message.find("id");
    if (id == message.end() || !id->is_number_unsigned()) {
        return makeError(HCS_E_PROTOCOL_ERROR, "hcsd sent a message without a request id");
    }
    Reply reply;
    reply.id = id->get<uint64_t>();
    if (auto err = message.find("error"); err != message.end() && err->is_object()) {
        auto hr = err->find("hr");
        reply.hr = (hr != err->end() && hr->is_number_integer()) ? static_cast<HRESULT>(hr->get<int64_t>())
                                                                 : HCS_E_PROTOCOL_ERROR;
        if (reply.hr >= 0) reply.hr = HCS_E_PROTOCOL_ERROR;  // an error reply never means success
        auto doc = err->find("document");
        if (doc != err->end() && doc->is_object()) {
            reply.document = doc->dump();
        } else {
            reply.document = json{{"Error", static_cast<int32_t>(reply.hr)},
                                  {"ErrorMessage", err->value("message", std::string("hcsd reported an error"))}}
                                 .dump();
        }
        return ServerMessage(reply);
    }
    auto result = message.find("result");
    if (result == message.end())
        return makeError(HCS_E_PROTOCOL_ERROR, "hcsd sent a reply with neither result nor error");
    if (!result->is_null()) reply.document = result->dump();
    return ServerMessage(reply);
}

}  // namespace hc::hcs::protocol
