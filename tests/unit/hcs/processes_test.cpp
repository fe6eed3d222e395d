// The HCS_PROCESS functions through the fake channel: argument checks, what goes on the wire, the stdio
// descriptors of HCS_PROCESS_INFORMATION (who owns them, none leaks), process callbacks (ProcessExited,
// operation completions, ServiceDisconnect, close inside and during a callback), close while a create
// is in flight, waits and HcsGetProcessFromOperation.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <future>
#include <mutex>

#include "client_fixture.h"
#include "hcs/client/process_info.h"

using namespace hc::hcs::testing;
using namespace std::chrono_literals;
using hc::UniqueFd;
using hc::hcs::descriptorOf;

namespace {

const wchar_t* const kParameters = LR"({"CommandLine":"cat","CreateStdInPipe":true,"CreateStdOutPipe":true})";

// Open descriptors of this process (to prove none leaks).
size_t openDescriptorCount()
{
    size_t count = 0;
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) return 0;
    while (dirent* entry = readdir(dir))
        if (entry->d_name[0] != '.') ++count;
    closedir(dir);
    return count - 1;  // the directory's own descriptor
}

struct Pipe {
    UniqueFd read;
    UniqueFd write;
    Pipe()
    {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) == 0) {
            read.reset(fds[0]);
            write.reset(fds[1]);
        }
    }
};

// What hcsd would send for a process with stdin, stdout and stderr: the far ends of three pipes.
struct StdioReply {
    Pipe in, out, err;
    std::vector<UniqueFd> fds()
    {
        std::vector<UniqueFd> fds;
        fds.push_back(std::move(in.write));  // the caller writes the process's stdin
        fds.push_back(std::move(out.read));  // and reads its stdout and stderr
        fds.push_back(std::move(err.read));
        return fds;
    }
    static std::string document(DWORD pid)
    {
        return R"({"ProcessId":)" + std::to_string(pid) + R"(,"StdInput":0,"StdOutput":1,"StdError":2})";
    }
};

bool isOpen(int fd)
{
    return fd >= 0 && fcntl(fd, F_GETFD) != -1;
}

struct EventLog {
    std::mutex mutex;
    std::vector<HCS_EVENT_TYPE> types;
    std::vector<std::wstring> data;
    std::vector<HCS_OPERATION> operations;
    std::function<void(HCS_EVENT*)> also;

    static void CALLBACK callback(HCS_EVENT* event, void* context)
    {
        auto* self = static_cast<EventLog*>(context);
        if (self->also) self->also(event);
        std::lock_guard lock(self->mutex);
        self->types.push_back(event->Type);
        self->data.push_back(event->EventData ? event->EventData : L"<null>");
        self->operations.push_back(event->Operation);
    }
    size_t count()
    {
        std::lock_guard lock(mutex);
        return types.size();
    }
};

class ProcessTest : public HcsClientTest {
protected:
    // Creates a process on `system` and answers the create with `pid` and no stdio.
    HCS_PROCESS createProcess(HCS_SYSTEM system, DWORD pid = 7)
    {
        HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
        HCS_PROCESS process = nullptr;
        EXPECT_EQ(HcsCreateProcess(system, kParameters, op, nullptr, &process), S_OK);
        channel->reply(lastRequest("CreateProcess"), S_OK, R"({"ProcessId":)" + std::to_string(pid) + "}");
        EXPECT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);
        HcsCloseOperation(op);
        return process;
    }

    // The handle number hcsd knows the last created process by.
    uint64_t lastProcessNumber() { return channel->requests("CreateProcess").back().params["process"]; }
};

