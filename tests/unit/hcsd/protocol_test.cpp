// The wire codec: requests decode into typed params or into the documented HRESULTs; server lines
// round-trip through the client decoder.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <string_view>

#include "hcs/protocol/messages.h"

namespace hc::hcs::protocol {
namespace {

using nlohmann::json;

Result<Request> decode(const std::string& line, std::optional<uint64_t>* id = nullptr)
{
    std::optional<uint64_t> ignored;
    return decodeRequest(line, id ? id : &ignored);
}

TEST(Protocol, DecodesTypedRequests)
{
    auto r = decode(
        R"({"id": 7, "method": "CreateComputeSystem", "params": {"handle": 1, "id": "vm", "configuration": "{}"}})");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->id, 7u);
    EXPECT_EQ(r->method, Method::CreateComputeSystem);
    const auto& p = std::get<CreateParams>(r->params);
    EXPECT_EQ(p.handle, 1u);
    EXPECT_EQ(p.id, "vm");
    EXPECT_EQ(p.configuration, "{}");

    // A document may be typed inline as an object.
    auto inline_ = decode(
        R"({"id": 8, "method": "GetComputeSystemProperties", "params": {"handle": 1, "query": {"PropertyTypes": []}}})");
    ASSERT_TRUE(inline_.ok());
    EXPECT_EQ(json::parse(std::get<SystemCallParams>(inline_->params).document),
              json::parse(R"({"PropertyTypes": []})"));

