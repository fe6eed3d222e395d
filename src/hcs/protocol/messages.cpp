#include "hcs/protocol/messages.h"

#include <limits>

#include "base/hresult.h"
#include "hcs/schema/documents.h"
#include "hcs/schema/json_limits.h"
#include "hcs/schema/json_reader.h"

namespace hc::hcs::protocol {

using nlohmann::json;

namespace {

// The fields of each params struct, listed once: the Writer and the Reader below walk the same list,
// so what the client encodes is exactly what hcsd decodes. `call` supplies the document field's name.
template <typename Fields>
void fields(Fields& f, const CallSpec&, HelloParams& p)
{
    f.number("protocol", p.protocol);
    f.optionalText("client", p.client);
}
template <typename Fields>
void fields(Fields& f, const CallSpec&, CancelParams& p)
{
    f.number("requestId", p.requestId);
}
template <typename Fields>
void fields(Fields& f, const CallSpec& call, CreateParams& p)
{
    f.number("handle", p.handle);
    f.text("id", p.id);
    f.document(call.documentField, p.configuration);
}
template <typename Fields>
void fields(Fields& f, const CallSpec&, OpenParams& p)
{
    f.number("handle", p.handle);
    f.text("id", p.id);
}
template <typename Fields>
void fields(Fields& f, const CallSpec&, HandleParams& p)
{
    f.number("handle", p.handle);
}
template <typename Fields>
void fields(Fields& f, const CallSpec& call, QueryParams& p)
{
    f.document(call.documentField, p.query);
}
template <typename Fields>
void fields(Fields& f, const CallSpec& call, SystemCallParams& p)
{
    f.number("handle", p.handle);
    f.document(call.documentField, p.document);
}
template <typename Fields>
void fields(Fields& f, const CallSpec&, WaitExitParams& p)
{
    f.number("handle", p.handle);
    f.optionalNumber("timeoutMs", p.timeoutMs);
}
template <typename Fields>
void fields(Fields& f, const CallSpec& call, CreateProcessParams& p)
{
    f.number("handle", p.handle);
    f.number("process", p.process);
    f.document(call.documentField, p.parameters);
}
template <typename Fields>
void fields(Fields& f, const CallSpec&, OpenProcessParams& p)
{
    f.number("handle", p.handle);
    f.number("process", p.process);
    f.number("processId", p.processId);
}
template <typename Fields>
void fields(Fields& f, const CallSpec&, VmAccessParams& p)
{
    f.text("id", p.id);
    f.text("path", p.path);
}

// Client side: params struct -> JSON object. A document travels as a JSON string (null when none).
struct Writer {
    json out = json::object();

    template <typename N>
    void number(std::string_view name, N& value)
    {
        out[std::string(name)] = value;
    }
    template <typename N>
    void optionalNumber(std::string_view name, N& value)
    {
        number(name, value);
    }
    void text(std::string_view name, std::string& value) { out[std::string(name)] = value; }
    void optionalText(std::string_view name, std::string& value) { text(name, value); }
    void document(std::string_view name, std::string& value)
    {
        out[std::string(name)] = value.empty() ? json(nullptr) : json(value);
    }
};

// hcsd side: JSON object -> params struct; every problem is HCS_E_PROTOCOL_ERROR naming "params.<field>",
// and a field nobody reads is refused.
struct Reader {
    schema::ObjectReader object;

