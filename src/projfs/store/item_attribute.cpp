#include "projfs/store/item_attribute.h"

#include "base/hresult.h"

#include <cstring>

namespace hc::projfs {
namespace {

constexpr unsigned char kKnownFlags = kItemDirty | kItemProjected | kItemVersioned;

unsigned char stateCode(ItemState state)
{
    switch (state) {
        case ItemState::Full:
            return 0;
        case ItemState::Placeholder:
            return 1;
        case ItemState::HydratedPlaceholder:
            return 2;
        case ItemState::Tombstone:
            return 3;
    }
    return 0;
}

// Bytes up to the last non-zero one: providers' IDs are usually far shorter than the 128-byte arrays.
size_t significantLength(const UINT8* bytes, size_t size)
{
    while (size > 0 && bytes[size - 1] == 0)
        --size;
    return size;
}

Error corrupt(const std::string& what)
{
    return makeError(HRESULT_FROM_WIN32(ERROR_FILE_SYSTEM_VIRTUALIZATION_METADATA_CORRUPT),
                     "ProjFS item attribute " + what);
}

}  // namespace

std::string encodeItemAttribute(const ItemRecord& record)
{
    unsigned char flags = 0;
    if (record.dirty) flags |= kItemDirty;
    if (record.projected) flags |= kItemProjected;
    if (record.version) flags |= kItemVersioned;
    if (record.state == ItemState::Full && flags == 0) return {};
    std::string value;
    value.push_back(static_cast<char>(kItemAttributeFormat));
    value.push_back(static_cast<char>(stateCode(record.state)));
    value.push_back(static_cast<char>(flags));
    if (record.version) {
        const auto& version = *record.version;
        size_t provider = significantLength(version.ProviderID, sizeof(version.ProviderID));
        size_t content = significantLength(version.ContentID, sizeof(version.ContentID));
        value.push_back(static_cast<char>(provider));
        value.push_back(static_cast<char>(content));
        value.append(reinterpret_cast<const char*>(version.ProviderID), provider);
        value.append(reinterpret_cast<const char*>(version.ContentID), content);
    }
    if (record.projected) value.append(record.originPath);
    return value;
}

Result<ItemRecord> decodeItemAttribute(std::string_view value, bool isDirectory)
{
    if (value.size() < 3) return corrupt("is " + std::to_string(value.size()) + " bytes long (at least 3 expected)");
    auto byte = [&](size_t i) { return static_cast<unsigned char>(value[i]); };
    if (byte(0) != kItemAttributeFormat) return corrupt("has unknown format " + std::to_string(byte(0)));
    if (byte(1) > 3) return corrupt("has unknown state " + std::to_string(byte(1)));
    const unsigned char flags = byte(2);
    if ((flags & ~kKnownFlags) != 0) return corrupt("has unknown flags " + std::to_string(flags));

    ItemRecord record;
    record.isDirectory = isDirectory;
    static constexpr ItemState kStates[] = {ItemState::Full, ItemState::Placeholder, ItemState::HydratedPlaceholder,
                                            ItemState::Tombstone};
    record.state = kStates[byte(1)];
    record.dirty = (flags & kItemDirty) != 0;
    size_t at = 3;
    if (flags & kItemVersioned) {
        PRJ_PLACEHOLDER_VERSION_INFO version{};
        if (value.size() < at + 2) return corrupt("ends inside the version lengths");
        size_t provider = byte(at), content = byte(at + 1);
        at += 2;
        if (provider > sizeof(version.ProviderID) || content > sizeof(version.ContentID))
            return corrupt("has a version ID longer than 128 bytes");
        if (value.size() < at + provider + content) return corrupt("ends inside the version IDs");
        std::memcpy(version.ProviderID, value.data() + at, provider);
        std::memcpy(version.ContentID, value.data() + at + provider, content);
        at += provider + content;
        record.version = version;
    }
    if (flags & kItemProjected) {
        record.projected = true;
        record.originPath.assign(value.substr(at));
    } else if (at != value.size()) {
        return corrupt("has " + std::to_string(value.size() - at) + " trailing bytes");
    }
    return record;
}

}  // namespace hc::projfs
