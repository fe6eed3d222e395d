// The small HCS documents other than the configuration: ResultError (every failure), SystemExitStatus
// (SystemExited events and WaitForComputeSystemExit), and the property / enumerate queries.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace hc::hcs::schema {

// {"Error": <int32 HRESULT>, "ErrorMessage": "..."}: the one builder of ResultError documents (hcsd's
// error replies, the client library's own failures: cancel, disconnect, timeouts).
nlohmann::json resultError(HRESULT hr, std::string_view message);
// The same as JSON text; invalid UTF-8 in the message is replaced, never thrown.
std::string resultErrorText(HRESULT hr, std::string_view message);

enum class ExitType { None, GracefulExit, ForcedExit, UnexpectedExit, Unknown };
enum class ExitDetail { Shutdown, Terminate, UnexpectedExit, ServiceStop, HcsApiFatalError };
enum class ExitInitiator { None, GuestOS, Client, Internal, Unknown };

const char* exitTypeName(ExitType type);

struct SystemExitStatus {
    HRESULT status = S_OK;
    ExitType type = ExitType::None;
    ExitDetail detail = ExitDetail::Shutdown;
    ExitInitiator initiator = ExitInitiator::None;
};

// {"Status": hr, "ExitType": "...", "Attribution": [{"SystemExit": {"Detail": "...", "Initiator": "..."}}]}
nlohmann::json toJson(const SystemExitStatus& status);

// PropertyQuery {"PropertyTypes": [...]}: an empty or null query asks for the basic properties only.
struct PropertyQuery {
    bool statistics = false;
    bool terminateOnLastHandleClosed = false;
    bool processList = false;
    bool guestConnection = false;
    bool memory = false;         // Windows' MemoryInformationForVm, from the balloon
    bool configuration = false;  // hostcompute's own: the configuration document with every Modify applied
};
// Unknown property types fail with E_NOTIMPL naming the type ("ProcessList", "GuestConnection", ...).
Result<PropertyQuery> parsePropertyQuery(std::string_view query);

// The PropertyQuery of HcsGetServiceProperties. Windows answers {"Properties": [...]}, one element per
// requested type in the query's order; the types answered here are "Basic" ({"SupportedSchemaVersions":
// [...]}, Windows' BasicInformation) and "HostCompute" (hostcompute's own facts under their own names).
// An empty or null query asks for both. Any other type fails with E_NOTIMPL naming it.
enum class ServicePropertyType { Basic, HostCompute };
Result<std::vector<ServicePropertyType>> parseServicePropertyQuery(std::string_view query);

// Enumerate query {"Ids": [], "Names": [], "Types": [], "Owners": []}; an empty list matches everything.
struct EnumerateQuery {
    std::vector<std::string> ids, names, types, owners;
};
Result<EnumerateQuery> parseEnumerateQuery(std::string_view query);

}  // namespace hc::hcs::schema
