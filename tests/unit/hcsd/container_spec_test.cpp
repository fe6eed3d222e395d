// The Container document: field-precise validation (schema/container.h) and its OCI bundle
// (container/oci_spec.h), without a runtime.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hcs/container/oci_spec.h"
#include "hcs/schema/compute_system.h"

namespace hc::hcs {
namespace {

using nlohmann::json;

json baseDocument()
{
    return {{"SchemaVersion", {{"Major", 2}, {"Minor", 1}}},
            {"Container",
             {{"Storage",
               {{"Layers", json::array({{{"Id", "top"}, {"Path", "/l/top"}}, {{"Id", "base"}, {"Path", "/l/base"}}})},
                {"Path", "/scratch"}}}}}};
}

Result<schema::ComputeSystemConfig> parse(const json& document)
{
    return schema::parseComputeSystem(document.dump());
}

TEST(ContainerSchema, ReadsEveryImplementedField)
{
    json doc = baseDocument();
    doc["Container"]["MappedDirectories"] =
        json::array({{{"HostPath", "/h/a"}, {"ContainerPath", "/a"}, {"ReadOnly", true}},
                     {{"HostPath", "/h/b"}, {"ContainerPath", "/b"}}});
    doc["Container"]["Memory"] = {{"SizeInMB", 64}};
    doc["Container"]["Processor"] = {{"Count", 2}};
    doc["Container"]["HostName"] = "web-1";
    doc["Container"]["Networking"] = {{"Namespace", "host"}, {"DnsSearchList", "example.org"}};
    auto config = parse(doc);
    ASSERT_TRUE(config) << config.error().message;
    ASSERT_TRUE(config->container);
    const auto& c = *config->container;
    ASSERT_EQ(c.layers.size(), 2u);
    EXPECT_EQ(c.layers[0].path, "/l/top");
    EXPECT_EQ(c.scratchPath, "/scratch");
    ASSERT_EQ(c.mappedDirectories.size(), 2u);
    EXPECT_TRUE(c.mappedDirectories[0].readOnly);
    EXPECT_FALSE(c.mappedDirectories[1].readOnly);
    EXPECT_EQ(c.memorySizeInMB, 64u);
    EXPECT_EQ(c.processorCount, 2u);
    EXPECT_EQ(c.hostName, "web-1");
    EXPECT_EQ(c.network, schema::ContainerNetwork::Host);
    EXPECT_TRUE(config->hasGuestAgent());
    EXPECT_STREQ(config->systemType(), "Container");
}

struct BadCase {
    const char* name;
    const char* pointer;
    json value;
    HRESULT hr;
    const char* message;
};

class ContainerSchemaErrors : public testing::TestWithParam<BadCase> {};

TEST_P(ContainerSchemaErrors, NameTheField)
{
    const BadCase& c = GetParam();
    json doc = baseDocument();
    doc[json::json_pointer(c.pointer)] = c.value;
    auto config = parse(doc);
    ASSERT_FALSE(config) << c.name;
    EXPECT_EQ(config.error().hr, c.hr) << config.error().message;
    EXPECT_NE(config.error().message.find(c.message), std::string::npos) << config.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ContainerSchemaErrors,
    testing::Values(
        BadCase{"no layers", "/Container/Storage/Layers", json::array(), HCS_E_INVALID_JSON,
                "Container.Storage.Layers: required field is missing"},
        BadCase{"relative layer", "/Container/Storage/Layers/0/Path", "rel", HCS_E_INVALID_JSON,
                "Container.Storage.Layers[0].Path: expected an absolute path"},
        BadCase{"dotdot scratch", "/Container/Storage/Path", "/a/../b", HCS_E_INVALID_JSON,
                "Container.Storage.Path: \"/a/../b\" has a \"..\" component"},
        BadCase{"no storage", "/Container/Storage", nullptr, HCS_E_INVALID_JSON, "Container.Storage: required"},
        BadCase{"mapped to root", "/Container/MappedDirectories",
                json::array({{{"HostPath", "/h"}, {"ContainerPath", "/"}}}), HCS_E_INVALID_JSON,
                "Container.MappedDirectories[0].ContainerPath: \"/\" is the container's root"},
        BadCase{"mapped typo", "/Container/MappedDirectories",
                json::array({{{"HostPath", "/h"}, {"ContainerPath", "/c"}, {"Readonly", true}}}), HCS_E_INVALID_JSON,
                "Container.MappedDirectories[0].Readonly: unknown field"},
        BadCase{"tiny memory", "/Container/Memory", json{{"SizeInMB", 1}}, HCS_E_INVALID_JSON,
                "Container.Memory.SizeInMB: at least 6 MB"},
        BadCase{"count and weight", "/Container/Processor", json{{"Count", 1}, {"Weight", 100}}, HCS_E_INVALID_JSON,
                "Container.Processor: Count, Maximum and Weight are mutually exclusive"},
        BadCase{"maximum too big", "/Container/Processor", json{{"Maximum", 10001}}, HCS_E_INVALID_JSON,
                "Container.Processor.Maximum"},
        BadCase{"bad host name", "/Container/HostName", "a b", HCS_E_INVALID_JSON,
                "Container.HostName: \"a b\" may hold only"},
        BadCase{"mapped pipes", "/Container/MappedPipes", json::array({json::object()}), E_NOTIMPL,
                "Container.MappedPipes: mapped named pipes are not supported yet"},
        BadCase{"hns namespace", "/Container/Networking", json{{"Namespace", "8a3b..."}}, E_NOTIMPL,
                "Container.Networking.Namespace: HNS namespaces do not exist here"},
        BadCase{"smb layer", "/Container/Storage/Layers/0/PathType", "VirtualSmbShareName", E_NOTIMPL,
                "Container.Storage.Layers[0].PathType"},
        BadCase{"container and vm", "/VirtualMachine", json::object(), HCS_E_INVALID_JSON,
                "a VirtualMachine or a Container, not both"}));

container::BundleSettings settings()
{
    container::BundleSettings s;
    s.rootfs = "/state/rootfs/hcs-x";
    s.agentBinary = "/usr/lib/hcs-guest";
    s.cgroupsPath = "/hostcompute/hcs-x";
    s.hostName = "sys1";
    s.hostCpus = 4;
    return s;
}

schema::ContainerConfig configOf(const json& document)
{
    auto config = parse(document);
    EXPECT_TRUE(config) << config.error().message;
    return config ? *config->container : schema::ContainerConfig{};
}

TEST(OciSpec, DefaultsAndInit)
{
    json spec = container::buildOciSpec(configOf(baseDocument()), settings());
    EXPECT_EQ(spec["root"]["path"], "/state/rootfs/hcs-x");
    EXPECT_EQ(spec["hostname"], "sys1");
    EXPECT_EQ(spec["process"]["args"], json::array({container::kAgentPathInContainer, "--container"}));
    EXPECT_EQ(spec["process"]["terminal"], false);
    // The OCI default capability set, the same in every set, and nothing inheritable or ambient.
    const auto& caps = spec["process"]["capabilities"];
    EXPECT_EQ(caps["bounding"].size(), 14u);
    EXPECT_EQ(caps["bounding"], caps["effective"]);
    EXPECT_EQ(caps["bounding"], caps["permitted"]);
    EXPECT_FALSE(caps.contains("inheritable"));
    EXPECT_FALSE(caps.contains("ambient"));
    for (const auto& cap : caps["bounding"])
        EXPECT_NE(cap, "CAP_SYS_ADMIN");
    json types = json::array();
    for (const auto& ns : spec["linux"]["namespaces"])
        types.push_back(ns["type"]);
    EXPECT_EQ(types, json::array({"pid", "ipc", "uts", "mount", "network"}));
    EXPECT_EQ(spec["linux"]["cgroupsPath"], "/hostcompute/hcs-x");
    bool agentMounted = false;
    for (const auto& m : spec["mounts"]) {
        if (m["destination"] == container::kAgentPathInContainer) {
            agentMounted = true;
            EXPECT_EQ(m["source"], "/usr/lib/hcs-guest");
            EXPECT_NE(std::find(m["options"].begin(), m["options"].end(), "ro"), m["options"].end());
        }
    }
    EXPECT_TRUE(agentMounted);
    EXPECT_FALSE(spec["linux"]["resources"].contains("memory"));
    EXPECT_FALSE(spec["linux"]["resources"].contains("cpu"));
}

TEST(OciSpec, ResourcesMountsAndNetwork)
{
    json doc = baseDocument();
    doc["Container"]["MappedDirectories"] =
        json::array({{{"HostPath", "/h/a"}, {"ContainerPath", "/a"}, {"ReadOnly", true}},
                     {{"HostPath", "/h/b"}, {"ContainerPath", "/b"}}});
    doc["Container"]["Memory"] = {{"SizeInMB", 64}};
    doc["Container"]["Processor"] = {{"Maximum", 5000}};
    doc["Container"]["HostName"] = "named";
    doc["Container"]["Networking"] = {{"Namespace", "host"}};
    json spec = container::buildOciSpec(configOf(doc), settings());
    EXPECT_EQ(spec["hostname"], "named");
    EXPECT_EQ(spec["linux"]["resources"]["memory"]["limit"], 64 * 1024 * 1024);
    // Half of a 4-CPU host: two CPUs' worth of time per period.
    EXPECT_EQ(spec["linux"]["resources"]["cpu"]["quota"], 200000);
    EXPECT_EQ(spec["linux"]["resources"]["cpu"]["period"], 100000);
    for (const auto& ns : spec["linux"]["namespaces"])
        EXPECT_NE(ns["type"], "network");
    json a, b;
    for (const auto& m : spec["mounts"]) {
        if (m["destination"] == "/a") a = m;
        if (m["destination"] == "/b") b = m;
    }
    ASSERT_TRUE(a.is_object() && b.is_object());
    EXPECT_EQ(a["source"], "/h/a");
    EXPECT_EQ(a["type"], "bind");
    EXPECT_NE(std::find(a["options"].begin(), a["options"].end(), "ro"), a["options"].end());
    EXPECT_NE(std::find(b["options"].begin(), b["options"].end(), "rw"), b["options"].end());

    doc["Container"]["Processor"] = {{"Weight", 10000}};
    EXPECT_EQ(container::buildOciSpec(configOf(doc), settings())["linux"]["resources"]["cpu"]["shares"], 262144);
    doc["Container"]["Processor"] = {{"Count", 3}};
    EXPECT_EQ(container::buildOciSpec(configOf(doc), settings())["linux"]["resources"]["cpu"]["quota"], 300000);
}

}  // namespace
}  // namespace hc::hcs
