#include "hcs/schema/documents.h"

#include "hcs/schema/json_limits.h"
#include "hcs/schema/json_reader.h"

namespace hc::hcs::schema {

using nlohmann::json;

json resultError(HRESULT hr, std::string_view message)
{
    return json{{"Error", static_cast<int32_t>(hr)}, {"ErrorMessage", std::string(message)}};
}

std::string resultErrorText(HRESULT hr, std::string_view message)
{
    return resultError(hr, message).dump(-1, ' ', false, json::error_handler_t::replace);
}

const char* exitTypeName(ExitType type)
{
    switch (type) {
        case ExitType::None:
            return "None";
        case ExitType::GracefulExit:
            return "GracefulExit";
        case ExitType::ForcedExit:
            return "ForcedExit";
        case ExitType::UnexpectedExit:
            return "UnexpectedExit";
        case ExitType::Unknown:
            break;
    }
    return "Unknown";
}

namespace {

const char* detailName(ExitDetail d)
{
    switch (d) {
        case ExitDetail::Shutdown:
            return "Shutdown";
        case ExitDetail::Terminate:
            return "Terminate";
        case ExitDetail::UnexpectedExit:
            return "UnexpectedExit";
        case ExitDetail::ServiceStop:
            return "ServiceStop";
        case ExitDetail::HcsApiFatalError:
            break;
    }
    return "HcsApiFatalError";
}

const char* initiatorName(ExitInitiator i)
{
    switch (i) {
        case ExitInitiator::None:
            return "None";
        case ExitInitiator::GuestOS:
            return "GuestOS";
        case ExitInitiator::Client:
            return "Client";
        case ExitInitiator::Internal:
            return "Internal";
        case ExitInitiator::Unknown:
            break;
    }
    return "Unknown";
}

// Parses an optional query document: empty text or "null" -> nullptr result (use defaults).
Result<json> parseOptionalDocument(std::string_view text, const char* what)
{
    if (text.empty()) return json();
    return parseJson(text, kDocumentLimits, std::string("the ") + what, HCS_E_INVALID_JSON);
}

}  // namespace

json toJson(const SystemExitStatus& s)
{
    json out{{"Status", static_cast<int32_t>(s.status)}, {"ExitType", exitTypeName(s.type)}};
    out["Attribution"] = json::array(
        {json{{"SystemExit", {{"Detail", detailName(s.detail)}, {"Initiator", initiatorName(s.initiator)}}}}});
    return out;
}

Result<PropertyQuery> parsePropertyQuery(std::string_view text)
{
    auto doc = parseOptionalDocument(text, "property query");
    if (!doc) return doc.error();
    PropertyQuery query;
    if (doc->is_null()) return query;
    try {
        ObjectReader reader(*doc, "");
        auto types = reader.optStringArray("PropertyTypes");
        reader.finish();
        for (size_t i = 0; i < types.size(); ++i) {
            const std::string& t = types[i];
            if (t == "Statistics") {
                query.statistics = true;
            } else if (t == "TerminateOnLastHandleClosed") {
                query.terminateOnLastHandleClosed = true;
            } else if (t == "ProcessList") {
                query.processList = true;
            } else if (t == "GuestConnection") {
                query.guestConnection = true;
            } else if (t == "Memory") {
                query.memory = true;
            } else if (t == "Configuration") {
                query.configuration = true;
            } else {
                failUnsupported("PropertyTypes[" + std::to_string(i) + "]",
                                "property type \"" + t +
                                    "\" is not supported (supported: Statistics, "
                                    "TerminateOnLastHandleClosed, ProcessList, GuestConnection, Memory, "
                                    "Configuration)");
            }
        }
        return query;
    } catch (const SchemaError& e) {
        return makeError(e.hr, e.what());
    }
}

Result<std::vector<ServicePropertyType>> parseServicePropertyQuery(std::string_view text)
{
    auto doc = parseOptionalDocument(text, "property query");
    if (!doc) return doc.error();
    const std::vector<ServicePropertyType> everything{ServicePropertyType::Basic, ServicePropertyType::HostCompute};
    if (doc->is_null()) return everything;
    try {
        ObjectReader reader(*doc, "");
        auto types = reader.optStringArray("PropertyTypes");
        // Filters for property types (FilteredPropertyQuery); none of the types answered here has any.
        if (const auto* queries = reader.optMember("Queries"); queries && !queries->empty()) {
            failUnsupported("Queries", "filtered service property queries are not supported");
        }
        reader.finish();
        if (types.empty()) return everything;
        std::vector<ServicePropertyType> out;
        for (size_t i = 0; i < types.size(); ++i) {
            if (types[i] == "Basic") {
                out.push_back(ServicePropertyType::Basic);
            } else if (types[i] == "HostCompute") {
                out.push_back(ServicePropertyType::HostCompute);
            } else {
                failUnsupported(
                    "PropertyTypes[" + std::to_string(i) + "]",
                    "service property type \"" + types[i] + "\" is not supported (supported: Basic, HostCompute)");
            }
        }
        return out;
    } catch (const SchemaError& e) {
        return makeError(e.hr, e.what());
    }
}

Result<EnumerateQuery> parseEnumerateQuery(std::string_view text)
{
    auto doc = parseOptionalDocument(text, "enumerate query");
    if (!doc) return doc.error();
    EnumerateQuery query;
    if (doc->is_null()) return query;
    try {
        ObjectReader reader(*doc, "");
        query.ids = reader.optStringArray("Ids");
        query.names = reader.optStringArray("Names");
        query.types = reader.optStringArray("Types");
        query.owners = reader.optStringArray("Owners");
        reader.finish();
        return query;
    } catch (const SchemaError& e) {
        return makeError(e.hr, e.what());
    }
}

}  // namespace hc::hcs::schema