    auto wait = decode(R"({"id": 9, "method": "WaitForComputeSystemExit", "params": {"handle": 2}})");
    ASSERT_TRUE(wait.ok());
    EXPECT_EQ(std::get<WaitExitParams>(wait->params).timeoutMs, 0xFFFFFFFFu);
}

struct BadLine {
    const char* line;
    HRESULT hr;
    std::optional<uint64_t> id;
    const char* messageContains;
};

TEST(Protocol, RejectsMalformedLines)
{
    const BadLine cases[] = {
        {"not json", HCS_E_PROTOCOL_ERROR, std::nullopt, "not valid JSON"},
        {"[1]", HCS_E_PROTOCOL_ERROR, std::nullopt, "JSON object"},
        {R"({"method": "Hello"})", HCS_E_PROTOCOL_ERROR, std::nullopt, "\"id\""},
        {R"({"id": -1, "method": "Hello"})", HCS_E_PROTOCOL_ERROR, std::nullopt, "\"id\""},
        {R"({"id": 3})", HCS_E_PROTOCOL_ERROR, 3, "\"method\""},
        {R"({"id": 3, "method": "FormatDisk"})", HCS_E_UNKNOWN_MESSAGE, 3, "FormatDisk"},
        {R"({"id": 4, "method": "StartComputeSystem", "params": []})", HCS_E_PROTOCOL_ERROR, 4, "params"},
        {R"({"id": 4, "method": "StartComputeSystem", "params": {}})", HCS_E_PROTOCOL_ERROR, 4, "params.handle"},
        {R"({"id": 4, "method": "StartComputeSystem", "params": {"handle": "1"}})", HCS_E_PROTOCOL_ERROR, 4,
         "params.handle: expected an unsigned integer"},
        {R"({"id": 4, "method": "StartComputeSystem", "params": {"handle": 1, "bogus": 1}})", HCS_E_PROTOCOL_ERROR, 4,
         "params.bogus: unknown field"},
        {R"({"id": 4, "method": "OpenComputeSystem", "params": {"handle": 1, "id": 5}})", HCS_E_PROTOCOL_ERROR, 4,
         "params.id: expected a string"},
        {R"({"id": 4, "method": "WaitForComputeSystemExit", "params": {"handle": 1, "timeoutMs": 5000000000}})",
         HCS_E_PROTOCOL_ERROR, 4, "timeoutMs"},
        {R"({"id": 5, "method": "Hello", "params": {"protocol": 1}, "extra": true})", HCS_E_PROTOCOL_ERROR, 5, "extra"},
    };
    for (const auto& c : cases) {
        std::optional<uint64_t> id;
        auto r = decode(c.line, &id);
        ASSERT_FALSE(r.ok()) << c.line;
        EXPECT_EQ(r.error().hr, c.hr) << c.line;
        EXPECT_EQ(id, c.id) << c.line;
        EXPECT_NE(r.error().message.find(c.messageContains), std::string::npos)
            << c.line << " -> " << r.error().message;
    }
}

TEST(Protocol, ServerLinesRoundTrip)
{
    auto greeting = decodeServerMessage(encodeGreeting("9.9"));
    ASSERT_TRUE(greeting.ok());
    EXPECT_EQ(std::get<Greeting>(*greeting).serviceVersion, "9.9");
    EXPECT_EQ(std::get<Greeting>(*greeting).protocols, std::vector<uint32_t>{kProtocolVersion});

    auto ok = decodeServerMessage(encodeResult(5, json{{"State", "Running"}}));
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(std::get<Reply>(*ok).id, 5u);
    EXPECT_EQ(std::get<Reply>(*ok).hr, S_OK);
    EXPECT_EQ(json::parse(std::get<Reply>(*ok).document)["State"], "Running");

    auto empty = decodeServerMessage(encodeResult(6, nullptr));
    EXPECT_EQ(std::get<Reply>(*empty).document, "");

    std::string errorLine = encodeError(7, HCS_E_INVALID_STATE, "Pause is not valid");
    EXPECT_EQ(errorLine.back(), '\n');
    EXPECT_EQ(json::parse(errorLine)["error"]["name"], "HCS_E_INVALID_STATE");
    auto err = decodeServerMessage(errorLine);
    const Reply& reply = std::get<Reply>(*err);
    EXPECT_EQ(reply.hr, HCS_E_INVALID_STATE);
    json doc = json::parse(reply.document);
    EXPECT_EQ(doc["Error"].get<int32_t>(), static_cast<int32_t>(HCS_E_INVALID_STATE));
    EXPECT_EQ(doc["ErrorMessage"], "Pause is not valid");

    // A reply that carries descriptors says how many; a count past kMaxReplyFds is a protocol error.
    auto withFds = decodeServerMessage(encodeResult(8, json{{"ProcessId", 5}, {"StdInput", 0}}, 1));
    ASSERT_TRUE(withFds.ok());
    EXPECT_EQ(std::get<Reply>(*withFds).fdCount, 1u);
    EXPECT_EQ(std::get<Reply>(*empty).fdCount, 0u);
    EXPECT_FALSE(decodeServerMessage(R"({"id": 1, "fds": 4, "result": {}})").ok());
    EXPECT_FALSE(decodeServerMessage(R"({"id": 1, "fds": -1, "result": {}})").ok());

    auto event = decodeServerMessage(encodeEvent("SystemExited", 3, json{{"Status", 0}}));
    EXPECT_EQ(std::get<Event>(*event).name, "SystemExited");
    EXPECT_EQ(std::get<Event>(*event).handle, 3u);

    // An error reply that claims success is still an error.
    auto lying = decodeServerMessage(R"({"id": 1, "error": {"hr": 0}})");
    EXPECT_LT(std::get<Reply>(*lying).hr, 0);
    EXPECT_FALSE(decodeServerMessage("garbage").ok());
    EXPECT_FALSE(decodeServerMessage(R"({"id": 1})").ok());
}

// One sample of each params struct, with every field set to something other than its default.
Params sampleParams(size_t index)
{
    const Params samples[] = {
        HelloParams{1, "client"},
        CancelParams{9},
        CreateParams{3, "vm", R"({"SchemaVersion":{"Major":2}})"},
        OpenParams{3, "vm"},
        HandleParams{3},
        QueryParams{R"({"Ids":["vm"]})"},
        SystemCallParams{3, R"({"PropertyTypes":[]})"},
        WaitExitParams{3, 1234},
        CreateProcessParams{3, 4, R"({"CommandArgs":["/bin/true"]})"},
        OpenProcessParams{3, 4, 77},
        VmAccessParams{"vm", "/var/lib/images/disk.img"},
    };
    static_assert(std::size(samples) == std::variant_size_v<Params>);
    return samples[index];
}

TEST(Protocol, EveryCallOfTheCatalogueRoundTripsThroughTheCodec)
{
    for (const CallSpec& call : allCalls()) {
        EXPECT_EQ(findCallByName(call.name), &call);
        EXPECT_EQ(callSpec(call.method).name, call.name);
        EXPECT_EQ(emptyParams(call.method).index(), call.paramsIndex) << call.name;
        Request request{42, call.method, sampleParams(call.paramsIndex)};
        // A struct without a document field cannot carry one; the sample's document is then dropped.
        auto line = encodeRequest(request);
        ASSERT_TRUE(line.ok()) << call.name << ": " << line.error().message;
        EXPECT_EQ(json::parse(*line)["method"], std::string(call.name));
        auto decoded = decode(*line);
        ASSERT_TRUE(decoded.ok()) << *line << ": " << decoded.error().message;
        EXPECT_EQ(decoded->id, 42u);
        EXPECT_EQ(decoded->method, call.method);
        EXPECT_EQ(decoded->params, request.params) << *line;
        if (!call.documentField.empty()) {
            EXPECT_TRUE(json::parse(*line)["params"].contains(std::string(call.documentField))) << *line;
        }
    }
}

TEST(Protocol, EncodeRequestRefusesParamsOfAnotherCall)
{
    auto line = encodeRequest({4, Method::StartComputeSystem, QueryParams{"{}"}});
    ASSERT_FALSE(line.ok());
    EXPECT_EQ(line.hr(), E_INVALIDARG);
    EXPECT_NE(line.error().message.find("StartComputeSystem"), std::string::npos) << line.error().message;
    // No document: null on the wire, "" again after decoding.
    auto none = encodeRequest({5, Method::StartComputeSystem, SystemCallParams{1, ""}});
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(json::parse(*none)["params"]["options"].is_null());
    EXPECT_EQ(std::get<SystemCallParams>(decode(*none)->params).document, "");
}

TEST(Protocol, CatalogueNamesEachVerbOnce)
{
    std::set<std::string_view> verbs;
    for (const CallSpec& call : allCalls()) {
        if (call.hcsctlVerb.empty()) continue;
        EXPECT_TRUE(verbs.insert(call.hcsctlVerb).second) << call.hcsctlVerb;
        EXPECT_EQ(findCallByVerb(call.hcsctlVerb), &call);
        EXPECT_FALSE(call.hcsctlHelp.empty()) << call.name;
    }
    EXPECT_EQ(findCallByVerb(""), nullptr);
    EXPECT_EQ(findCallByVerb("format"), nullptr);
}

// Hole 3: a deeply nested document must be refused before the JSON library builds (and later dumps or
// destroys) it — the daemon used to overflow its stack on one such line, even before Hello.
TEST(Protocol, DeeplyNestedLinesAreRefusedNamingTheLimit)
{
    const std::string deep = std::string(80'000, '[') + std::string(80'000, ']');
    for (const char* field : {"query", "configuration"}) {
        std::string line = std::string(R"({"id": 3, "method": ")") +
                           (std::string(field) == "query" ? "EnumerateComputeSystems" : "CreateComputeSystem") +
                           R"(", "params": {"handle": 1, "id": "x", ")" + field + "\": " + deep + "}}";
        std::optional<uint64_t> id;
        auto r = decode(line, &id);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().hr, HCS_E_PROTOCOL_ERROR);
        EXPECT_NE(r.error().message.find("limit of 66 levels"), std::string::npos) << r.error().message;
    }
    // A line from hcsd is held to the same limit.
    EXPECT_FALSE(decodeServerMessage(R"({"id": 1, "result": )" + deep + "}").ok());
    // Brackets inside strings do not count.
    std::string quoted = R"({"id": 4, "method": "EnumerateComputeSystems", "params": {"query": ")" +
                         std::string(1000, '[') + R"(\"]"}})";
    auto ok = decode(quoted);
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(std::get<QueryParams>(ok->params).query, std::string(1000, '[') + "\"]");
}

}  // namespace
}  // namespace hc::hcs::protocol
