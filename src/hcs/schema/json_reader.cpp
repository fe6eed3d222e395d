#include "hcs/schema/json_reader.h"

namespace hc::hcs::schema {

using nlohmann::json;

std::string joinPath(std::string_view parent, std::string_view field)
{
    if (parent.empty()) return std::string(field);
    std::string path(parent);
    path += '.';
    path += field;
    return path;
}

std::string describeJsonType(const json& value)
{
    switch (value.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::object:
            return "an object";
        case json::value_t::array:
            return "an array";
        case json::value_t::string:
            return "string";
        case json::value_t::boolean:
            return "a boolean";
        case json::value_t::number_integer:
            return "a negative integer";
        case json::value_t::number_unsigned:
            return "an unsigned integer";
        case json::value_t::number_float:
            return "a number with a fraction";
        default:
            return "an unsupported value";
    }
}

namespace {

[[noreturn]] void throwAt(HRESULT hr, std::string_view path, std::string_view what)
{
    std::string message = path.empty() ? std::string("(document)") : std::string(path);
    message += ": ";
    message += what;
    throw SchemaError(hr, message);
}

}  // namespace

void failInvalid(std::string_view path, std::string_view what)
{
    throwAt(HCS_E_INVALID_JSON, path, what);
}

void failUnsupported(std::string_view path, std::string_view what)
{
    std::string message(path);
    message += ": ";
    message += what;
    throw SchemaError(E_NOTIMPL, message);
}

ObjectReader::ObjectReader(const json& value, std::string path, HRESULT invalidHr)
    : value_(&value), path_(std::move(path)), invalidHr_(invalidHr)
{
    if (!value.is_object()) failAt(path_, "expected an object, got " + describeJsonType(value));
}

void ObjectReader::failAt(std::string_view path, std::string_view what) const
{
    throwAt(invalidHr_, path, what);
}

void ObjectReader::fail(std::string_view name, std::string_view what) const
{
    failAt(fieldPath(name), what);
}

std::string ObjectReader::reqString(std::string_view name)
{
    auto value = optString(name);
    if (!value) fail(name, "required field is missing");
    return std::move(*value);
}

uint64_t ObjectReader::reqUnsigned(std::string_view name, uint64_t max)
{
    auto value = optUnsigned(name, max);
    if (!value) fail(name, "required field is missing");
    return *value;
}

std::string ObjectReader::optDocumentText(std::string_view name)
{
    const json* v = optMember(name);
    if (!v) return {};
    if (v->is_string()) return v->get<std::string>();
    if (v->is_object() || v->is_array()) return v->dump(-1, ' ', false, json::error_handler_t::replace);
    fail(name, "expected a JSON document as a string or an object, got " + describeJsonType(*v));
}

bool ObjectReader::has(std::string_view name)
{
    auto it = value_->find(name);
    return it != value_->end() && !it->is_null();
}

const json* ObjectReader::optMember(std::string_view name)
{
    seen_.emplace(name);
    auto it = value_->find(name);
    if (it == value_->end() || it->is_null()) return nullptr;
    return &*it;
}

std::optional<std::string> ObjectReader::optString(std::string_view name)
{
    const json* v = optMember(name);
    if (!v) return std::nullopt;
    if (!v->is_string()) fail(name, "expected a string, got " + describeJsonType(*v));
    return v->get<std::string>();
}

std::optional<bool> ObjectReader::optBool(std::string_view name)
{
    const json* v = optMember(name);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) fail(name, "expected a boolean, got " + describeJsonType(*v));
    return v->get<bool>();
}

std::optional<uint64_t> ObjectReader::optUnsigned(std::string_view name, uint64_t max)
{
    const json* v = optMember(name);
    if (!v) return std::nullopt;
    if (!v->is_number_unsigned()) {
        // JSON has one number type; 5 parses as unsigned, -5 as integer, 5.5 as float.
        fail(name, "expected an unsigned integer, got " + describeJsonType(*v));
    }
    uint64_t n = v->get<uint64_t>();
    if (n > max) fail(name, "value " + std::to_string(n) + " exceeds " + std::to_string(max));
    return n;
}

std::optional<int64_t> ObjectReader::optSigned(std::string_view name)
{
    const json* v = optMember(name);
    if (!v) return std::nullopt;
    if (v->is_number_unsigned()) {
        if (v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) fail(name, "value out of range");
        return static_cast<int64_t>(v->get<uint64_t>());
    }
    if (!v->is_number_integer()) fail(name, "expected an integer, got " + describeJsonType(*v));
    return v->get<int64_t>();
}

std::optional<std::string> ObjectReader::optEnum(std::string_view name, const std::vector<std::string_view>& allowed)
{
    auto s = optString(name);
    if (!s) return s;
    for (auto a : allowed) {
        if (a == *s) return s;
    }
    std::string list;
    for (auto a : allowed) {
        if (!list.empty()) list += ", ";
        list += a;
    }
    fail(name, "\"" + *s + "\" is not one of " + list);
}

std::vector<std::string> ObjectReader::optStringArray(std::string_view name)
{
    std::vector<std::string> out;
    const json* v = optMember(name);
    if (!v) return out;
    if (!v->is_array()) fail(name, "expected an array of strings, got " + describeJsonType(*v));
    for (size_t i = 0; i < v->size(); ++i) {
        const json& item = (*v)[i];
        if (!item.is_string()) {
            failAt(fieldPath(name) + "[" + std::to_string(i) + "]", "expected a string, got " + describeJsonType(item));
        }
        out.push_back(item.get<std::string>());
    }
    return out;
}

std::optional<ObjectReader> ObjectReader::optObject(std::string_view name)
{
    const json* v = optMember(name);
    if (!v) return std::nullopt;
    return ObjectReader(*v, fieldPath(name), invalidHr_);
}

std::vector<ObjectReader> ObjectReader::optObjectArray(std::string_view name)
{
    std::vector<ObjectReader> out;
    const json* v = optMember(name);
    if (!v) return out;
    if (!v->is_array()) fail(name, "expected an array of objects, got " + describeJsonType(*v));
    for (size_t i = 0; i < v->size(); ++i) {
        out.emplace_back((*v)[i], fieldPath(name) + "[" + std::to_string(i) + "]", invalidHr_);
    }
    return out;
}

std::vector<std::string> ObjectReader::memberNames() const
{
    std::vector<std::string> names;
    for (auto it = value_->begin(); it != value_->end(); ++it)
        names.push_back(it.key());
    return names;
}

void ObjectReader::rejectUnsupported(std::string_view name, std::string_view why)
{
    if (optMember(name)) failUnsupported(fieldPath(name), why);
}

void ObjectReader::finish() const
{
    for (auto it = value_->begin(); it != value_->end(); ++it) {
        if (seen_.find(it.key()) == seen_.end()) fail(it.key(), "unknown field");
    }
}

}  // namespace hc::hcs::schema
