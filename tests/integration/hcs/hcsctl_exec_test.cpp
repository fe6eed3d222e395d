// hcsctl exec without a guest: how its command line becomes a ProcessParameters document, and how a
// ProcessStatus becomes hcsctl's exit code.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "exec.h"

using hcsctl::ExecRequest;
using nlohmann::json;

namespace {

bool parse(std::vector<std::string> args, ExecRequest& request, std::string& error)
{
    request = ExecRequest{};
    error.clear();
    return hcsctl::parseExecArguments(args, request, error);
}

TEST(HcsctlExec, ParsesOptionsThenTheCommand)
{
    ExecRequest request;
    std::string error;
    ASSERT_TRUE(parse({"vm", "-it", "-e", "A=1", "-e", "B=x=y", "-w", "/tmp", "-u", "nobody", "--", "sh", "-c", "ls"},
                      request, error))
        << error;
    EXPECT_EQ(request.system, "vm");
    EXPECT_TRUE(request.interactive);
    EXPECT_TRUE(request.tty);
    EXPECT_EQ(request.environment.at("A"), "1");
    EXPECT_EQ(request.environment.at("B"), "x=y");
    EXPECT_EQ(request.workingDirectory, "/tmp");
    EXPECT_EQ(request.user, "nobody");
    EXPECT_EQ(request.command, (std::vector<std::string>{"sh", "-c", "ls"}));

    ASSERT_TRUE(parse({"-i", "vm", "cat", "-n"}, request, error)) << error;  // no "--": the command starts at CMD
    EXPECT_TRUE(request.interactive);
    EXPECT_FALSE(request.tty);
    EXPECT_EQ(request.command, (std::vector<std::string>{"cat", "-n"}));
}

TEST(HcsctlExec, UsageErrorsSayWhatIsWrong)
{
    ExecRequest request;
    std::string error;
    EXPECT_FALSE(parse({}, request, error));
    EXPECT_NE(error.find("SYSTEM"), std::string::npos);
    EXPECT_FALSE(parse({"vm"}, request, error));
    EXPECT_NE(error.find("command"), std::string::npos);
    EXPECT_FALSE(parse({"vm", "--"}, request, error));
    EXPECT_FALSE(parse({"vm", "-e", "NOEQUALS", "--", "true"}, request, error));
    EXPECT_NE(error.find("NAME=VALUE"), std::string::npos);
    EXPECT_FALSE(parse({"vm", "-w"}, request, error));
    EXPECT_NE(error.find("-w needs a value"), std::string::npos);
    EXPECT_FALSE(parse({"vm", "-x", "--", "true"}, request, error));
    EXPECT_NE(error.find("unknown option -x"), std::string::npos);
}

TEST(HcsctlExec, ProcessParametersFollowTheFlags)
{
    ExecRequest request;
    request.system = "vm";
    request.command = {"cat"};
    json plain = json::parse(hcsctl::processParametersFor(request, 0, 0));
    EXPECT_EQ(plain["CommandArgs"], json::array({"cat"}));
    EXPECT_EQ(plain["EmulateConsole"], false);
    EXPECT_EQ(plain["CreateStdInPipe"], false);  // without -i the process gets no stdin
    EXPECT_EQ(plain["CreateStdOutPipe"], true);
    EXPECT_EQ(plain["CreateStdErrPipe"], true);
    EXPECT_FALSE(plain.contains("ConsoleSize"));
    EXPECT_FALSE(plain.contains("Environment"));

    request.interactive = request.tty = true;
    request.environment["TERM"] = "xterm";
    json console = json::parse(hcsctl::processParametersFor(request, 40, 120));
    EXPECT_EQ(console["EmulateConsole"], true);
    EXPECT_EQ(console["CreateStdInPipe"], true);
    EXPECT_EQ(console["CreateStdErrPipe"], false);  // a console has one output stream
    EXPECT_EQ(console["ConsoleSize"], json::array({40, 120}));
    EXPECT_EQ(console["Environment"]["TERM"], "xterm");
}

TEST(HcsctlExec, ExitCodesComeFromProcessStatus)
{
    EXPECT_EQ(hcsctl::exitCodeFromStatus(R"({"ProcessId":1,"Exited":true,"ExitCode":0})"), 0);
    EXPECT_EQ(hcsctl::exitCodeFromStatus(R"({"ProcessId":1,"Exited":true,"ExitCode":3})"), 3);
    EXPECT_EQ(hcsctl::exitCodeFromStatus(R"({"ProcessId":1,"Exited":true,"ExitCode":137,"Signal":9})"), 137);
    EXPECT_EQ(hcsctl::exitCodeFromStatus(R"({"ProcessId":1,"Exited":true,"ExitCode":0,"Signal":2})"), 130);
    EXPECT_EQ(hcsctl::exitCodeFromStatus(
                  R"({"ProcessId":1,"Exited":true,"ExitCode":4294967295,"LastWaitResult":-2143878902})"),
              -1);  // the agent or the VM went away: unknown
    EXPECT_EQ(hcsctl::exitCodeFromStatus(R"({"ProcessId":1,"Exited":false})"), -1);
    EXPECT_EQ(hcsctl::exitCodeFromStatus("not json"), -1);
}

}  // namespace
