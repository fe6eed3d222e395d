// HandleTable: maps the opaque HCS_* handle values given to callers to reference-counted objects, so a
// NULL, closed or garbage handle is a failed lookup instead of a wild pointer, and a close racing a use
// is safe (the user keeps its shared_ptr until it is done).
//
// A handle value is (serial << 4) | kind tag: serials are never reused, so a closed handle stays
// invalid forever, and a handle of another kind (an HCS_SYSTEM passed as an HCS_OPERATION) is rejected.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace hc::hcs {

enum class HandleKind : uintptr_t { Operation = 0x1, System = 0x2, Process = 0x3 };

template <typename Object, HandleKind Kind>
class HandleTable {
public:
    // Registers `object` and returns its new handle value (never 0).
    uintptr_t insert(std::shared_ptr<Object> object)
    {
        std::lock_guard lock(mutex_);
        const uintptr_t value = (nextSerial_++ << 4) | static_cast<uintptr_t>(Kind);
        objects_.emplace(value, std::move(object));
        return value;
    }

    // The object behind `handle`, or null when the handle is NULL, closed, of another kind or garbage.
    std::shared_ptr<Object> find(const void* handle) const
    {
        const auto value = reinterpret_cast<uintptr_t>(handle);
        if (!isWellFormed(value)) return nullptr;
        std::lock_guard lock(mutex_);
        auto it = objects_.find(value);
        return it == objects_.end() ? nullptr : it->second;
    }

    // Unregisters `handle`; returns its object, or null when it was not registered.
    std::shared_ptr<Object> remove(const void* handle)
    {
        const auto value = reinterpret_cast<uintptr_t>(handle);
        if (!isWellFormed(value)) return nullptr;
        std::lock_guard lock(mutex_);
        auto it = objects_.find(value);
        if (it == objects_.end()) return nullptr;
        auto object = std::move(it->second);
        objects_.erase(it);
        return object;
    }

    // Every registered object (for broadcasts such as ServiceDisconnect).
    std::vector<std::shared_ptr<Object>> all() const
    {
        std::lock_guard lock(mutex_);
        std::vector<std::shared_ptr<Object>> result;
        result.reserve(objects_.size());
        for (const auto& [value, object] : objects_)
            result.push_back(object);
        return result;
    }

    size_t size() const
    {
        std::lock_guard lock(mutex_);
        return objects_.size();
    }

private:
    static bool isWellFormed(uintptr_t value) { return value != 0 && (value & 0xF) == static_cast<uintptr_t>(Kind); }

    mutable std::mutex mutex_;
    uintptr_t nextSerial_ = 1;
    std::unordered_map<uintptr_t, std::shared_ptr<Object>> objects_;
};

}  // namespace hc::hcs
