// A bounded-time fuzz test of everything that parses untrusted JSON text: the request decoder (what
// hcsd reads from any local client, even before Hello), the client's decoder of hcsd's lines, and the
// schema document parsers. Random and mutated inputs from a fixed seed, for a few seconds; it runs in
// the unit suite, so also under ASan and TSan. Besides "does not crash", each input is checked for the
// documented outcomes: only the protocol's HRESULTs, and a decoded request re-encodes to itself.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "base/hresult.h"
#include "hcs/protocol/messages.h"
#include "hcs/schema/compute_system.h"
#include "hcs/schema/documents.h"

namespace hc::hcs::protocol {
namespace {

using Clock = std::chrono::steady_clock;

// Seconds of fuzzing; HCS_FUZZ_SECONDS overrides (longer local runs).
std::chrono::milliseconds budget()
{
    const char* env = std::getenv("HCS_FUZZ_SECONDS");
    return std::chrono::milliseconds(env ? std::atoi(env) * 1000 : 3000);
}

std::vector<std::string> seedLines()
{
    std::vector<std::string> seeds = {
        R"({"id":1,"method":"Hello","params":{"protocol":1,"client":"fuzz"}})",
        R"({"id":2,"method":"CreateComputeSystem","params":{"handle":1,"id":"vm","configuration":{"SchemaVersion":{"Major":2,"Minor":1},"VirtualMachine":{"ComputeTopology":{"Memory":{"SizeInMB":256},"Processor":{"Count":1}},"Chipset":{"Uefi":{}}}}}})",
        R"({"id":3,"method":"GetComputeSystemProperties","params":{"handle":1,"query":{"PropertyTypes":["Statistics"]}}})",
        R"({"id":4,"method":"EnumerateComputeSystems","params":{"query":"{\"Ids\":[\"a\"]}"}})",
        R"({"id":5,"method":"WaitForComputeSystemExit","params":{"handle":1,"timeoutMs":100}})",
        R"({"id":6,"result":{"State":"Running","Statistics":{"Uptime100ns":5}}})",
        R"({"id":7,"error":{"hr":-2143878907,"message":"m","document":{"Error":-2143878907,"ErrorMessage":"m"}}})",
        R"({"event":"SystemExited","handle":1,"data":{"Status":0,"ExitType":"GracefulExit"}})",
        R"({"greeting":{"service":"hcsd","version":"0.1.0","protocols":[1]}})",
    };
    for (const CallSpec& call : allCalls()) {
        auto line = encodeRequest({9, call.method, emptyParams(call.method)});
        if (line) seeds.push_back(line->substr(0, line->size() - 1));
    }
    return seeds;
}

class Mutator {
public:
    explicit Mutator(uint64_t seed) : random_(seed) {}

    size_t below(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(random_); }

    char interestingByte()
    {
        static const std::string alphabet = "{}[]\",:\\ 0123456789-+.eEtrufalsn\x01\x7f\xff\xc3";
        return below(4) == 0 ? static_cast<char>(below(256)) : alphabet[below(alphabet.size())];
    }

    std::string randomText()
    {
        std::string text(below(200), '\0');
        for (char& c : text)
            c = interestingByte();
        return text;
    }

    std::string mutate(std::string text, const std::vector<std::string>& corpus)
    {
        const int rounds = 1 + static_cast<int>(below(4));
        for (int round = 0; round < rounds; ++round) {
            const size_t at = below(text.size() + 1);
            switch (below(7)) {
                case 0:  // flip a byte
                    if (!text.empty()) text[below(text.size())] = interestingByte();
                    break;
                case 1:  // insert bytes
                    text.insert(at, std::string(1 + below(8), interestingByte()));
                    break;
                case 2:  // delete a range
                    if (!text.empty()) text.erase(at, 1 + below(16));
                    break;
                case 3: {  // a run of nesting; now and then far past every limit (rare: such inputs are slow)
                    const size_t run = below(16) == 0 ? 20'000 + below(100'000) : 1 + below(100);
                    text.insert(at, std::string(run, below(2) ? '[' : '{'));
                    break;
                }
                case 4: {  // splice in part of another seed
                    const std::string& other = corpus[below(corpus.size())];
                    size_t from = below(other.size());
                    text.insert(at, other.substr(from, below(other.size() - from + 1)));
                    break;
                }
                case 5:  // duplicate a range
                    if (!text.empty()) {
                        size_t from = below(text.size());
                        text.insert(at, text.substr(from, 1 + below(32)));
                    }
                    break;
                default:  // an extreme number
                    text.insert(at, below(2) ? "18446744073709551616" : "-1e999");
                    break;
            }
        }
        return text;
    }

private:
    std::mt19937_64 random_;
};

void checkRequestDecoder(const std::string& text)
{
    std::optional<uint64_t> id;
    auto request = decodeRequest(text, &id);
    if (!request) {
        const HRESULT hr = request.error().hr;
        EXPECT_TRUE(hr == HCS_E_PROTOCOL_ERROR || hr == HCS_E_UNKNOWN_MESSAGE) << hresultName(hr) << " for " << text;
        EXPECT_FALSE(request.error().message.empty());
        return;
    }
    ASSERT_EQ(id, request->id);
    // What hcsd decoded is what a client encoding the same call would have sent.
    auto again = encodeRequest(*request);
    ASSERT_TRUE(again.ok()) << again.error().message;
    auto redecoded = decodeRequest(*again, &id);
    ASSERT_TRUE(redecoded.ok()) << *again << ": " << redecoded.error().message;
    EXPECT_EQ(redecoded->method, request->method);
    EXPECT_EQ(redecoded->params, request->params) << text;
}

void checkEverything(const std::string& text)
{
    checkRequestDecoder(text);
    auto server = decodeServerMessage(text);
    if (!server) {
        EXPECT_EQ(server.error().hr, HCS_E_PROTOCOL_ERROR);
    }
    for (HRESULT hr : {schema::parseComputeSystem(text).hr(), schema::parsePropertyQuery(text).hr(),
                       schema::parseEnumerateQuery(text).hr()}) {
        EXPECT_TRUE(SUCCEEDED(hr) || hr == HCS_E_INVALID_JSON || hr == E_NOTIMPL) << hresultName(hr) << " for " << text;
    }
}

TEST(CodecFuzz, RandomAndMutatedInputsOnlyFailTheDocumentedWays)
{
    const std::vector<std::string> corpus = seedLines();
    Mutator mutator(0x5eed'4c0d'ec00'0001ull);
    for (const auto& seed : corpus)
        checkEverything(seed);
    const auto deadline = Clock::now() + budget();
    size_t inputs = 0;
    while (Clock::now() < deadline && !::testing::Test::HasFailure()) {
        std::string input =
            mutator.below(5) == 0 ? mutator.randomText() : mutator.mutate(corpus[mutator.below(corpus.size())], corpus);
        checkEverything(input);
        ++inputs;
    }
    std::printf("fuzzed %zu inputs\n", inputs);
    EXPECT_GT(inputs, 100u);
}

}  // namespace
}  // namespace hc::hcs::protocol
