// The official and real-world sample documents in tests/data/hcs-samples (README.md there names each
// source): every one is known completely — no HCS_E_INVALID_JSON, no unknown field — and what
// hostcompute cannot run is exactly the list in expected-unsupported.json.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "hcs/schema/compute_system.h"

namespace hc::hcs::schema {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kSamples = fs::path(HC_TEST_DATA_DIR) / "hcs-samples";

std::string readFile(const fs::path& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST(SchemaSamples, EveryOfficialSampleIsKnownCompletely)
{
    const json expected = json::parse(readFile(kSamples / "expected-unsupported.json"));
    size_t checked = 0;
    for (const auto& entry : fs::directory_iterator(kSamples)) {
        const std::string name = entry.path().filename();
        if (entry.path().extension() != ".json" || name == "expected-unsupported.json") continue;
        SCOPED_TRACE(name);
        ASSERT_TRUE(expected.contains(name)) << "add " << name << " to expected-unsupported.json";
        auto config = readComputeSystem(readFile(entry.path()));
        ASSERT_TRUE(config.ok()) << config.error().message;
        std::vector<std::string> unsupported;
        for (const auto& refusal : config->unsupported)
            unsupported.push_back(refusal.field);
        auto wanted = expected[name].get<std::vector<std::string>>();
        std::sort(unsupported.begin(), unsupported.end());
        std::sort(wanted.begin(), wanted.end());
        EXPECT_EQ(unsupported, wanted);
        // parseComputeSystem (what hcsd runs) accepts exactly the samples with nothing unsupported.
        auto parsed = parseComputeSystem(readFile(entry.path()));
        EXPECT_EQ(parsed.ok(), wanted.empty()) << (parsed ? "" : parsed.error().message);
        if (!parsed) {
            EXPECT_EQ(parsed.error().hr, E_NOTIMPL);
        }
        ++checked;
    }
    EXPECT_EQ(checked, expected.size()) << "a sample listed in expected-unsupported.json is missing";
}

TEST(SchemaSamples, QuickStartBootsItsScsiDisk)
{
    auto config = parseComputeSystem(readFile(kSamples / "quickstart-uefi-scsi.json"));
    ASSERT_TRUE(config.ok()) << config.error().message;
    const auto& vm = config->virtualMachine;
    ASSERT_TRUE(vm.uefi && vm.uefi->bootThis);
    EXPECT_EQ(vm.uefi->bootThis->controller, "Primary disk controller");
    EXPECT_EQ(vm.scsi.at("Primary disk controller").attachments.at(0).path, "/srv/vm/ubuntu.vhdx");
    EXPECT_EQ(vm.comPorts.at(0).namedPipe, "\\\\.\\pipe\\vmpipe");
}

}  // namespace
}  // namespace hc::hcs::schema
