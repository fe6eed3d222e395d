// The process documents: ProcessParameters (command precedence and CommandLine splitting, field-precise
// errors), ProcessModifyRequest, SignalProcessOptions, ProcessStatus, and GuestConnection in the VM document.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hcs/schema/compute_system.h"
#include "hcs/schema/process.h"

namespace hc::hcs::schema {
namespace {

using nlohmann::json;
using Words = std::vector<std::string>;

TEST(CommandLine, SplitsLikeAShellWithoutExpansions)
{
    EXPECT_EQ(*splitCommandLine("ls -l  /tmp"), (Words{"ls", "-l", "/tmp"}));
    EXPECT_EQ(*splitCommandLine("  sh -c 'echo $HOME; exit 3'  "), (Words{"sh", "-c", "echo $HOME; exit 3"}));
    EXPECT_EQ(*splitCommandLine(R"(echo "a \"b\" \\ \$x \n" c\ d)"), (Words{"echo", R"(a "b" \ $x \n)", "c d"}));
    EXPECT_EQ(*splitCommandLine(R"(a''b "" '')"), (Words{"ab", "", ""}));
    EXPECT_EQ(*splitCommandLine("\t"), Words{});
    EXPECT_EQ(splitCommandLine("echo 'open").hr(), HCS_E_INVALID_JSON);
    EXPECT_NE(splitCommandLine("echo \"open").error().message.find("CommandLine: unterminated double quote"),
              std::string::npos);
    EXPECT_EQ(splitCommandLine("echo \\").hr(), HCS_E_INVALID_JSON);
}

TEST(ProcessParameters, CommandArgsWinOverCommandLineAndApplicationNameReplacesArgv0)
{
    auto p = parseProcessParameters(R"({"CommandLine": "ignored x", "CommandArgs": ["/bin/echo", "a b"]})");
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->argv, (Words{"/bin/echo", "a b"}));
    p = parseProcessParameters(R"({"CommandLine": "echo 'a b'", "CommandArgs": []})");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->argv, (Words{"echo", "a b"}));
    p = parseProcessParameters(R"({"ApplicationName": "/bin/busybox", "CommandLine": "echo hi"})");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->argv, (Words{"/bin/busybox", "hi"}));
    p = parseProcessParameters(R"({"ApplicationName": "/bin/true"})");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->argv, (Words{"/bin/true"}));
}

TEST(ProcessParameters, EverythingElseIsRead)
{
    auto p = parseProcessParameters(R"({"CommandLine": "cat", "WorkingDirectory": "/tmp", "User": "1000:1000",
        "Environment": {"B": "2", "A": "1"}, "EmulateConsole": true, "ConsoleSize": [30, 100],
        "CreateStdInPipe": true, "CreateStdOutPipe": true, "CreateStdErrPipe": false})");
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->workingDirectory, "/tmp");
    EXPECT_EQ(p->user, "1000:1000");
    using Env = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(p->environment, (Env{{"A", "1"}, {"B", "2"}, {"PATH", kDefaultPath}}));
    EXPECT_TRUE(p->emulateConsole);
    EXPECT_EQ(p->consoleHeight, 30);
    EXPECT_EQ(p->consoleWidth, 100);
    EXPECT_TRUE(p->createStdIn);
    EXPECT_TRUE(p->createStdOut);
    EXPECT_FALSE(p->createStdErr);
    p = parseProcessParameters(R"({"CommandLine": "env", "Environment": {"PATH": "/bin"}})");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->environment, (Env{{"PATH", "/bin"}})) << "a given PATH is kept";
}

struct BadParameters {
    const char* document;
    HRESULT hr;
    const char* names;
};