TEST_F(ProcessTest, CreateProcessChecksItsArguments)
{
    HCS_SYSTEM system = createSystem();
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    auto garbage = reinterpret_cast<HCS_PROCESS>(uintptr_t{0x43});
    HCS_PROCESS process = garbage;
    auto* descriptor = reinterpret_cast<const SECURITY_DESCRIPTOR*>(uintptr_t{0x10});  // never read
    EXPECT_EQ(HcsCreateProcess(system, kParameters, op, nullptr, nullptr), E_POINTER);
    EXPECT_EQ(HcsCreateProcess(system, kParameters, op, descriptor, &process), E_INVALIDARG);
    EXPECT_EQ(process, nullptr);
    process = garbage;
    EXPECT_EQ(HcsCreateProcess(nullptr, kParameters, op, nullptr, &process), E_INVALIDARG);
    EXPECT_EQ(process, nullptr);
    EXPECT_EQ(HcsCreateProcess(reinterpret_cast<HCS_SYSTEM>(garbage), kParameters, op, nullptr, &process), E_HANDLE);
    EXPECT_EQ(HcsCreateProcess(system, kParameters, nullptr, nullptr, &process), E_INVALIDARG);
    EXPECT_EQ(HcsCreateProcess(system, nullptr, op, nullptr, &process), E_INVALIDARG);
    const wchar_t badUtf[] = {0xD800, 0};
    EXPECT_EQ(HcsCreateProcess(system, badUtf, op, nullptr, &process), E_INVALIDARG);
    EXPECT_TRUE(channel->requests("CreateProcess").empty());
    EXPECT_EQ(hc::hcs::Client::instance().processes().size(), 0u);
    HcsCloseOperation(op);
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, ProcessFunctionsCheckTheirArguments)
{
    HCS_SYSTEM system = createSystem();
    HCS_PROCESS process = createProcess(system);
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    auto garbage = reinterpret_cast<HCS_PROCESS>(uintptr_t{0x43});
    auto wrongKind = reinterpret_cast<HCS_PROCESS>(system);  // an HCS_SYSTEM is not an HCS_PROCESS
    using Call = HRESULT (*)(HCS_PROCESS, HCS_OPERATION, PCWSTR);
    for (Call call :
         {Call{HcsTerminateProcess}, Call{HcsSignalProcess}, Call{HcsGetProcessProperties}, Call{HcsModifyProcess}}) {
        EXPECT_EQ(call(nullptr, op, L"{}"), E_INVALIDARG);
        EXPECT_EQ(call(garbage, op, L"{}"), E_HANDLE);
        EXPECT_EQ(call(wrongKind, op, L"{}"), E_HANDLE);
        EXPECT_EQ(call(process, nullptr, L"{}"), E_INVALIDARG);
    }
    EXPECT_EQ(HcsModifyProcess(process, op, nullptr), E_INVALIDARG);  // the settings are required
    EXPECT_EQ(HcsGetProcessInfo(nullptr, op), E_INVALIDARG);
    EXPECT_EQ(HcsGetProcessInfo(garbage, op), E_HANDLE);
    EXPECT_EQ(HcsGetProcessInfo(process, nullptr), E_INVALIDARG);
    EXPECT_EQ(HcsSetProcessCallback(nullptr, HcsEventOptionNone, nullptr, EventLog::callback), E_INVALIDARG);
    EXPECT_EQ(HcsSetProcessCallback(garbage, HcsEventOptionNone, nullptr, EventLog::callback), E_HANDLE);
    EXPECT_EQ(HcsSetProcessCallback(process, HcsEventOptionNone, nullptr, nullptr), E_INVALIDARG);
    EXPECT_EQ(HcsSetProcessCallback(process, static_cast<HCS_EVENT_OPTIONS>(0x40), nullptr, EventLog::callback),
              E_INVALIDARG);
    PWSTR result = reinterpret_cast<PWSTR>(uintptr_t{0x1});
    EXPECT_EQ(HcsWaitForProcessExit(garbage, 0, &result), E_HANDLE);
    EXPECT_EQ(result, nullptr);
    EXPECT_EQ(HcsWaitForProcessExit(nullptr, 0, nullptr), E_INVALIDARG);
    HCS_PROCESS opened = garbage;
    EXPECT_EQ(HcsOpenProcess(system, 7, GENERIC_ALL, nullptr), E_POINTER);
    EXPECT_EQ(HcsOpenProcess(nullptr, 7, GENERIC_ALL, &opened), E_INVALIDARG);
    EXPECT_EQ(opened, nullptr);
    EXPECT_EQ(HcsOpenProcess(reinterpret_cast<HCS_SYSTEM>(garbage), 7, GENERIC_ALL, &opened), E_HANDLE);
    HcsCloseProcess(nullptr);  // no effect
    HcsCloseProcess(garbage);
    // Only the create went out: every rejection above was synchronous.
    EXPECT_EQ(channel->requests().size(), 2u);
    HcsCloseProcess(process);
    HcsCloseProcess(process);  // a second close is a no-op
    EXPECT_EQ(HcsSignalProcess(process, op, nullptr), E_HANDLE);
    EXPECT_EQ(channel->requests("CloseProcess").size(), 1u);
    HcsCloseOperation(op);
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, CallsTravelAsTheCatalogueSays)
{
    HCS_SYSTEM system = createSystem();
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_PROCESS process = nullptr;
    ASSERT_EQ(HcsCreateProcess(system, kParameters, op, nullptr, &process), S_OK);
    ASSERT_NE(process, nullptr);
    auto create = channel->requests("CreateProcess").at(0);
    const uint64_t systemNumber = channel->requests("CreateComputeSystem").at(0).params["handle"];
    EXPECT_EQ(create.params["handle"], systemNumber);
    const uint64_t number = create.params["process"];
    EXPECT_NE(number, 0u);
    EXPECT_NE(number, systemNumber);  // one handle-number space per connection
    EXPECT_EQ(create.params["parameters"], R"({"CommandLine":"cat","CreateStdInPipe":true,"CreateStdOutPipe":true})");
    EXPECT_EQ(HcsGetOperationType(op), HcsOperationTypeCreateProcess);
    EXPECT_EQ(HcsGetComputeSystemFromOperation(op), system);
    EXPECT_EQ(HcsGetProcessFromOperation(op), process);
    // One operation, one call in flight.
    HCS_PROCESS second = reinterpret_cast<HCS_PROCESS>(uintptr_t{0x43});
    EXPECT_EQ(HcsCreateProcess(system, kParameters, op, nullptr, &second), HCS_E_OPERATION_ALREADY_STARTED);
    EXPECT_EQ(second, nullptr);
    EXPECT_EQ(hc::hcs::Client::instance().processes().size(), 1u);  // the refused create left no handle
    EXPECT_EQ(HcsGetOperationResult(op, nullptr), HCS_E_OPERATION_PENDING);
    channel->reply(create.id, S_OK, R"({"ProcessId":42})");
    HCS_PROCESS_INFORMATION info{};
    LocalString document;
    ASSERT_EQ(HcsWaitForOperationResultAndProcessInfo(op, 5000, &info, document.put()), S_OK);
    EXPECT_EQ(info.ProcessId, 42u);
    EXPECT_EQ(info.StdInput, nullptr);
    EXPECT_EQ(document.value, nullptr);  // CreateProcess has no result document

    struct Expect {
        const char* method;
        HCS_OPERATION_TYPE type;
        const char* field;
        const char* value;
    };
    auto check = [&](HRESULT started, const Expect& expect) {
        ASSERT_EQ(started, S_OK) << expect.method;
        auto request = channel->requests(expect.method).back();
        EXPECT_EQ(request.params["handle"], number) << expect.method;
        if (expect.field) {
            EXPECT_EQ(request.params[expect.field], expect.value) << expect.method;
        }
        EXPECT_EQ(HcsGetOperationType(op), expect.type) << expect.method;
        EXPECT_EQ(HcsGetProcessFromOperation(op), process) << expect.method;
        EXPECT_EQ(HcsGetComputeSystemFromOperation(op), system) << expect.method;
        channel->reply(request.id, S_OK, R"({"ProcessId":42,"Exited":false})");
        ASSERT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK) << expect.method;
    };
    check(HcsSignalProcess(process, op, LR"({"Signal":15})"),
          {"SignalProcess", HcsOperationTypeSignalProcess, "options", R"({"Signal":15})"});
    check(HcsTerminateProcess(process, op, nullptr), {"TerminateProcess", HcsOperationTypeSignalProcess, nullptr, ""});
    EXPECT_TRUE(channel->requests("TerminateProcess").back().params["options"].is_null());
    check(HcsGetProcessProperties(process, op, nullptr),
          {"GetProcessProperties", HcsOperationTypeGetProcessProperties, nullptr, ""});
    LocalString status;
    ASSERT_EQ(HcsGetOperationResult(op, status.put()), S_OK);
    EXPECT_EQ(status.str(), LR"({"ProcessId":42,"Exited":false})");  // ProcessStatus comes back as it is
    check(HcsModifyProcess(process, op, LR"({"Operation":"CloseHandle","CloseHandle":{"Handle":"StdIn"}})"),
          {"ModifyProcess", HcsOperationTypeModifyProcess, "settings",
           R"({"Operation":"CloseHandle","CloseHandle":{"Handle":"StdIn"}})"});
    check(HcsGetProcessInfo(process, op), {"GetProcessInfo", HcsOperationTypeGetProcessInfo, nullptr, ""});
    ASSERT_EQ(HcsGetOperationResultAndProcessInfo(op, &info, nullptr), S_OK);
    EXPECT_EQ(info.ProcessId, 42u);

    HcsCloseProcess(process);
    EXPECT_EQ(channel->requests("CloseProcess").back().params["handle"], number);
    EXPECT_EQ(HcsGetProcessFromOperation(op), nullptr);  // a closed handle is never handed out again
    HcsCloseOperation(op);
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, TheCallerOwnsTheStdioDescriptorsItTakes)
{
    HCS_SYSTEM system = createSystem();
    const size_t baseline = openDescriptorCount();
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_PROCESS process = nullptr;
    ASSERT_EQ(HcsCreateProcess(system, kParameters, op, nullptr, &process), S_OK);
    StdioReply stdio;
    channel->reply(lastRequest("CreateProcess"), S_OK, StdioReply::document(9), stdio.fds());
    HCS_PROCESS_INFORMATION info{};
    ASSERT_EQ(HcsWaitForOperationResultAndProcessInfo(op, 5000, &info, nullptr), S_OK);
    EXPECT_EQ(info.ProcessId, 9u);
    ASSERT_NE(info.StdInput, nullptr);
    ASSERT_NE(info.StdOutput, nullptr);
    ASSERT_NE(info.StdError, nullptr);
    // They are the process's streams: what the caller writes to StdInput comes out of the guest's end.
    ASSERT_EQ(write(descriptorOf(info.StdInput), "ping", 4), 4);
    char buffer[8] = {};
    ASSERT_EQ(read(stdio.in.read.get(), buffer, sizeof buffer), 4);
    EXPECT_STREQ(buffer, "ping");
    ASSERT_EQ(write(stdio.out.write.get(), "out", 3), 3);
    ASSERT_EQ(read(descriptorOf(info.StdOutput), buffer, sizeof buffer), 3);
    // Handed over once: a second look gives the id but no descriptors (the caller has them).
    HCS_PROCESS_INFORMATION again{};
    ASSERT_EQ(HcsGetOperationResultAndProcessInfo(op, &again, nullptr), S_OK);
    EXPECT_EQ(again.ProcessId, 9u);
    EXPECT_EQ(again.StdInput, nullptr);
    EXPECT_EQ(again.StdOutput, nullptr);
    // Closing the operation and the process does not touch the caller's descriptors.
    HcsCloseOperation(op);
    HcsCloseProcess(process);
    EXPECT_TRUE(isOpen(descriptorOf(info.StdInput)));
    EXPECT_TRUE(isOpen(descriptorOf(info.StdError)));
    // The caller closing StdInput is the process's EOF (the library kept no copy).
    close(descriptorOf(info.StdInput));
    EXPECT_EQ(read(stdio.in.read.get(), buffer, sizeof buffer), 0);
    close(descriptorOf(info.StdOutput));
    close(descriptorOf(info.StdError));
    EXPECT_EQ(openDescriptorCount(), baseline + 3);  // the test's own ends of the three pipes
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, DescriptorsNobodyTakesAreClosed)
{
    HCS_SYSTEM system = createSystem();
    const size_t baseline = openDescriptorCount();
    {
        // 1. The operation is closed without its info being taken.
        HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
        HCS_PROCESS process = nullptr;
        ASSERT_EQ(HcsCreateProcess(system, kParameters, op, nullptr, &process), S_OK);
        StdioReply stdio;
        channel->reply(lastRequest("CreateProcess"), S_OK, StdioReply::document(1), stdio.fds());
        ASSERT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);  // the plain result does not take them
        EXPECT_EQ(openDescriptorCount(), baseline + 6);
        HcsCloseOperation(op);
        EXPECT_EQ(openDescriptorCount(), baseline + 3);  // only the test's ends are left
        HcsCloseProcess(process);
    }
    EXPECT_EQ(openDescriptorCount(), baseline);
    {
        // 2. The operation is reused for another call.
        HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
        HCS_PROCESS process = nullptr;
        ASSERT_EQ(HcsCreateProcess(system, kParameters, op, nullptr, &process), S_OK);
        StdioReply stdio;
        channel->reply(lastRequest("CreateProcess"), S_OK, StdioReply::document(2), stdio.fds());
        ASSERT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);
        ASSERT_EQ(HcsSignalProcess(process, op, nullptr), S_OK);
        EXPECT_EQ(openDescriptorCount(), baseline + 3);
        HcsCloseOperation(op);
        HcsCloseProcess(process);
    }
    EXPECT_EQ(openDescriptorCount(), baseline);
    {
        // 3. The reply arrives after the operation was closed.
        HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
        HCS_PROCESS process = nullptr;
        ASSERT_EQ(HcsCreateProcess(system, kParameters, op, nullptr, &process), S_OK);
        HcsCloseOperation(op);
        StdioReply stdio;
        channel->reply(lastRequest("CreateProcess"), S_OK, StdioReply::document(3), stdio.fds());
        EXPECT_EQ(openDescriptorCount(), baseline + 3);
        HcsCloseProcess(process);
    }
    EXPECT_EQ(openDescriptorCount(), baseline);
    {
        // 4. A reply whose document does not fit its descriptors: a protocol error, nothing kept.
        HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
        HCS_PROCESS process = nullptr;
        for (const char* document : {R"({"ProcessId":4,"StdInput":3})", R"({"ProcessId":4,"StdInput":0,"StdError":0})",
                                     R"({"StdInput":0})", R"([1])", "not json"}) {
            ASSERT_EQ(HcsCreateProcess(system, kParameters, op, nullptr, &process), S_OK);
            StdioReply stdio;
            channel->reply(lastRequest("CreateProcess"), S_OK, document, stdio.fds());
            HCS_PROCESS_INFORMATION info{};
            LocalString error;
            EXPECT_EQ(HcsWaitForOperationResultAndProcessInfo(op, 5000, &info, error.put()), HCS_E_PROTOCOL_ERROR)
                << document;
            EXPECT_EQ(info.StdInput, nullptr);
            EXPECT_NE(error.str().find(L"does not fit"), std::wstring::npos);
            EXPECT_EQ(openDescriptorCount(), baseline + 3) << document;
            HcsCloseProcess(process);
        }
        HcsCloseOperation(op);
    }
    EXPECT_EQ(openDescriptorCount(), baseline);
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, HandedOutDescriptorsAreNeverTheCallersStdio)
{
    HCS_SYSTEM system = createSystem();
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_PROCESS process = nullptr;
    ASSERT_EQ(HcsCreateProcess(system, kParameters, op, nullptr, &process), S_OK);
    // A caller that closed its stdin: the received descriptor lands on 0, which as a HANDLE is NULL.
    UniqueFd savedStdin(dup(STDIN_FILENO));
    ASSERT_TRUE(savedStdin.valid());
    close(STDIN_FILENO);
    Pipe pipe;
    const int landed = pipe.read.get();
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(pipe.read));
    channel->reply(lastRequest("CreateProcess"), S_OK, R"({"ProcessId":5,"StdOutput":0})", std::move(fds));
    HCS_PROCESS_INFORMATION info{};
    const HRESULT hr = HcsWaitForOperationResultAndProcessInfo(op, 5000, &info, nullptr);
    dup2(savedStdin.get(), STDIN_FILENO);  // restore before asserting
    ASSERT_EQ(landed, 0);
    ASSERT_EQ(hr, S_OK);
    ASSERT_NE(info.StdOutput, nullptr);
    EXPECT_GT(descriptorOf(info.StdOutput), STDERR_FILENO);
    ASSERT_EQ(write(pipe.write.get(), "x", 1), 1);
    char c = 0;
    EXPECT_EQ(read(descriptorOf(info.StdOutput), &c, 1), 1);
    close(descriptorOf(info.StdOutput));
    HcsCloseOperation(op);
    HcsCloseProcess(process);
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, OpenProcessByIdIsSynchronous)
{
    HCS_SYSTEM system = createSystem();
    channel->setAutoReply([](const FakeChannel::Request& request) -> std::optional<hc::hcs::ServiceReply> {
        if (request.method != "OpenProcess") return std::nullopt;
        if (request.params["processId"] == 99)
            return hc::hcs::ServiceReply{E_INVALIDARG, R"({"Error":-2147024809,"ErrorMessage":"no process 99"})"};
        return hc::hcs::ServiceReply{S_OK, "{}"};
    });
    HCS_PROCESS process = nullptr;
    EXPECT_EQ(HcsOpenProcess(system, 99, GENERIC_ALL, &process), E_INVALIDARG);
    EXPECT_EQ(process, nullptr);
    EXPECT_EQ(hc::hcs::Client::instance().processes().size(), 0u);
    ASSERT_EQ(HcsOpenProcess(system, 12, GENERIC_ALL, &process), S_OK);
    auto open = channel->requests("OpenProcess").back();
    EXPECT_EQ(open.params["processId"], 12);
    EXPECT_EQ(open.params["handle"], channel->requests("CreateComputeSystem").at(0).params["handle"]);
    // The opened handle names the number the Open gave hcsd.
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsGetProcessProperties(process, op, nullptr), S_OK);
    EXPECT_EQ(channel->requests("GetProcessProperties").back().params["handle"], open.params["process"]);
    HcsCloseOperation(op);
    HcsCloseProcess(process);
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, WaitForProcessExitPassesTheTimeoutAndTheResult)
{
    HCS_SYSTEM system = createSystem();
    HCS_PROCESS process = createProcess(system);
    const uint64_t number = lastProcessNumber();
    auto waited = std::async(std::launch::async, [&] {
        LocalString result;
        HRESULT hr = HcsWaitForProcessExit(process, 250, result.put());
        return std::make_pair(hr, result.str());
    });
    auto request = channel->waitForRequest("WaitForProcessExit");
    ASSERT_TRUE(request);
    EXPECT_EQ(request->params["handle"], number);
    EXPECT_EQ(request->params["timeoutMs"], 250);
    channel->reply(request->id, HCS_E_OPERATION_TIMEOUT, R"({"Error":-2143878888,"ErrorMessage":"still running"})");
    auto [hr, document] = waited.get();
    EXPECT_EQ(hr, HCS_E_OPERATION_TIMEOUT);
    EXPECT_NE(document.find(L"still running"), std::wstring::npos);

    waited = std::async(std::launch::async, [&] {
        LocalString result;
        HRESULT hr = HcsWaitForProcessExit(process, INFINITE, result.put());
        return std::make_pair(hr, result.str());
    });
    request = channel->waitForRequest("WaitForProcessExit", 1);
    ASSERT_TRUE(request);
    channel->reply(request->id, S_OK, R"({"ProcessId":7,"Exited":true,"ExitCode":3})");
    auto [hr2, status] = waited.get();
    EXPECT_EQ(hr2, S_OK);
    EXPECT_EQ(status, LR"({"ProcessId":7,"Exited":true,"ExitCode":3})");
    HcsCloseProcess(process);
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, OperationWaitsTimeOutAndNeedAProcessOperation)
{
    HCS_SYSTEM system = createSystem();
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_PROCESS_INFORMATION info{};
    EXPECT_EQ(HcsWaitForOperationResultAndProcessInfo(op, 0, &info, nullptr), E_INVALIDARG);  // not started
    HCS_PROCESS process = nullptr;
    ASSERT_EQ(HcsCreateProcess(system, kParameters, op, nullptr, &process), S_OK);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(HcsWaitForOperationResultAndProcessInfo(op, 50, &info, nullptr), HCS_E_OPERATION_TIMEOUT);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
    EXPECT_EQ(HcsGetOperationResultAndProcessInfo(op, &info, nullptr), HCS_E_OPERATION_PENDING);
    StdioReply stdio;
    channel->reply(lastRequest("CreateProcess"), S_OK, StdioReply::document(8), stdio.fds());
    ASSERT_EQ(HcsWaitForOperationResultAndProcessInfo(op, 0, &info, nullptr), S_OK);  // poll, completed
    EXPECT_EQ(info.ProcessId, 8u);
    for (HANDLE handle : {info.StdInput, info.StdOutput, info.StdError})
        close(descriptorOf(handle));
    ASSERT_EQ(HcsGetProcessProperties(process, op, nullptr), S_OK);
    channel->reply(lastRequest("GetProcessProperties"), S_OK, "{}");
    EXPECT_EQ(HcsWaitForOperationResultAndProcessInfo(op, 5000, &info, nullptr), E_INVALIDARG);
    HcsCloseOperation(op);
    HcsCloseProcess(process);
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, ProcessExitedReachesTheProcessCallbackOnly)
{
    HCS_SYSTEM system = createSystem();
    EventLog systemEvents;
    ASSERT_EQ(HcsSetComputeSystemCallback(system, HcsEventOptionNone, &systemEvents, EventLog::callback), S_OK);
    HCS_PROCESS process = createProcess(system);
    const uint64_t number = lastProcessNumber();
    HCS_PROCESS other = createProcess(system, 8);
    EventLog processEvents;
    ASSERT_EQ(HcsSetProcessCallback(process, HcsEventOptionNone, &processEvents, EventLog::callback), S_OK);
    EXPECT_EQ(HcsSetProcessCallback(process, HcsEventOptionNone, &processEvents, EventLog::callback),
              HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET);
    const uint64_t systemNumber = channel->requests("CreateComputeSystem").at(0).params["handle"];
    channel->fireEvent({systemNumber, HcsEventProcessExited, "{}"});  // never on a system callback
    channel->fireEvent({number, HcsEventProcessExited, R"({"ProcessId":7,"Exited":true,"ExitCode":0})"});
    channel->fireEvent({number, HcsEventSystemExited, "{}"});  // system events do not go to processes
    drainCallbacks();
    ASSERT_EQ(processEvents.count(), 1u);
    EXPECT_EQ(processEvents.types[0], HcsEventProcessExited);
    EXPECT_EQ(processEvents.data[0], LR"({"ProcessId":7,"Exited":true,"ExitCode":0})");
    EXPECT_EQ(processEvents.operations[0], nullptr);
    EXPECT_EQ(systemEvents.count(), 0u);
    HcsCloseProcess(other);
    HcsCloseProcess(process);
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, CloseInsideTheExitCallbackEndsDelivery)
{
    HCS_SYSTEM system = createSystem();
    HCS_PROCESS process = createProcess(system);
    const uint64_t number = lastProcessNumber();
    EventLog events;
    events.also = [&](HCS_EVENT*) { HcsCloseProcess(process); };  // on the event thread: must not wait for itself
    ASSERT_EQ(HcsSetProcessCallback(process, HcsEventOptionNone, &events, EventLog::callback), S_OK);
    channel->fireEvent({number, HcsEventProcessExited, "{}"});
    channel->fireEvent({number, HcsEventProcessExited, "{}"});
    drainCallbacks();
    EXPECT_EQ(events.count(), 1u);
    EXPECT_EQ(channel->requests("CloseProcess").size(), 1u);
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, CloseWaitsForARunningCallback)
{
    HCS_SYSTEM system = createSystem();
    HCS_PROCESS process = createProcess(system);
    const uint64_t number = lastProcessNumber();
    std::promise<void> entered;
    std::promise<void> release;
    auto released = release.get_future().share();
    std::atomic<bool> returned{false};
    EventLog events;
    events.also = [&](HCS_EVENT*) {
        entered.set_value();
        released.wait();
        returned = true;
    };
    ASSERT_EQ(HcsSetProcessCallback(process, HcsEventOptionNone, &events, EventLog::callback), S_OK);
    channel->fireEvent({number, HcsEventProcessExited, "{}"});
    entered.get_future().wait();
    auto closed = std::async(std::launch::async, [&] {
        HcsCloseProcess(process);
        return returned.load();
    });
    EXPECT_EQ(closed.wait_for(50ms), std::future_status::timeout);  // still inside the callback
    release.set_value();
    EXPECT_TRUE(closed.get());  // the close returned only after the callback did
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, CloseWhileTheCreateIsInFlight)
{
    HCS_SYSTEM system = createSystem();
    const size_t baseline = openDescriptorCount();
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_PROCESS process = nullptr;
    ASSERT_EQ(HcsCreateProcess(system, kParameters, op, nullptr, &process), S_OK);
    const uint64_t number = lastProcessNumber();
    HcsCloseProcess(process);
    EXPECT_EQ(channel->requests("CloseProcess").back().params["handle"], number);
    EXPECT_EQ(HcsGetProcessFromOperation(op), nullptr);
    // The create still completes; its descriptors are the operation's until taken or closed.
    StdioReply stdio;
    channel->reply(lastRequest("CreateProcess"), S_OK, StdioReply::document(6), stdio.fds());
    EXPECT_EQ(HcsWaitForOperationResult(op, 5000, nullptr), S_OK);
    EXPECT_EQ(HcsSignalProcess(process, op, nullptr), E_HANDLE);
    channel->fireEvent({number, HcsEventProcessExited, "{}"});  // nobody to tell
    drainCallbacks();
    EXPECT_EQ(openDescriptorCount(), baseline + 6);
    HcsCloseOperation(op);
    EXPECT_EQ(openDescriptorCount(), baseline + 3);  // only the test's ends
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, OperationCompletionsThroughTheProcessCallback)
{
    HCS_SYSTEM system = createSystem();
    HCS_PROCESS process = createProcess(system);
    EventLog events;
    ASSERT_EQ(HcsSetProcessCallback(process, HcsEventOptionEnableOperationCallbacks, &events, EventLog::callback),
              S_OK);
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsSignalProcess(process, op, LR"({"Signal":2})"), S_OK);
    channel->reply(lastRequest("SignalProcess"), S_OK, "{}");
    ASSERT_TRUE(eventually([&] { return events.count() == 1; }));
    EXPECT_EQ(events.types[0], HcsEventOperationCallback);
    EXPECT_EQ(events.operations[0], op);
    HCS_OPERATION withCallback = HcsCreateOperation(nullptr, [](HCS_OPERATION, void*) {});
    EXPECT_EQ(HcsTerminateProcess(process, withCallback, nullptr), HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET);
    EXPECT_TRUE(channel->requests("TerminateProcess").empty());
    HcsCloseOperation(withCallback);
    HcsCloseOperation(op);
    HcsCloseProcess(process);
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, CreateCompletesThroughTheSystemCallback)
{
    HCS_SYSTEM system = createSystem();
    EventLog events;
    ASSERT_EQ(HcsSetComputeSystemCallback(system, HcsEventOptionEnableOperationCallbacks, &events, EventLog::callback),
              S_OK);
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    HCS_PROCESS process = nullptr;
    ASSERT_EQ(HcsCreateProcess(system, kParameters, op, nullptr, &process), S_OK);
    StdioReply stdio;
    events.also = [&](HCS_EVENT* event) {
        // Inside the completion the caller takes the info (the seed's pattern).
        HCS_PROCESS_INFORMATION info{};
        if (HcsGetOperationResultAndProcessInfo(event->Operation, &info, nullptr) == S_OK)
            for (HANDLE handle : {info.StdInput, info.StdOutput, info.StdError})
                if (handle) close(descriptorOf(handle));
    };
    const size_t baseline = openDescriptorCount();
    channel->reply(lastRequest("CreateProcess"), S_OK, StdioReply::document(3), stdio.fds());
    ASSERT_TRUE(eventually([&] { return events.count() == 1; }));
    EXPECT_EQ(events.operations[0], op);
    drainCallbacks();
    EXPECT_EQ(openDescriptorCount(), baseline - 3);  // taken and closed by the callback
    HcsCloseOperation(op);
    HcsCloseProcess(process);
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, ServiceDisconnectReachesProcessHandles)
{
    HCS_SYSTEM system = createSystem();
    HCS_PROCESS process = createProcess(system);
    EventLog events;
    ASSERT_EQ(HcsSetProcessCallback(process, HcsEventOptionNone, &events, EventLog::callback), S_OK);
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsGetProcessInfo(process, op), S_OK);
    channel->disconnect();
    HCS_PROCESS_INFORMATION info{};
    EXPECT_EQ(HcsWaitForOperationResultAndProcessInfo(op, 5000, &info, nullptr), HCS_E_SERVICE_DISCONNECT);
    ASSERT_TRUE(eventually([&] { return events.count() == 1; }));
    EXPECT_EQ(events.types[0], HcsEventServiceDisconnect);
    EXPECT_EQ(HcsWaitForProcessExit(process, 0, nullptr), HCS_E_SERVICE_DISCONNECT);
    HcsCloseOperation(op);
    HcsCloseProcess(process);
    HcsCloseComputeSystem(system);
}

