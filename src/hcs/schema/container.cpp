#include "hcs/schema/container.h"

namespace hc::hcs::schema {

namespace {

using K = JsonKind;
constexpr FieldFate Hint = FieldFate::Hint;
constexpr FieldFate Unsupported = FieldFate::Unsupported;

constexpr FieldRule kContainerRules[] = {
    {"MappedPipes", K::Array, Unsupported, "mapped named pipes are not supported yet (use MappedDirectories)"},
    {"HvSocket", K::Object, Unsupported, "Hyper-V sockets are not supported in containers"},
    {"ContainerCredentialGuard", K::Object, Unsupported, "Credential Guard is Windows-only"},
    {"RegistryChanges", K::Object, Unsupported, "registry changes apply to Windows containers only"},
    {"AssignedDevices", K::Array, Unsupported, "device assignment is not supported yet"},
    {"AdditionalDeviceNamespace", K::Object, Unsupported, "device namespaces are not supported yet"},
};

constexpr FieldRule kStorageRules[] = {
    {"QoS", K::Object, Unsupported, "storage QoS limits are not supported yet"},
};

constexpr FieldRule kLayerRules[] = {
    {"Cache", K::String, Hint, "Windows' layer caching policy"},
};

constexpr FieldRule kMappedDirectoryRules[] = {
    {"SupportCloudFiles", K::Boolean, Unsupported, "cloud files are Windows-only"},
};

constexpr FieldRule kNetworkingRules[] = {
    {"AllowUnqualifiedDnsQuery", K::Boolean, Hint, "DNS resolution is the image's /etc/resolv.conf"},
    {"DnsSearchList", K::String, Hint, "DNS resolution is the image's /etc/resolv.conf"},
    {"NetworkSharedContainerName", K::String, Unsupported, "sharing another container's network is not supported"},
    {"NetworkAdapters", K::StringArray, Unsupported,
     "HNS endpoints do not exist here (a container has loopback only, or the host's network)"},
};

constexpr uint64_t kMinContainerMemoryMB = 6;  // below this the runtime's own init does not fit
constexpr uint32_t kMaxContainerProcessors = 1024;
constexpr uint32_t kProcessorScale = 10000;  // Maximum and Weight are out of 10000
constexpr size_t kMaxHostName = 64;

std::string requireAbsolute(ObjectReader& reader, std::string_view name)
{
    auto path = reader.optString(name);
    if (!path || path->empty()) reader.fail(name, "required field is missing");
    if ((*path)[0] != '/') reader.fail(name, "expected an absolute path, got \"" + *path + "\"");
    for (size_t start = 0; start <= path->size();) {
        size_t end = path->find('/', start);
        if (end == std::string::npos) end = path->size();
        if (path->compare(start, end - start, "..") == 0) {
            reader.fail(name, "\"" + *path + "\" has a \"..\" component");
        }
        start = end + 1;
    }
    return *path;
}

void checkHostName(ObjectReader& reader, std::string_view field, const std::string& name)
{
    if (name.size() > kMaxHostName) reader.fail(field, "longer than 64 characters");
    for (unsigned char c : name) {
        if (!isalnum(c) && c != '-' && c != '.') {
            reader.fail(field, "\"" + name + "\" may hold only letters, digits, '-' and '.'");
        }
    }
}

void readStorage(ObjectReader storage, ContainerConfig& c, std::vector<Refusal>& refusals)
{
    auto layers = storage.optObjectArray("Layers");
    if (layers.empty()) storage.fail("Layers", "required field is missing (at least one read-only layer)");
    for (auto& layer : layers) {
        ContainerLayer l;
        l.id = layer.optString("Id").value_or("");
        l.path = requireAbsolute(layer, "Path");
        auto type = layer.optEnum("PathType", {"AbsolutePath", "VirtualSmbShareName"}).value_or("AbsolutePath");
        refuseIf(type != "AbsolutePath", layer.fieldPath("PathType"),
                 "layers on SMB shares are not supported (AbsolutePath is)", refusals);
        applyFieldRules(layer, kLayerRules, refusals);
        layer.finish();
        c.layers.push_back(std::move(l));
    }
    c.scratchPath = requireAbsolute(storage, "Path");
    applyFieldRules(storage, kStorageRules, refusals);
    storage.finish();
}

void readMappedDirectories(ObjectReader& container, ContainerConfig& c, std::vector<Refusal>& refusals)
{
    for (auto& mapped : container.optObjectArray("MappedDirectories")) {
        MappedDirectory m;
        m.hostPath = requireAbsolute(mapped, "HostPath");
        m.containerPath = requireAbsolute(mapped, "ContainerPath");
        if (m.containerPath == "/") mapped.fail("ContainerPath", "\"/\" is the container's root file system");
        auto type = mapped.optEnum("HostPathType", {"AbsolutePath", "VirtualSmbShareName"}).value_or("AbsolutePath");
        refuseIf(type != "AbsolutePath", mapped.fieldPath("HostPathType"),
                 "SMB shares are not supported (AbsolutePath is)", refusals);
        m.readOnly = mapped.optBool("ReadOnly").value_or(false);
        applyFieldRules(mapped, kMappedDirectoryRules, refusals);
        mapped.finish();
        c.mappedDirectories.push_back(std::move(m));
    }
}

void readProcessor(ObjectReader processor, ContainerConfig& c)
{
    auto count = processor.optUnsigned("Count", kMaxContainerProcessors);
    auto maximum = processor.optUnsigned("Maximum", kProcessorScale);
    auto weight = processor.optUnsigned("Weight", kProcessorScale);
    processor.finish();
    if (count && *count == 0) processor.fail("Count", "must be at least 1");
    if (maximum && *maximum == 0) processor.fail("Maximum", "must be 1 to 10000");
    if (weight && *weight == 0) processor.fail("Weight", "must be 1 to 10000");
    if (count.has_value() + maximum.has_value() + weight.has_value() > 1) {
        failInvalid(processor.path(), "Count, Maximum and Weight are mutually exclusive");
    }
    if (count) c.processorCount = static_cast<uint32_t>(*count);
    if (maximum) c.processorMaximum = static_cast<uint32_t>(*maximum);
    if (weight) c.processorWeight = static_cast<uint32_t>(*weight);
}

void readNetworking(ObjectReader networking, ContainerConfig& c, std::vector<Refusal>& refusals)
{
    if (auto ns = networking.optString("Namespace"); ns && !ns->empty()) {
        if (*ns == "host") {
            c.network = ContainerNetwork::Host;
        } else {
            refusals.push_back({networking.fieldPath("Namespace"),
                                "HNS namespaces do not exist here (\"host\" shares the host's network; absent = "
                                "a private namespace with loopback)"});
        }
    }
    applyFieldRules(networking, kNetworkingRules, refusals);
    networking.finish();
}

}  // namespace

ContainerConfig readContainer(ObjectReader reader, std::vector<Refusal>& refusals)
{
    ContainerConfig c;
    auto storage = reader.optObject("Storage");
    if (!storage) reader.fail("Storage", "required field is missing (Layers and Path)");
    readStorage(*storage, c, refusals);
    readMappedDirectories(reader, c, refusals);
    if (auto memory = reader.optObject("Memory")) {
        auto size = memory->optUnsigned("SizeInMB", UINT64_MAX / (1024 * 1024));
        memory->finish();
        if (size && *size < kMinContainerMemoryMB) {
            memory->fail("SizeInMB", "at least " + std::to_string(kMinContainerMemoryMB) + " MB");
        }
        c.memorySizeInMB = size;
    }
    if (auto processor = reader.optObject("Processor")) readProcessor(*processor, c);
    if (auto networking = reader.optObject("Networking")) readNetworking(*networking, c, refusals);
    if (auto name = reader.optString("HostName")) {
        checkHostName(reader, "HostName", *name);
        c.hostName = *name;
    }
    if (auto guestOs = reader.optObject("GuestOs")) {
        if (auto name = guestOs->optString("HostName")) {
            checkHostName(*guestOs, "HostName", *name);
            if (c.hostName.empty()) c.hostName = *name;
        }
        guestOs->finish();
    }
    applyFieldRules(reader, kContainerRules, refusals);
    reader.finish();
    return c;
}

}  // namespace hc::hcs::schema
