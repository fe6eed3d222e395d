#include "hcs/schema/save_options.h"

#include "hcs/schema/json_limits.h"
#include "hcs/schema/json_reader.h"

namespace hc::hcs::schema {

using nlohmann::json;

namespace {

// Empty text or "null": the defaults.
Result<json> parseOptions(std::string_view text, const char* what)
{
    if (text.empty()) return json();
    return parseJson(text, kDocumentLimits, std::string("the ") + what, HCS_E_INVALID_JSON);
}

}  // namespace

Result<SaveOptions> parseSaveOptions(std::string_view text)
{
    auto doc = parseOptions(text, "SaveOptions");
    if (!doc) return doc.error();
    SaveOptions options;
    if (doc->is_null()) return options;
    try {
        ObjectReader reader(*doc, "SaveOptions");
        if (auto type = reader.optEnum("SaveType", {"ToFile", "AsTemplate"})) {
            options.type = *type == "AsTemplate" ? SaveType::AsTemplate : SaveType::ToFile;
        }
        options.saveStateFilePath = reader.optString("SaveStateFilePath").value_or("");
        if (!options.saveStateFilePath.empty() && options.saveStateFilePath[0] != '/') {
            reader.fail("SaveStateFilePath", "must be an absolute path");
        }
        reader.finish();
        return options;
    } catch (const SchemaError& e) {
        return makeError(e.hr, e.what());
    }
}

Status parseCrashOptions(std::string_view text)
{
    auto doc = parseOptions(text, "CrashOptions");
    if (!doc) return doc.error();
    if (doc->is_null()) return {};
    try {
        ObjectReader reader(*doc, "CrashOptions");
        reader.optEnum("Type", {"CrashGuest"});
        if (!reader.optString("GuestDebugStateFile").value_or("").empty()) {
            reader.rejectUnsupported("GuestDebugStateFile",
                                     "a guest debug state (memory dump) file is not supported; the crash "
                                     "report carries what the guest reported");
        }
        reader.finish();
        return {};
    } catch (const SchemaError& e) {
        return makeError(e.hr, e.what());
    }
}

}  // namespace hc::hcs::schema