TEST(ProcessParameters, ErrorsNameTheField)
{
    const BadParameters cases[] = {
        {R"({})", HCS_E_INVALID_JSON, "CommandLine: no command"},
        {R"({"CommandLine": "   "})", HCS_E_INVALID_JSON, "CommandLine: no command"},
        {R"({"CommandArgs": [""]})", HCS_E_INVALID_JSON, "CommandLine: no command"},
        {R"({"CommandArgs": "ls"})", HCS_E_INVALID_JSON, "CommandArgs: expected an array"},
        {R"({"CommandArgs": ["ls", 3]})", HCS_E_INVALID_JSON, "CommandArgs[1]: expected a string"},
        {R"({"CommandLine": "ls 'x"})", HCS_E_INVALID_JSON, "CommandLine: unterminated single quote"},
        {R"({"CommandLine": "ls", "WorkingDirectory": "tmp"})", HCS_E_INVALID_JSON,
         "WorkingDirectory: expected an absolute"},
        {R"({"CommandLine": "ls", "Environment": ["A=1"]})", HCS_E_INVALID_JSON, "Environment: expected an object"},
        {R"({"CommandLine": "ls", "Environment": {"A": 1}})", HCS_E_INVALID_JSON, "Environment.A: expected a string"},
        {R"({"CommandLine": "ls", "Environment": {"A=B": "1"}})", HCS_E_INVALID_JSON,
         "Environment.A=B: a variable name"},
        {R"({"CommandLine": "ls", "Environment": {"": "1"}})", HCS_E_INVALID_JSON,
         "Environment: a variable has an empty"},
        {R"({"CommandLine": "ls", "ConsoleSize": [24]})", HCS_E_INVALID_JSON, "ConsoleSize: expected [height, width]"},
        {R"({"CommandLine": "ls", "ConsoleSize": [24, 70000]})", HCS_E_INVALID_JSON, "ConsoleSize[1]"},
        {R"({"CommandLine": "ls", "EmulateConsole": "yes"})", HCS_E_INVALID_JSON, "EmulateConsole: expected a boolean"},
        {R"({"CommandLine": "ls", "User": "a\u0001b"})", HCS_E_INVALID_JSON, "User: contains a control"},
        {R"({"CommandLine": "ls", "CreateStdinPipe": true})", HCS_E_INVALID_JSON, "CreateStdinPipe: unknown field"},
        {R"({"CommandLine": "ls", "RestrictedToken": true})", E_NOTIMPL, "RestrictedToken"},
        {R"({"CommandLine": "ls", "ApplicationName": ""})", HCS_E_INVALID_JSON, "ApplicationName: is empty"},
        {R"({"CommandArgs": ["a\u0000b"]})", HCS_E_INVALID_JSON, "CommandArgs[0]: contains a NUL"},
        {R"([1])", HCS_E_INVALID_JSON, "expected an object"},
        {R"({)", HCS_E_INVALID_JSON, "not valid JSON"},
    };
    for (const auto& c : cases) {
        auto p = parseProcessParameters(c.document);
        ASSERT_FALSE(p.ok()) << c.document;
        EXPECT_EQ(p.error().hr, c.hr) << c.document << ": " << p.error().message;
        EXPECT_NE(p.error().message.find(c.names), std::string::npos) << c.document << ": " << p.error().message;
    }
}

TEST(ProcessModifyRequest, ConsoleSizeAndCloseHandle)
{
    auto r = parseProcessModifyRequest(R"({"Operation": "ConsoleSize", "ConsoleSize": {"Height": 40, "Width": 120}})");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->operation, ProcessModifyRequest::Operation::ConsoleSize);
    EXPECT_EQ(r->height, 40);
    EXPECT_EQ(r->width, 120);
    r = parseProcessModifyRequest(R"({"Operation": "CloseHandle", "CloseHandle": {"Handle": "StdIn"}})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->operation, ProcessModifyRequest::Operation::CloseHandle);
    EXPECT_EQ(r->handle, ProcessModifyRequest::Handle::StdIn);
    const std::pair<const char*, const char*> bad[] = {
        {R"({})", "Operation: required"},
        {R"({"Operation": "Resize"})", "Operation: \"Resize\" is not one of"},
        {R"({"Operation": "ConsoleSize"})", "ConsoleSize: required when"},
        {R"({"Operation": "ConsoleSize", "ConsoleSize": {"Height": 1}})", "ConsoleSize.Width: required"},
        {R"({"Operation": "ConsoleSize", "ConsoleSize": {"Height": 1, "Width": 99999}})", "ConsoleSize.Width: value"},
        {R"({"Operation": "CloseHandle", "CloseHandle": {"Handle": "Stdin"}})", "CloseHandle.Handle: \"Stdin\""},
        {R"({"Operation": "CloseHandle", "CloseHandle": {}})", "CloseHandle.Handle: required"},
    };
    for (const auto& [doc, names] : bad) {
        auto e = parseProcessModifyRequest(doc);
        ASSERT_FALSE(e.ok()) << doc;
        EXPECT_EQ(e.error().hr, HCS_E_INVALID_JSON) << doc;
        EXPECT_NE(e.error().message.find(names), std::string::npos) << doc << ": " << e.error().message;
    }
}

TEST(SignalOptions, DefaultIsSigtermAndRangeIsChecked)
{
    EXPECT_EQ(*parseSignalOptions(""), 15);
    EXPECT_EQ(*parseSignalOptions("null"), 15);
    EXPECT_EQ(*parseSignalOptions("{}"), 15);
    EXPECT_EQ(*parseSignalOptions(R"({"Signal": 2})"), 2);
    EXPECT_EQ(parseSignalOptions(R"({"Signal": 0})").hr(), E_INVALIDARG);
    EXPECT_EQ(parseSignalOptions(R"({"Signal": -9})").hr(), E_INVALIDARG);
    EXPECT_EQ(parseSignalOptions(R"({"Signal": 65})").hr(), E_INVALIDARG);
    EXPECT_EQ(parseSignalOptions(R"({"Signal": "KILL"})").hr(), HCS_E_INVALID_JSON);
    EXPECT_NE(parseSignalOptions(R"({"Sig": 9})").error().message.find("Sig: unknown field"), std::string::npos);
    EXPECT_TRUE(parseTerminateOptions("").ok());
    EXPECT_TRUE(parseTerminateOptions("{}").ok());
    EXPECT_EQ(parseTerminateOptions(R"({"Force": true})").hr(), HCS_E_INVALID_JSON);
    EXPECT_TRUE(parseProcessQuery("").ok());
    EXPECT_TRUE(parseProcessQuery(R"({"PropertyTypes": []})").ok());
    EXPECT_EQ(parseProcessQuery(R"({"PropertyTypes": ["Memory"]})").hr(), E_NOTIMPL);
}

TEST(ProcessStatus, Json)
{
    ProcessStatus s{7, true, 137, 9, S_OK, ""};
    EXPECT_EQ(toJson(s), json::parse(R"({"ProcessId": 7, "Exited": true, "ExitCode": 137, "LastWaitResult": 0,
                                        "Signal": 9})"));
    ProcessStatus lost{8, true, -1, std::nullopt, HCS_E_CONNECTION_CLOSED, "the agent went away"};
    json j = toJson(lost);
    EXPECT_EQ(j["ExitCode"], 4294967295u);
    EXPECT_EQ(j["LastWaitResult"], static_cast<int32_t>(HCS_E_CONNECTION_CLOSED));
    EXPECT_EQ(j["ErrorMessage"], "the agent went away");
}

TEST(GuestConnection, AcceptedInTheVmDocument)
{
    json doc = json::parse(R"({"SchemaVersion": {"Major": 2, "Minor": 1}, "VirtualMachine": {
        "Chipset": {"LinuxKernelDirect": {"KernelFilePath": "/k"}},
        "ComputeTopology": {"Memory": {"SizeInMB": 256}},
        "GuestConnection": {"UseVsock": true, "UseConnectedSuspend": true, "UseHostTimeZone": true}}})");
    auto config = parseComputeSystem(doc.dump());
    ASSERT_TRUE(config.ok()) << config.error().message;
    ASSERT_TRUE(config->virtualMachine.guestConnection.has_value());
    EXPECT_TRUE(config->virtualMachine.guestConnection->useVsock);
    EXPECT_TRUE(config->virtualMachine.guestConnection->useConnectedSuspend);
    EXPECT_TRUE(config->virtualMachine.guestConnection->useHostTimeZone);
    doc["VirtualMachine"].erase("GuestConnection");
    EXPECT_FALSE(parseComputeSystem(doc.dump())->virtualMachine.guestConnection.has_value());
}

}  // namespace
}  // namespace hc::hcs::schema
