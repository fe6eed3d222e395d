#include "hcs/schema/field_rules.h"

namespace hc::hcs::schema {

using nlohmann::json;

namespace {

bool matches(const json& value, JsonKind kind)
{
    switch (kind) {
        case JsonKind::Boolean:
            return value.is_boolean();
        case JsonKind::Unsigned:
            return value.is_number_unsigned();
        case JsonKind::Integer:
            return value.is_number_integer();
        case JsonKind::String:
            return value.is_string();
        case JsonKind::Object:
            return value.is_object();
        case JsonKind::Array:
            return value.is_array();
        case JsonKind::StringArray:
            if (!value.is_array()) return false;
            for (const auto& item : value) {
                if (!item.is_string()) return false;
            }
            return true;
    }
    return false;
}

const char* kindName(JsonKind kind)
{
    switch (kind) {
        case JsonKind::Boolean:
            return "a boolean";
        case JsonKind::Unsigned:
            return "an unsigned integer";
        case JsonKind::Integer:
            return "an integer";
        case JsonKind::String:
            return "a string";
        case JsonKind::Object:
            return "an object";
        case JsonKind::Array:
            return "an array";
        case JsonKind::StringArray:
            return "an array of strings";
    }
    return "?";
}

// hcsshim and Windows write these fields with omitempty: the empty value means "not asked for". An
// object is the exception: its presence is the request ("Keyboard": {} asks for a keyboard).
bool isEmptyDefault(const json& value)
{
    if (value.is_boolean()) return !value.get<bool>();
    if (value.is_number()) return value == 0;
    if (value.is_string() || value.is_array()) return value.empty();
    return false;
}

}  // namespace

void applyFieldRules(ObjectReader& reader, std::span<const FieldRule> rules, std::vector<Refusal>& refusals)
{
    for (const FieldRule& rule : rules) {
        const json* value = reader.optMember(rule.name);
        if (!value) continue;
        if (!matches(*value, rule.kind)) {
            reader.fail(rule.name,
                        std::string("expected ") + kindName(rule.kind) + ", got " + describeJsonType(*value));
        }
        if (rule.fate == FieldFate::Unsupported && !isEmptyDefault(*value)) {
            refusals.push_back({reader.fieldPath(rule.name), std::string(rule.reason)});
        }
    }
}

void refuseIf(bool condition, std::string field, std::string_view reason, std::vector<Refusal>& refusals)
{
    if (condition) refusals.push_back({std::move(field), std::string(reason)});
}

}  // namespace hc::hcs::schema
