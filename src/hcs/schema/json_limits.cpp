#include "hcs/schema/json_limits.h"

#include <string>

namespace hc::hcs::schema {

Status checkJsonLimits(std::string_view text, const JsonLimits& limits, std::string_view what, HRESULT hr)
{
    if (text.size() > limits.maxBytes) {
        return makeError(hr, std::string(what) + " is " + std::to_string(text.size()) +
                                 " bytes, more than the limit of " + std::to_string(limits.maxBytes));
    }
    // Brackets inside strings do not nest; an escaped quote does not end a string. Malformed text is
    // left to the parser: only the depth matters here.
    size_t depth = 0;
    bool inString = false;
    bool escaped = false;
    for (char c : text) {
        if (inString) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                inString = false;
            }
            continue;
        }
        if (c == '"') {
            inString = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limits.maxDepth) {
                return makeError(hr, std::string(what) + " nests arrays and objects deeper than the limit of " +
                                         std::to_string(limits.maxDepth) + " levels");
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return {};
}

Result<nlohmann::json> parseJson(std::string_view text, const JsonLimits& limits, std::string_view what, HRESULT hr)
{
    if (Status st = checkJsonLimits(text, limits, what, hr); !st) return st.error();
    nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) return makeError(hr, std::string(what) + " is not valid JSON");
    return value;
}

}  // namespace hc::hcs::schema