    template <typename N>
    void number(std::string_view name, N& value)
    {
        value = static_cast<N>(object.reqUnsigned(name, std::numeric_limits<N>::max()));
    }
    template <typename N>
    void optionalNumber(std::string_view name, N& value)
    {
        if (auto given = object.optUnsigned(name, std::numeric_limits<N>::max())) value = static_cast<N>(*given);
    }
    void text(std::string_view name, std::string& value) { value = object.reqString(name); }
    void optionalText(std::string_view name, std::string& value) { value = object.optString(name).value_or(""); }
    void document(std::string_view name, std::string& value) { value = object.optDocumentText(name); }
};

Params decodeParams(const CallSpec& call, const json& params)
{
    Reader reader{schema::ObjectReader(params, "params", HCS_E_PROTOCOL_ERROR)};
    Params out = emptyParams(call.method);
    std::visit([&](auto& p) { fields(reader, call, p); }, out);
    reader.object.finish();
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

Result<Request> decodeRequest(std::string_view text, std::optional<uint64_t>* idOut)
{
    idOut->reset();
    auto parsed = schema::parseJson(text, schema::kWireLineLimits, "the request line", HCS_E_PROTOCOL_ERROR);
    if (!parsed) return parsed.error();
    const json& message = *parsed;
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
    const CallSpec* call = findCallByName(method->get<std::string>());
    if (!call) return makeError(HCS_E_UNKNOWN_MESSAGE, "unknown method \"" + method->get<std::string>() + "\"");
    request.method = call->method;
    static const json kEmpty = json::object();
    auto params = message.find("params");
    const json* p = &kEmpty;
    if (params != message.end() && !params->is_null()) {
        if (!params->is_object()) return makeError(HCS_E_PROTOCOL_ERROR, "\"params\" must be an object");
        p = &*params;
    }
    try {
        request.params = decodeParams(*call, *p);
    } catch (const schema::SchemaError& e) {
        return makeError(e.hr, e.what());
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
std::string encodeResult(uint64_t id, const json& result, uint32_t fdCount)
{
    std::string fds = fdCount == 0 ? std::string() : ",\"fds\":" + std::to_string(fdCount);
    return "{\"id\":" + std::to_string(id) + fds + ",\"result\":" + dump(result) + "}\n";
}

std::string encodeError(std::optional<uint64_t> id, HRESULT hr, std::string_view message)
{
    json error{{"hr", static_cast<int32_t>(hr)},
               {"name", hresultName(hr)},
               {"message", std::string(message)},
               {"document", schema::resultError(hr, message)}};
    return "{\"id\":" + (id ? std::to_string(*id) : std::string("null")) + ",\"error\":" + dump(error) + "}\n";
}

std::string encodeEvent(std::string_view event, uint64_t handle, const json& data)
{
    return "{\"event\":" + dump(json(std::string(event))) + ",\"handle\":" + std::to_string(handle) +
           ",\"data\":" + dump(data) + "}\n";
}

Result<std::string> encodeRequest(const Request& request)
{
    const CallSpec& call = callSpec(request.method);
    if (request.params.index() != call.paramsIndex) {
        return makeError(E_INVALIDARG, std::string("the params given for ") + methodName(request.method) +
                                           " are not the struct the catalogue names for it");
    }
    Writer writer;
    Params params = request.params;
    std::visit([&](auto& p) { fields(writer, call, p); }, params);
    return line(json{{"id", request.id}, {"method", call.name}, {"params", std::move(writer.out)}});
}

Result<ServerMessage> decodeServerMessage(std::string_view text)
{
    auto parsed = schema::parseJson(text, schema::kWireLineLimits, "a line from hcsd", HCS_E_PROTOCOL_ERROR);
    if (!parsed) return parsed.error();
    const json& message = *parsed;
    if (!message.is_object()) {
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
            reply.document =
                schema::resultErrorText(reply.hr, err->value("message", std::string("hcsd reported an error")));
        }
        return ServerMessage(reply);
    }
    auto result = message.find("result");
    if (result == message.end())
        return makeError(HCS_E_PROTOCOL_ERROR, "hcsd sent a reply with neither result nor error");
    if (!result->is_null()) reply.document = result->dump();
    if (auto fds = message.find("fds"); fds != message.end()) {
        if (!fds->is_number_unsigned() || fds->get<uint64_t>() > kMaxReplyFds) {
            return makeError(HCS_E_PROTOCOL_ERROR, "hcsd sent a reply whose \"fds\" is not a count of at most " +
                                                       std::to_string(kMaxReplyFds));
        }
        reply.fdCount = fds->get<uint32_t>();
    }
    return ServerMessage(reply);
}

}  // namespace hc::hcs::protocol
