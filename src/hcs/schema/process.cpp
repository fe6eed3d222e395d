#include "hcs/schema/process.h"

#include <algorithm>
#include <map>

#include "hcs/schema/json_limits.h"
#include "hcs/schema/json_reader.h"

namespace hc::hcs::schema {

using nlohmann::json;

namespace {

// Empty text or JSON null -> null (defaults apply).
Result<json> parseOptional(std::string_view text, const char* what)
{
    if (text.empty()) return json();
    return parseJson(text, kDocumentLimits, std::string("the ") + what, HCS_E_INVALID_JSON);
}

bool hasControlCharacter(std::string_view text)
{
    return std::any_of(text.begin(), text.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

void checkNoNul(std::string_view path, std::string_view text)
{
    if (text.find('\0') != std::string_view::npos) failInvalid(path, "contains a NUL character");
}

std::vector<std::string> readCommandArgs(ObjectReader& reader)
{
    const json* v = reader.optMember("CommandArgs");
    std::vector<std::string> args;
    if (!v) return args;
    if (!v->is_array()) reader.fail("CommandArgs", "expected an array of strings, got " + describeJsonType(*v));
    if (v->size() > kMaxProcessArguments) {
        reader.fail("CommandArgs", "more than " + std::to_string(kMaxProcessArguments) + " arguments");
    }
    for (size_t i = 0; i < v->size(); ++i) {
        std::string path = reader.fieldPath("CommandArgs") + "[" + std::to_string(i) + "]";
        if (!(*v)[i].is_string()) failInvalid(path, "expected a string, got " + describeJsonType((*v)[i]));
        args.push_back((*v)[i].get<std::string>());
        checkNoNul(path, args.back());
    }
    return args;
}

std::vector<std::pair<std::string, std::string>> readEnvironment(ObjectReader& reader)
{
    std::map<std::string, std::string> env;
    if (const json* v = reader.optMember("Environment")) {
        if (!v->is_object()) reader.fail("Environment", "expected an object of strings, got " + describeJsonType(*v));
        if (v->size() > kMaxEnvironmentEntries) {
            reader.fail("Environment", "more than " + std::to_string(kMaxEnvironmentEntries) + " variables");
        }
        for (const auto& [name, value] : v->items()) {
            std::string path = reader.fieldPath("Environment") + "." + name;
            if (name.empty()) failInvalid(reader.fieldPath("Environment"), "a variable has an empty name");
            if (name.find('=') != std::string::npos) failInvalid(path, "a variable name cannot contain '='");
            checkNoNul(path, name);
            if (!value.is_string()) failInvalid(path, "expected a string, got " + describeJsonType(value));
            checkNoNul(path, value.get<std::string>());
            env[name] = value.get<std::string>();
        }
    }
    env.try_emplace("PATH", kDefaultPath);
    return {env.begin(), env.end()};
}

void readConsoleSize(ObjectReader& reader, ProcessParameters& p)
{
    const json* v = reader.optMember("ConsoleSize");
    if (!v) return;
    const std::string path = reader.fieldPath("ConsoleSize");
    if (!v->is_array() || v->size() != 2) failInvalid(path, "expected [height, width], got " + v->dump());
    for (size_t i = 0; i < 2; ++i) {
        const json& n = (*v)[i];
        if (!n.is_number_unsigned() || n.get<uint64_t>() > UINT16_MAX) {
            failInvalid(path + "[" + std::to_string(i) + "]", "expected an unsigned integer up to 65535");
        }
    }
    p.consoleHeight = static_cast<uint16_t>((*v)[0].get<uint64_t>());
    p.consoleWidth = static_cast<uint16_t>((*v)[1].get<uint64_t>());
}

void checkUser(std::string_view path, const std::string& user)
{
    if (user.size() > kMaxUserBytes) failInvalid(path, "longer than " + std::to_string(kMaxUserBytes) + " bytes");
    if (hasControlCharacter(user)) failInvalid(path, "contains a control character");
}

}  // namespace

Result<std::vector<std::string>> splitCommandLine(std::string_view line, std::string_view field)
{
    std::vector<std::string> words;
    std::string word;
    bool inWord = false;
    enum { Plain, Single, Double } quote = Plain;
    for (size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (quote == Single) {
            if (c == '\'') {
                quote = Plain;
            } else {
                word += c;
            }
            continue;
        }
        if (quote == Double) {
            if (c == '"') {
                quote = Plain;
            } else if (c == '\\' && i + 1 < line.size() && std::string_view("\"\\$`").find(line[i + 1]) != line.npos) {
                word += line[++i];
            } else {
                word += c;
            }
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (inWord) words.push_back(std::move(word));
            word.clear();
            inWord = false;
            continue;
        }
        inWord = true;
        if (c == '\'') {
            quote = Single;
        } else if (c == '"') {
            quote = Double;
        } else if (c == '\\') {
            if (i + 1 == line.size()) {
                return makeError(HCS_E_INVALID_JSON, std::string(field) + ": ends with a lone backslash");
            }
            word += line[++i];
        } else {
            word += c;
        }
    }
    if (quote != Plain) {
        return makeError(HCS_E_INVALID_JSON,
                         std::string(field) + ": unterminated " + (quote == Single ? "single" : "double") + " quote");
    }
    if (inWord) words.push_back(std::move(word));
    return words;
}

Result<ProcessParameters> parseProcessParameters(std::string_view document)
{
    auto parsed = parseJson(document, kDocumentLimits, "the process parameters", HCS_E_INVALID_JSON);
    if (!parsed) return parsed.error();
    try {
        ObjectReader reader(*parsed, "");
        ProcessParameters p;
        auto application = reader.optString("ApplicationName");
        auto commandLine = reader.optString("CommandLine");
        std::vector<std::string> args = readCommandArgs(reader);
        if (args.empty() && commandLine) {
            checkNoNul("CommandLine", *commandLine);
            auto split = splitCommandLine(*commandLine);
            if (!split) return split.error();
            args = std::move(*split);
            if (args.size() > kMaxProcessArguments) {
                failInvalid("CommandLine", "more than " + std::to_string(kMaxProcessArguments) + " arguments");
            }
        }
        if (application) {
            checkNoNul("ApplicationName", *application);
            if (application->empty()) failInvalid("ApplicationName", "is empty");
            if (args.empty()) {
                args.push_back(*application);
            } else {
                args[0] = *application;
            }
        }
        if (args.empty() || args[0].empty()) {
            failInvalid("CommandLine", "no command: give CommandArgs, CommandLine or ApplicationName");
        }
        p.argv = std::move(args);
        p.workingDirectory = reader.optString("WorkingDirectory").value_or("");
        checkNoNul("WorkingDirectory", p.workingDirectory);
        if (!p.workingDirectory.empty() && p.workingDirectory[0] != '/') {
            failInvalid("WorkingDirectory",
                        "expected an absolute path in the guest, got \"" + p.workingDirectory + "\"");
        }
        p.environment = readEnvironment(reader);
        p.user = reader.optString("User").value_or("");
        checkUser("User", p.user);
        p.emulateConsole = reader.optBool("EmulateConsole").value_or(false);
        readConsoleSize(reader, p);
        p.createStdIn = reader.optBool("CreateStdInPipe").value_or(false);
        p.createStdOut = reader.optBool("CreateStdOutPipe").value_or(false);
        p.createStdErr = reader.optBool("CreateStdErrPipe").value_or(false);
        // Windows-only fields.
        reader.rejectUnsupported("RestrictedToken", "restricted tokens apply to Windows guests only");
        reader.rejectUnsupported("ConsoleHandle", "console handles apply to Windows guests only");
        reader.rejectUnsupported("OCISpecification", "OCI specifications are for containers, not supported yet");
        reader.finish();
        return p;
    } catch (const SchemaError& e) {
        return makeError(e.hr, e.what());
    }
}

Result<ProcessModifyRequest> parseProcessModifyRequest(std::string_view document)
{
    auto parsed = parseJson(document, kDocumentLimits, "the process modify request", HCS_E_INVALID_JSON);
    if (!parsed) return parsed.error();
    try {
        ObjectReader reader(*parsed, "");
        ProcessModifyRequest r;
        auto operation = reader.optEnum("Operation", {"ConsoleSize", "CloseHandle"});
        if (!operation) reader.fail("Operation", "required field is missing");
        auto size = reader.optObject("ConsoleSize");
        auto close = reader.optObject("CloseHandle");
        if (*operation == "ConsoleSize") {
            r.operation = ProcessModifyRequest::Operation::ConsoleSize;
            if (!size) reader.fail("ConsoleSize", "required when Operation is ConsoleSize");
            r.height = static_cast<uint16_t>(size->reqUnsigned("Height", UINT16_MAX));
            r.width = static_cast<uint16_t>(size->reqUnsigned("Width", UINT16_MAX));
            size->finish();
            if (close) reader.fail("CloseHandle", "not allowed when Operation is ConsoleSize");
        } else {
            r.operation = ProcessModifyRequest::Operation::CloseHandle;
            if (!close) reader.fail("CloseHandle", "required when Operation is CloseHandle");
            auto handle = close->optEnum("Handle", {"StdIn", "StdOut", "StdErr", "All"});
            if (!handle) close->fail("Handle", "required field is missing");
            close->finish();
            if (size) reader.fail("ConsoleSize", "not allowed when Operation is CloseHandle");
            r.handle = *handle == "StdIn"    ? ProcessModifyRequest::Handle::StdIn
                       : *handle == "StdOut" ? ProcessModifyRequest::Handle::StdOut
                       : *handle == "StdErr" ? ProcessModifyRequest::Handle::StdErr
                                             : ProcessModifyRequest::Handle::All;
        }
        reader.finish();
        return r;
    } catch (const SchemaError& e) {
        return makeError(e.hr, e.what());
    }
}

Result<int> parseSignalOptions(std::string_view document)
{
    auto parsed = parseOptional(document, "signal options");
    if (!parsed) return parsed.error();
    if (parsed->is_null()) return kDefaultSignal;
    try {
        ObjectReader reader(*parsed, "");
        auto signal = reader.optSigned("Signal");
        reader.finish();
        if (!signal) return kDefaultSignal;
        if (*signal < 1 || *signal > 64) {
            return makeError(E_INVALIDARG, "Signal: " + std::to_string(*signal) + " is not a Linux signal (1..64)");
        }
        return static_cast<int>(*signal);
    } catch (const SchemaError& e) {
        return makeError(e.hr, e.what());
    }
}

Status parseTerminateOptions(std::string_view document)
{
    auto parsed = parseOptional(document, "terminate options");
    if (!parsed) return parsed.error();
    if (parsed->is_null()) return {};
    try {
        ObjectReader(*parsed, "").finish();
        return {};
    } catch (const SchemaError& e) {
        return makeError(e.hr, e.what());
    }
}

Status parseProcessQuery(std::string_view document)
{
    auto parsed = parseOptional(document, "process property query");
    if (!parsed) return parsed.error();
    if (parsed->is_null()) return {};
    try {
        ObjectReader reader(*parsed, "");
        auto types = reader.optStringArray("PropertyTypes");
        reader.finish();
        for (size_t i = 0; i < types.size(); ++i) {
            failUnsupported("PropertyTypes[" + std::to_string(i) + "]",
                            "process property type \"" + types[i] + "\" is not supported (ProcessStatus only)");
        }
        return {};
    } catch (const SchemaError& e) {
        return makeError(e.hr, e.what());
    }
}

json toJson(const ProcessStatus& s)
{
    json out{{"ProcessId", s.processId},
             {"Exited", s.exited},
             {"ExitCode", static_cast<uint32_t>(s.exitCode)},
             {"LastWaitResult", static_cast<int32_t>(s.lastWaitResult)}};
    if (s.signal) out["Signal"] = *s.signal;
    if (!s.errorMessage.empty()) out["ErrorMessage"] = s.errorMessage;
    return out;
}

}  // namespace hc::hcs::schema
