// Reads one JSON object field by field, naming every field by its path
// ("VirtualMachine.ComputeTopology.Memory.SizeInMB", "params.handle") so that invalid input is reported
// with the exact field that is wrong. Fields the reader was not asked about are rejected by finish(): a
// typo must not be silently ignored (docs/hcsd.md, "Unknown fields"). The one reader for schema
// documents (HCS_E_INVALID_JSON) and the wire protocol's params (HCS_E_PROTOCOL_ERROR).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/hresult.h"
#include "base/result.h"

namespace hc::hcs::schema {

// Thrown inside the schema module only; parse functions convert it to hc::Error at their boundary.
struct SchemaError : std::runtime_error {
    SchemaError(HRESULT hr, std::string message) : std::runtime_error(message), hr(hr) {}
    HRESULT hr;
};

// "a.b" + "c" -> "a.b.c"; the root path is empty.
std::string joinPath(std::string_view parent, std::string_view field);

// The JSON type name used in messages: "string", "an unsigned integer", ...
std::string describeJsonType(const nlohmann::json& value);

class ObjectReader {
public:
    // Throws SchemaError(invalidHr) unless `value` is an object; every later failure of this reader
    // and of the readers of its members uses `invalidHr` too (E_NOTIMPL stays E_NOTIMPL).
    ObjectReader(const nlohmann::json& value, std::string path, HRESULT invalidHr = HCS_E_INVALID_JSON);

    const std::string& path() const { return path_; }
    std::string fieldPath(std::string_view name) const { return joinPath(path_, name); }
    bool has(std::string_view name);

    std::string reqString(std::string_view name);
    uint64_t reqUnsigned(std::string_view name, uint64_t max = UINT64_MAX);
    std::optional<std::string> optString(std::string_view name);
    std::optional<bool> optBool(std::string_view name);
    std::optional<uint64_t> optUnsigned(std::string_view name, uint64_t max = UINT64_MAX);
    std::optional<int64_t> optSigned(std::string_view name);
    // A string that must be one of `allowed`.
    std::optional<std::string> optEnum(std::string_view name, const std::vector<std::string_view>& allowed);
    std::vector<std::string> optStringArray(std::string_view name);
    // The member itself (marked as read); nullptr when absent or null.
    const nlohmann::json* optMember(std::string_view name);
    std::optional<ObjectReader> optObject(std::string_view name);
    // An array of objects ("Shares": [{...}]), each read at "<path>.<name>[i]"; empty when absent.
    std::vector<ObjectReader> optObjectArray(std::string_view name);
    // The names of this object's members, sorted (for maps such as "Scsi": {"<name>": {...}}).
    std::vector<std::string> memberNames() const;
    // A document argument: a JSON string holding the document, or the document inline (object or
    // array, returned as text); "" when absent or null.
    std::string optDocumentText(std::string_view name);

    // A field this implementation knows but does not support: present -> E_NOTIMPL naming the field.
    void rejectUnsupported(std::string_view name, std::string_view why);
    // Fails on fields nobody asked about.
    void finish() const;
    // Throws SchemaError(invalidHr, "<path of name>: <what>").
    [[noreturn]] void fail(std::string_view name, std::string_view what) const;

private:
    [[noreturn]] void failAt(std::string_view path, std::string_view what) const;

    const nlohmann::json* value_;
    std::string path_;
    HRESULT invalidHr_;
    std::set<std::string, std::less<>> seen_;
};

// Throws SchemaError(HCS_E_INVALID_JSON, "<path>: <what>").
[[noreturn]] void failInvalid(std::string_view path, std::string_view what);
// Throws SchemaError(E_NOTIMPL, "<path>: <what>").
[[noreturn]] void failUnsupported(std::string_view path, std::string_view what);

}  // namespace hc::hcs::schema
