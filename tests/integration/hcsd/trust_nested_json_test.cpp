// Issue 7, hole 3: one request line of deeply nested JSON (~160 KB) must not take hcsd down — as a
// document parameter (`query`, `configuration`, as text or inline), as the request's own params, or as
// the whole line; before and after Hello. hcsd answers an error (or closes that connection) and keeps
// serving other clients.
#include <ostream>

#include "daemon_under_test.h"
#include "trust_support.h"

namespace hcsd_test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kBytes = 160 * 1024;

// [[[[…]]]] of about kBytes.
std::string nestedArrays()
{
    return std::string(kBytes / 2, '[') + std::string(kBytes / 2, ']');
}

// {"a":{"a":…{}…}} of about kBytes; `inString` escapes the quotes for use inside a JSON string.
std::string nestedObjects(bool inString)
{
    const std::string open = inString ? R"({\"a\":)" : R"({"a":)";
    const size_t depth = kBytes / (open.size() + 1);
    std::string text;
    text.reserve(depth * (open.size() + 1) + 2);
    for (size_t i = 0; i < depth; ++i)
        text += open;
    text += "{}";
    text.append(depth, '}');
    return text;
}

std::string request(const std::string& method, const std::string& paramsText)
{
    return R"({"id":900,"method":")" + method + R"(","params":)" + paramsText + "}";
}

struct HostileLine {
    const char* name;
    bool hello;
    std::string (*line)();
};

void PrintTo(const HostileLine& hostile, std::ostream* out)
{
    *out << hostile.name;
}

// Document parameters arrive as JSON text in a string (as the C API sends them) or inline (as typed by
// hand); both reach the daemon's parsers.
std::string queryText()
{
    return request("EnumerateComputeSystems", R"({"query":")" + nestedArrays() + R"("})");
}
std::string queryInline()
{
    return request("EnumerateComputeSystems", R"({"query":)" + nestedArrays() + "}");
}
std::string configurationText()
{
    return request("CreateComputeSystem",
                   R"({"handle":1,"id":"deep","configuration":")" + nestedObjects(true) + R"("})");
}
std::string configurationInline()
{
    return request("CreateComputeSystem", R"({"handle":1,"id":"deep","configuration":)" + nestedArrays() + "}");
}

const HostileLine kHostileLines[] = {
    {"QueryTextBeforeHello", false, queryText},
    {"QueryTextAfterHello", true, queryText},
    {"QueryInlineBeforeHello", false, queryInline},
    {"QueryInlineAfterHello", true, queryInline},
    {"ConfigurationTextBeforeHello", false, configurationText},
    {"ConfigurationTextAfterHello", true, configurationText},
    {"ConfigurationInlineBeforeHello", false, configurationInline},
    {"ConfigurationInlineAfterHello", true, configurationInline},
    {"ParamsNestedBeforeHello", false, [] { return request("Hello", R"({"client":)" + nestedArrays() + "}"); }},
    {"WholeLineNestedAfterHello", true, nestedArrays},
};

class NestedJson : public ::testing::TestWithParam<HostileLine> {};

TEST_P(NestedJson, Hole3_OneDeeplyNestedLineDoesNotCrashTheDaemon)
{
    const HostileLine& hostile = GetParam();
    DaemonUnderTest hcsd;
    RawClient attacker(hcsd.socketPath(), hostile.hello);
    ASSERT_TRUE(attacker.connected());
    attacker.sendLine(hostile.line());

    // An error reply, or the connection closed; not silence, not success.
    auto sent = Clock::now();
    auto answer = attacker.readMessage(30s);
    if (answer) {
        EXPECT_TRUE(answer->contains("error")) << "hcsd accepted the nested line: " << answer->dump().substr(0, 300);
    } else {
        EXPECT_LT(Clock::now() - sent, 30s) << "hcsd neither answered nor closed the connection within 30 s";
    }
    EXPECT_TRUE(hcsd.running()) << "hcsd " << hcsd.status() << " after one " << hostile.line().size()
                                << "-byte nested line; log:\n"
                                << hcsd.logTail(10);
    if (hcsd.running()) {
        std::string problem = serviceProblem(hcsd.socketPath());
        EXPECT_EQ(problem, "") << "after the nested line";
    }
}

INSTANTIATE_TEST_SUITE_P(Trust, NestedJson, ::testing::ValuesIn(kHostileLines),
                         [](const ::testing::TestParamInfo<HostileLine>& info) {
                             return std::string(info.param.name);
                         });

}  // namespace
}  // namespace hcsd_test
