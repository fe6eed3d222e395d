#include "projfs/store/item_record.h"

namespace hc::projfs {

const char* itemStateName(ItemState state)
{
    switch (state) {
        case ItemState::Full:
            return "full";
        case ItemState::Placeholder:
            return "placeholder";
        case ItemState::HydratedPlaceholder:
            return "hydrated";
        case ItemState::Tombstone:
            return "tombstone";
    }
    return "full";
}

std::optional<ItemState> parseItemState(std::string_view text)
{
    for (ItemState s :
         {ItemState::Full, ItemState::Placeholder, ItemState::HydratedPlaceholder, ItemState::Tombstone}) {
        if (text == itemStateName(s)) return s;
    }
    return std::nullopt;
}

PRJ_FILE_STATE fileStateFlags(const ItemRecord& record)
{
    unsigned flags = 0;
    switch (record.state) {
        case ItemState::Full:
            flags = PRJ_FILE_STATE_FULL;
            break;
        case ItemState::Placeholder:
            flags = PRJ_FILE_STATE_PLACEHOLDER;
            break;
        case ItemState::HydratedPlaceholder:
            flags = PRJ_FILE_STATE_HYDRATED_PLACEHOLDER;
            break;
        case ItemState::Tombstone:
            flags = PRJ_FILE_STATE_TOMBSTONE;
            break;
    }
    if (record.dirty && record.state != ItemState::Full && record.state != ItemState::Tombstone) {
        flags |= PRJ_FILE_STATE_DIRTY_PLACEHOLDER;
    }
    return static_cast<PRJ_FILE_STATE>(flags);
}

}  // namespace hc::projfs
