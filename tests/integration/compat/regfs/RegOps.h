// The RegFS sample's registry access (regOps.h in microsoft/Windows-classic-samples) replaced by a fake
// registry: the same class and methods, over a fixed in-memory tree instead of the Windows registry. The
// sample's stdafx.h includes "RegOps.h", which finds this file; everything else of the sample is unchanged.
//
// The tree (keys are directories, values files whose content is the value's bytes):
//   HKEY_LOCAL_MACHINE\SOFTWARE\hostcompute\Version        "0.1.0"
//   HKEY_LOCAL_MACHINE\SOFTWARE\hostcompute\Description    "Windows HCS and ProjFS APIs on Linux"
//   HKEY_LOCAL_MACHINE\SOFTWARE\hostcompute\Providers\RegFS\Enabled   "1"
//   HKEY_CURRENT_USER\Environment\Path                     "C:\Windows"
//   HKEY_CLASSES_ROOT, HKEY_USERS, HKEY_CURRENT_CONFIG     (empty)
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace regfs {

// Represents a single entry in the registry, capturing its name and size (as in the sample).
struct RegEntry {
    std::wstring Name;
    ULONG Size;
};

// Stores RegEntry items for the entries within a registry key, separated into lists of subkeys and values.
struct RegEntries {
    std::vector<RegEntry> SubKeys;
    std::vector<RegEntry> Values;
};

class RegOps {
public:
    RegOps()
    {
        for (const wchar_t* root : {L"HKEY_CLASSES_ROOT", L"HKEY_CURRENT_USER", L"HKEY_LOCAL_MACHINE", L"HKEY_USERS",
                                    L"HKEY_CURRENT_CONFIG"}) {
            _roots[root] = std::make_unique<Key>();
        }
        SetValue(L"HKEY_LOCAL_MACHINE\\SOFTWARE\\hostcompute", L"Version", "0.1.0");
        SetValue(L"HKEY_LOCAL_MACHINE\\SOFTWARE\\hostcompute", L"Description", "Windows HCS and ProjFS APIs on Linux");
        SetValue(L"HKEY_LOCAL_MACHINE\\SOFTWARE\\hostcompute\\Providers\\RegFS", L"Enabled", "1");
        SetValue(L"HKEY_CURRENT_USER\\Environment", L"Path", "C:\\Windows");
    }

    // The subkeys and values of the key at `path` ("" or "\" is the root: the predefined keys).
    HRESULT EnumerateKey(const std::wstring& path, RegEntries& entries)
    {
        if (path.empty() || path == L"\\") {
            for (const auto& root : _roots) {
                entries.SubKeys.push_back(RegEntry{root.first, 0});
            }
            return S_OK;
        }
        const Key* key = Find(path);
        if (key == nullptr) {
            return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
        }
        for (const auto& sub : key->subKeys) {
            entries.SubKeys.push_back(RegEntry{sub.first, 0});
        }
        for (const auto& value : key->values) {
            entries.Values.push_back(RegEntry{value.first, static_cast<ULONG>(value.second.size())});
        }
        return S_OK;
    }

    // Copies the value at `path` (<key>\<value>) into `data`; `len` is the buffer size in and the value's
    // size out. False when there is no such value or it does not fit.
    bool ReadValue(const std::wstring& path, PBYTE data, UINT32& len)
    {
        const std::string* value = FindValue(path);
        if (value == nullptr || value->size() > len) {
            return false;
        }
        std::copy(value->begin(), value->end(), data);
        len = static_cast<UINT32>(value->size());
        return true;
    }

    bool DoesKeyExist(const std::wstring& path) { return Find(path) != nullptr; }

    bool DoesValueExist(const std::wstring& path, INT64& valSize)
    {
        const std::string* value = FindValue(path);
        if (value == nullptr) {
            return false;
        }
        valSize = static_cast<INT64>(value->size());
        return true;
    }

private:
    struct Key {
        std::map<std::wstring, std::unique_ptr<Key>> subKeys;
        std::map<std::wstring, std::string> values;
    };

    static std::vector<std::wstring> Split(const std::wstring& path)
    {
        std::vector<std::wstring> parts;
        size_t start = 0;
        while (start <= path.size()) {
            size_t end = path.find(L'\\', start);
            if (end == std::wstring::npos) {
                end = path.size();
            }
            if (end > start) {
                parts.push_back(path.substr(start, end - start));
            }
            start = end + 1;
        }
        return parts;
    }

    // Registry names compare without regard to case, as file names do in ProjFS.
    static Key* Child(const std::map<std::wstring, std::unique_ptr<Key>>& keys, const std::wstring& name)
    {
        for (const auto& entry : keys) {
            if (PrjFileNameCompare(entry.first.c_str(), name.c_str()) == 0) {
                return entry.second.get();
            }
        }
        return nullptr;
    }

    Key* Find(const std::wstring& path) const
    {
        std::vector<std::wstring> parts = Split(path);
        if (parts.empty()) {
            return nullptr;
        }
        Key* key = Child(_roots, parts[0]);
        for (size_t i = 1; key != nullptr && i < parts.size(); ++i) {
            key = Child(key->subKeys, parts[i]);
        }
        return key;
    }

    const std::string* FindValue(const std::wstring& path) const
    {
        size_t last = path.find_last_of(L'\\');
        if (last == std::wstring::npos) {
            return nullptr;  // a predefined key, not a value
        }
        const Key* key = Find(path.substr(0, last));
        if (key == nullptr) {
            return nullptr;
        }
        std::wstring name = path.substr(last + 1);
        for (const auto& value : key->values) {
            if (PrjFileNameCompare(value.first.c_str(), name.c_str()) == 0) {
                return &value.second;
            }
        }
        return nullptr;
    }

    void SetValue(const std::wstring& keyPath, const std::wstring& name, const std::string& data)
    {
        std::vector<std::wstring> parts = Split(keyPath);
        Key* key = _roots[parts[0]].get();
        for (size_t i = 1; i < parts.size(); ++i) {
            auto& sub = key->subKeys[parts[i]];
            if (!sub) {
                sub = std::make_unique<Key>();
            }
            key = sub.get();
        }
        key->values[name] = data;
    }

    std::map<std::wstring, std::unique_ptr<Key>> _roots;
};

}  // namespace regfs
