#include "commands.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <iterator>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/strings.h"
#include "hcs/schema/json_limits.h"
#include "hcs_session.h"
#include "progress.h"

namespace hcsctl {

using hc::hcs::protocol::Method;

namespace {

using nlohmann::json;

// Prints a result document as JSON; text that is not JSON is printed as a JSON string.
void printDocument(const Options& options, const std::string& document)
{
    auto parsed = hc::hcs::schema::parseJson(document.empty() ? "{}" : document, hc::hcs::schema::kWireLineLimits,
                                             "the result", E_FAIL);
    json value = parsed ? std::move(*parsed) : json(document);
    std::cout << value.dump(options.compact ? -1 : 2) << std::endl;
}

int reportFailure(const std::string& what, const CallOutcome& outcome)
{
    std::string message = errorMessageOf(outcome.document);
    std::cerr << "hcsctl: " << what << ": " << describeHresult(outcome.hr) << (message.empty() ? "" : ": ") << message
              << std::endl;
    return exitCodeFor(outcome.hr);
}

// Prints the document on success, the failure on stderr otherwise; returns the exit code.
int finish(const Options& options, const std::string& what, const CallOutcome& outcome)
{
    if (FAILED(outcome.hr)) {
        return reportFailure(what, outcome);
    }
    printDocument(options, outcome.document);
    return 0;
}

// Command-line text as the wide string the C API takes; invalid UTF-8 is a usage error.
bool toWide(const std::string& text, const char* what, std::wstring& wide)
{
    auto converted = hc::fromUtf8(text);
    if (!converted) {
        std::cerr << "hcsctl: " << what << " is not valid UTF-8: " << converted.error().message << std::endl;
        return false;
    }
    wide = std::move(*converted);
    return true;
}

constexpr int c_UsageExitCode = 2;

// PCWSTR of an optional argument: NULL when absent.
PCWSTR optionalText(const std::optional<std::wstring>& text)
{
    return text ? text->c_str() : nullptr;
}

bool toOptionalWide(const std::optional<std::string>& text, const char* what, std::optional<std::wstring>& wide)
{
    if (!text) {
        return true;
    }
    std::wstring converted;
    if (!toWide(*text, what, converted)) {
        return false;
    }
    wide = std::move(converted);
    return true;
}

bool readConfiguration(const std::string& file, std::string& text)
{
    if (file == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        return true;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::cerr << "hcsctl: cannot read " << file << std::endl;
        return false;
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
    return true;
}

HRESULT WINAPI modifyWithoutIdentity(HCS_SYSTEM system, HCS_OPERATION operation, PCWSTR settings)
{
    return HcsModifyComputeSystem(system, operation, settings, nullptr);
}

// The computecore.h function behind each call on one system: the catalogue names the call, this binds
// it to the C API hcsctl uses like any client program.
using SystemDocumentFunction = HRESULT(WINAPI*)(HCS_SYSTEM, HCS_OPERATION, PCWSTR);
SystemDocumentFunction cFunctionFor(Method method)
{
    switch (method) {
        case Method::StartComputeSystem:
            return HcsStartComputeSystem;
        case Method::ShutDownComputeSystem:
            return HcsShutDownComputeSystem;
        case Method::TerminateComputeSystem:
            return HcsTerminateComputeSystem;
        case Method::PauseComputeSystem:
            return HcsPauseComputeSystem;
        case Method::ResumeComputeSystem:
            return HcsResumeComputeSystem;
        case Method::SaveComputeSystem:
            return HcsSaveComputeSystem;
        case Method::CrashComputeSystem:
            return HcsCrashComputeSystem;
        case Method::GetComputeSystemProperties:
            return HcsGetComputeSystemProperties;
        case Method::ModifyComputeSystem:
            return modifyWithoutIdentity;
        default:
            return nullptr;
    }
}

// Opens `id`; on failure reports it and returns false with the exit code in `exitCode`.
bool open(const std::string& id, SystemHandle& system, int& exitCode)
{
    std::wstring wideId;
    if (!toWide(id, "the system id", wideId)) {
        exitCode = c_UsageExitCode;
        return false;
    }
    CallOutcome opened = openSystem(wideId, system);
    if (FAILED(opened.hr)) {
        exitCode = reportFailure("open " + id, opened);
        return false;
    }
    return true;
}

const char* eventTypeName(HCS_EVENT_TYPE type)
{
    switch (type) {
        case HcsEventSystemExited:
            return "SystemExited";
        case HcsEventSystemCrashInitiated:
            return "SystemCrashInitiated";
        case HcsEventSystemCrashReport:
            return "SystemCrashReport";
        case HcsEventSystemRdpEnhancedModeStateChanged:
            return "SystemRdpEnhancedModeStateChanged";
        case HcsEventSystemSiloJobCreated:
            return "SystemSiloJobCreated";
        case HcsEventSystemGuestConnectionClosed:
            return "SystemGuestConnectionClosed";
        case HcsEventProcessExited:
            return "ProcessExited";
        case HcsEventOperationCallback:
            return "OperationCallback";
        case HcsEventServiceDisconnect:
            return "ServiceDisconnect";
        default:
            return "Unknown";
    }
}

// Events from the library's callback thread, handed to the main thread which prints them.
// Lifecycle: lives on streamEvents' stack; the callback is unregistered (HcsCloseComputeSystem waits
// for running invocations) before it goes away.
struct EventQueue {
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::pair<HCS_EVENT_TYPE, std::string>> events;
};

void CALLBACK onSystemEvent(HCS_EVENT* event, void* context)
{
    auto* queue = static_cast<EventQueue*>(context);
    std::string data = event->EventData ? hc::toUtf8Lossy(event->EventData) : std::string();
    std::lock_guard lock(queue->mutex);
    queue->events.emplace_back(event->Type, std::move(data));
    queue->changed.notify_one();
}

// A string member at `path` inside a JSON document ("" when the document or the member is not there).
std::string memberAt(const std::string& document, std::initializer_list<const char*> path)
{
    json value = json::parse(document, nullptr, false);
    for (const char* name : path) {
        if (!value.is_object() || !value.contains(name)) return {};
        json inner = std::move(value[name]);
        value = std::move(inner);
    }
    return value.is_string() ? value.get<std::string>() : std::string();
}

// What a call's progress line says besides the time: the bytes of the save file while a Save writes it,
// else the system's state, and why a Start that already made it Running still waits.
ProgressLine::Detail progressDetail(Method method, const std::string& id, const std::string& document)
{
    if (method == Method::SaveComputeSystem) {
        std::string saveFile = memberAt(document, {"SaveStateFilePath"});
        return [saveFile] { return bytesWritten(saveFile); };
    }
    return [id, method] {
        std::string state = listedState(id);
        if (state.empty()) return state;
        if (method == Method::StartComputeSystem && state == "Running") {
            return std::string("state Running, waiting for the guest agent");
        }
        return "state " + state;
    };
}

// A Create's progress: what QEMU is doing until the system is Created (it is not listed before).
ProgressLine::Detail createDetail(const std::string& configuration)
{
    std::string restoreFile = memberAt(configuration, {"VirtualMachine", "RestoreState", "SaveStateFilePath"});
    if (restoreFile.empty()) return [] { return std::string("starting QEMU"); };
    std::string size = fileSize(restoreFile);  // complete already: its size is what QEMU loads
    std::string loading = "loading the saved state" + (size.empty() ? std::string() : " (" + size + ")");
    return [loading] { return loading; };
}

}  // namespace

int listSystems(const Options& options, const std::optional<std::string>& query)
{
    std::optional<std::wstring> wideQuery;
    if (!toOptionalWide(query, "the query", wideQuery)) {
        return c_UsageExitCode;
    }
    return finish(options, "list", runOperation(options.timeoutMs, [&](HCS_OPERATION operation) {
                      return HcsEnumerateComputeSystems(optionalText(wideQuery), operation);
                  }));
}

int createSystem(const Options& options, const std::string& id, const std::string& configurationFile)
{
    std::string configuration;
    if (!readConfiguration(configurationFile, configuration)) {
        return c_UsageExitCode;
    }
    std::wstring wideId;
    std::wstring wideConfiguration;
    if (!toWide(id, "the system id", wideId) || !toWide(configuration, "the configuration", wideConfiguration)) {
        return c_UsageExitCode;
    }
    SystemHandle system;
    CallOutcome created;
    {
        ProgressLine progress("create " + id, createDetail(configuration));
        created = runOperation(options.timeoutMs, [&](HCS_OPERATION operation) {
            return HcsCreateComputeSystem(wideId.c_str(), wideConfiguration.c_str(), operation, nullptr, system.put());
        });
    }
    return finish(options, "create " + id, created);
}

int runSystem(const Options& options, const std::string& id, const std::string& configurationFile, DWORD waitMs)
{
    std::string configuration;
    if (!readConfiguration(configurationFile, configuration)) {
        return c_UsageExitCode;
    }
    std::wstring wideId;
    std::wstring wideConfiguration;
    if (!toWide(id, "the system id", wideId) || !toWide(configuration, "the configuration", wideConfiguration)) {
        return c_UsageExitCode;
    }
    // One handle from create to the exit status: the system cannot disappear before its status is read
    // (after it stops, opening it by id answers HCS_E_SYSTEM_NOT_FOUND).
    SystemHandle system;
    CallOutcome created;
    {
        ProgressLine progress("run-system " + id + ": create", createDetail(configuration));
        created = runOperation(options.timeoutMs, [&](HCS_OPERATION operation) {
            return HcsCreateComputeSystem(wideId.c_str(), wideConfiguration.c_str(), operation, nullptr, system.put());
        });
    }
    if (FAILED(created.hr)) {
        return reportFailure("run " + id + ": create", created);
    }
    CallOutcome started;
    {
        ProgressLine progress("run-system " + id + ": start", progressDetail(Method::StartComputeSystem, id, {}));
        started = runOperation(options.timeoutMs, [&](HCS_OPERATION operation) {
            return HcsStartComputeSystem(system.get(), operation, nullptr);
        });
    }
    if (FAILED(started.hr)) {
        return reportFailure("run " + id + ": start", started);
    }
    PWSTR result = nullptr;
    CallOutcome exited;
    exited.hr = HcsWaitForComputeSystemExit(system.get(), waitMs, &result);
    exited.document = takeResultString(result);
    if (FAILED(exited.hr)) {
        return reportFailure("run " + id + ": wait", exited);
    }
    printDocument(options, exited.document);
    auto status = json::parse(exited.document, nullptr, false);
    std::string exitType = status.is_object() ? status.value("ExitType", "") : "";
    if (exitType == "GracefulExit") return 0;
    if (exitType == "ForcedExit") return c_RunForcedExitCode;
    if (exitType == "UnexpectedExit") return c_RunUnexpectedExitCode;
    std::cerr << "hcsctl: run " << id << ": the exit status has no known ExitType" << std::endl;
    return 1;
}

int systemCall(const Options& options, Method method, const std::string& id, const std::optional<std::string>& document)
{
    const auto& call = hc::hcs::protocol::callSpec(method);
    SystemDocumentFunction function = cFunctionFor(method);
    if (function == nullptr) {
        std::cerr << "hcsctl: " << call.name << " is not a call on one system" << std::endl;
        return c_UsageExitCode;
    }
    std::optional<std::wstring> wideDocument;
    if (!toOptionalWide(document, std::string(call.documentField).c_str(), wideDocument)) {
        return c_UsageExitCode;
    }
    SystemHandle system;
    int exitCode = 0;
    if (!open(id, system, exitCode)) {
        return exitCode;
    }
    const std::string what = std::string(call.hcsctlVerb) + " " + id;
    CallOutcome outcome;
    {
        ProgressLine progress(what, progressDetail(method, id, document.value_or("")));
        outcome = runOperation(options.timeoutMs, [&](HCS_OPERATION operation) {
            return function(system.get(), operation, optionalText(wideDocument));
        });
    }
    return finish(options, what, outcome);
}

int modifySystem(const Options& options, const std::string& id, const std::string& requestFile)
{
    std::string request;
    if (!readConfiguration(requestFile, request)) {
        return c_UsageExitCode;
    }
    return systemCall(options, Method::ModifyComputeSystem, id, request);
}

int waitForExit(const Options& options, const std::string& id, DWORD timeoutMs)
{
    SystemHandle system;
    int exitCode = 0;
    if (!open(id, system, exitCode)) {
        return exitCode;
    }
    PWSTR result = nullptr;
    CallOutcome outcome;
    outcome.hr = HcsWaitForComputeSystemExit(system.get(), timeoutMs, &result);
    outcome.document = takeResultString(result);
    return finish(options, "wait " + id, outcome);
}

int streamEvents(const Options& options, const std::string& id, DWORD timeoutMs)
{
    (void)options;     // events are always one JSON object per line
    EventQueue queue;  // declared before the handle: outlives the callback registration
    SystemHandle system;
    int exitCode = 0;
    if (!open(id, system, exitCode)) {
        return exitCode;
    }
    HRESULT hr = HcsSetComputeSystemCallback(system.get(), HcsEventOptionNone, &queue, onSystemEvent);
    if (FAILED(hr)) {
        return reportFailure("events " + id, {hr, {}});
    }
    // Tells a script (or a test) that events from here on will be printed.
    std::cerr << "hcsctl: listening for events of " << id << std::endl;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    std::unique_lock lock(queue.mutex);
    for (;;) {
        auto ready = [&] { return !queue.events.empty(); };
        if (timeoutMs == INFINITE) {
            queue.changed.wait(lock, ready);
        } else if (!queue.changed.wait_until(lock, deadline, ready)) {
            lock.unlock();
            return reportFailure("events " + id, {HCS_E_OPERATION_TIMEOUT, {}});
        }
        auto [type, data] = std::move(queue.events.front());
        queue.events.pop_front();
        json line = {{"Type", eventTypeName(type)}, {"TypeValue", static_cast<uint32_t>(type)}};
        auto parsed = hc::hcs::schema::parseJson(data, hc::hcs::schema::kWireLineLimits, "the event data", E_FAIL);
        line["Data"] = parsed ? std::move(*parsed) : json(data);
        std::cout << line.dump() << std::endl;
        if (type == HcsEventSystemExited) {
            break;
        }
        if (type == HcsEventServiceDisconnect) {
            lock.unlock();
            return reportFailure("events " + id, {HCS_E_SERVICE_DISCONNECT, {}});
        }
    }
    return 0;
}

int serviceProperties(const Options& options, const std::optional<std::string>& query)
{
    std::optional<std::wstring> wideQuery;
    if (!toOptionalWide(query, "the query", wideQuery)) {
        return c_UsageExitCode;
    }
    PWSTR result = nullptr;
    CallOutcome outcome;
    outcome.hr = HcsGetServiceProperties(optionalText(wideQuery), &result);
    outcome.document = takeResultString(result);
    return finish(options, "service", outcome);
}

int vmAccess(const Options& options, hc::hcs::protocol::Method method, const std::string& id, const std::string& file)
{
    std::wstring wideId;
    std::wstring wideFile;
    if (!toWide(id, "the id", wideId) || !toWide(file, "the file", wideFile)) return c_UsageExitCode;
    const bool grant = method == hc::hcs::protocol::Method::GrantVmAccess;
    CallOutcome outcome;
    outcome.hr = grant ? HcsGrantVmAccess(wideId.c_str(), wideFile.c_str())
                       : HcsRevokeVmAccess(wideId.c_str(), wideFile.c_str());
    outcome.document = "{}";
    return finish(options, std::string(grant ? "grant " : "revoke ") + id, outcome);
}

}  // namespace hcsctl