TEST_F(ProcessTest, ManyThreadsCreateAndCloseProcesses)
{
    HCS_SYSTEM system = createSystem();
    channel->setAutoReply([](const FakeChannel::Request& request) -> std::optional<hc::hcs::ServiceReply> {
        if (request.method != "CreateProcess") return std::nullopt;
        Pipe pipe;
        hc::hcs::ServiceReply reply{S_OK, R"({"ProcessId":1,"StdOutput":0})"};
        reply.fds.push_back(std::move(pipe.read));
        return reply;
    });
    const size_t baseline = openDescriptorCount();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
                HCS_PROCESS process = nullptr;
                if (HcsCreateProcess(system, kParameters, op, nullptr, &process) != S_OK) continue;
                if ((i + t) % 2 == 0) {
                    HCS_PROCESS_INFORMATION info{};
                    if (HcsWaitForOperationResultAndProcessInfo(op, 5000, &info, nullptr) == S_OK && info.StdOutput)
                        close(descriptorOf(info.StdOutput));
                }
                HcsCloseProcess(process);
                HcsCloseOperation(op);
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    EXPECT_EQ(openDescriptorCount(), baseline);
    EXPECT_EQ(hc::hcs::Client::instance().processes().size(), 0u);
    HcsCloseComputeSystem(system);
}

}  // namespace
