// Limits on every JSON text hcsd and the client library parse (wire lines, documents, state files),
// checked before the JSON library builds anything: nlohmann's parser is iterative but dumping and
// copying a value recurse, so a deeply nested text must never become a value (docs/protocol.md, "Limits").
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string_view>

#include "base/result.h"

namespace hc::hcs::schema {

struct JsonLimits {
    size_t maxBytes = 0;
    size_t maxDepth = 0;  // nesting of arrays and objects; a scalar is depth 0
};

// HCS documents (configurations, queries, options, state files): real ones are a few KB, about 8 deep.
inline constexpr JsonLimits kDocumentLimits{4 * 1024 * 1024, 64};
// One line of the hcsd protocol: an envelope around documents given inline (two more levels).
inline constexpr JsonLimits kWireLineLimits{16 * 1024 * 1024, kDocumentLimits.maxDepth + 2};

// Fails with `hr` and a message naming `what` and the exceeded limit. Does not validate the JSON.
Status checkJsonLimits(std::string_view text, const JsonLimits& limits, std::string_view what, HRESULT hr);

// checkJsonLimits, then parses; invalid JSON fails with `hr` ("<what> is not valid JSON").
Result<nlohmann::json> parseJson(std::string_view text, const JsonLimits& limits, std::string_view what, HRESULT hr);

}  // namespace hc::hcs::schema
