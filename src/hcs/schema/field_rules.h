// The schema fields hostcompute knows but does not act on, as tables: each type's reader reads the
// fields it implements by hand and hands the rest of what the published schema 2.x defines to
// applyFieldRules(). A rule says the field's JSON type (always checked, so a wrong type is still
// HCS_E_INVALID_JSON naming the field) and its fate:
//   Hint        accepted and ignored: it tunes Hyper-V and means nothing to QEMU (docs/hcsd.md lists why);
//   Unsupported a feature not implemented: an object, or a value other than the empty default
//               (false, 0, "", []) is recorded as a Refusal, which parseComputeSystem() turns into E_NOTIMPL naming the
//               field.
// Refusals are collected rather than thrown so that a document can be read completely (every field
// checked) before anything says it cannot be run here.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hcs/schema/json_reader.h"

namespace hc::hcs::schema {

enum class JsonKind { Boolean, Unsigned, Integer, String, Object, Array, StringArray };
enum class FieldFate { Hint, Unsupported };

struct FieldRule {
    std::string_view name;
    JsonKind kind;
    FieldFate fate;
    std::string_view reason;  // why it is ignored, or what is missing
};

// A known feature the backend does not implement, found in a document.
struct Refusal {
    std::string field;  // "VirtualMachine.Devices.VirtualSmb"
    std::string reason;
};

// Type-checks every rule's field that is present; records a Refusal for each Unsupported field that
// is an object or is set to something other than its empty default.
void applyFieldRules(ObjectReader& reader, std::span<const FieldRule> rules, std::vector<Refusal>& refusals);

// Records a Refusal for `field` (a path) when `condition` holds.
void refuseIf(bool condition, std::string field, std::string_view reason, std::vector<Refusal>& refusals);

}  // namespace hc::hcs::schema
