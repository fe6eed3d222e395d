#include "support/hcs_test_support.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "base/strings.h"

namespace hcs_test {
namespace {

// Starts the private hcsd before the first test of the program and stops it after the last.
class HcsdEnvironment : public testing::Environment {
public:
    void SetUp() override
    {
        try {
            hcsd().start();
        } catch (const std::exception& error) {
            FAIL() << "cannot start the private hcsd: " << error.what();
        }
    }
    void TearDown() override { hcsd().stop(); }
};

[[maybe_unused]] testing::Environment* const c_Environment = testing::AddGlobalTestEnvironment(new HcsdEnvironment);

}  // namespace

PrivateHcsd& hcsd()
{
    static PrivateHcsd instance;
    return instance;
}

std::wstring wide(const std::string& text)
{
    auto converted = hc::fromUtf8(text);
    if (!converted) {
        throw std::runtime_error("not UTF-8: " + text);
    }
    return *converted;
}

std::string utf8(PCWSTR text)
{
    return text == nullptr ? std::string() : hc::toUtf8Lossy(text);
}

std::string freshTestDirectory()
{
    std::string dir = hcsd().root() + "/" + testSystemId("files");
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

std::string testSystemId(const std::string& suffix)
{
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    std::string id = std::string(info->test_suite_name()) + "." + info->name();
    return suffix.empty() ? id : id + "-" + suffix;
}

TestGuest TestGuest::locate()
{
    std::string directory = sourceDirectory() + "/.cache/test-guest";
    TestGuest guest{directory + "/vmlinuz", directory + "/initrd-poweroff.gz", directory + "/initrd-idle.gz"};
    for (const auto& file : {guest.kernel, guest.initrdPoweroff, guest.initrdIdle}) {
        if (::access(file.c_str(), R_OK) != 0) {
            throw std::runtime_error(file + " is missing: run scripts/make-test-guest.sh");
        }
    }
    return guest;
}

GuestDocument kernelDirectVm(const std::string& initrd, bool terminateOnLastHandleClosed, int memoryMB)
{
    static int consoles = 0;
    std::string consoleSocket = hcsd().root() + "/com" + std::to_string(++consoles) + ".sock";
    nlohmann::json document = {
        {"SchemaVersion", {{"Major", 2}, {"Minor", 1}}},
        {"Owner", "hcs-integration-test"},
        {"VirtualMachine",
         {{"Chipset",
           {{"LinuxKernelDirect",
             {{"KernelFilePath", TestGuest::locate().kernel},
              {"InitRdPath", initrd},
              {"KernelCmdLine", "console=ttyS0 quiet"}}}}},
          {"ComputeTopology", {{"Memory", {{"SizeInMB", memoryMB}}}, {"Processor", {{"Count", 1}}}}},
          {"Devices", {{"ComPorts", {{"0", {{"NamedPipe", consoleSocket}}}}}}}}},
        {"ShouldTerminateOnLastHandleClosed", terminateOnLastHandleClosed},
    };
    return {document.dump(), consoleSocket};
}

const char* const c_EmptyUefiVm = R"(
{
    "SchemaVersion": {
        "Major": 2,
        "Minor": 1
    },
    "Owner": "Sample",
    "VirtualMachine": {
        "Chipset": {
            "Uefi": {}
        },
        "ComputeTopology": {
            "Memory": {
                "Backing": "Physical",
                "SizeInMB": 1024
            },
            "Processor": {
                "Count": 2
            }
        }
    },
    "ShouldTerminateOnLastHandleClosed": true
})";

CallOutcome createSystem(const std::string& id, const std::string& configuration, SystemHandle& system)
{
    std::wstring wideId = wide(id);
    std::wstring wideConfiguration = wide(configuration);
    return runOperation(c_OperationTimeoutMs, [&](HCS_OPERATION operation) {
        return HcsCreateComputeSystem(wideId.c_str(), wideConfiguration.c_str(), operation, nullptr, system.put());
    });
}

CallOutcome start(HCS_SYSTEM system)
{
    return runOperation(c_OperationTimeoutMs,
                        [&](HCS_OPERATION operation) { return HcsStartComputeSystem(system, operation, nullptr); });
}

CallOutcome terminate(HCS_SYSTEM system)
{
    return runOperation(c_OperationTimeoutMs,
                        [&](HCS_OPERATION operation) { return HcsTerminateComputeSystem(system, operation, nullptr); });
}

CallOutcome shutDown(HCS_SYSTEM system)
{
    return runOperation(c_OperationTimeoutMs,
                        [&](HCS_OPERATION operation) { return HcsShutDownComputeSystem(system, operation, nullptr); });
}

CallOutcome pause(HCS_SYSTEM system)
{
    return runOperation(c_OperationTimeoutMs,
                        [&](HCS_OPERATION operation) { return HcsPauseComputeSystem(system, operation, nullptr); });
}

CallOutcome resume(HCS_SYSTEM system)
{
    return runOperation(c_OperationTimeoutMs,
                        [&](HCS_OPERATION operation) { return HcsResumeComputeSystem(system, operation, nullptr); });
}

nlohmann::json properties(HCS_SYSTEM system, const std::string& query)
{
    std::wstring wideQuery = wide(query);
    CallOutcome outcome = runOperation(c_OperationTimeoutMs, [&](HCS_OPERATION operation) {
        return HcsGetComputeSystemProperties(system, operation, query.empty() ? nullptr : wideQuery.c_str());
    });
    EXPECT_EQ(outcome.hr, S_OK) << describe(outcome.hr) << " " << outcome.document;
    auto parsed = nlohmann::json::parse(outcome.document, nullptr, false);
    EXPECT_TRUE(parsed.is_object()) << "Properties is not a JSON object: " << outcome.document;
    return parsed;
}

std::string describe(HRESULT hr)
{
    return hcsctl::describeHresult(hr);
}

void CALLBACK EventRecorder::callback(HCS_EVENT* event, void* context)
{
    auto* recorder = static_cast<EventRecorder*>(context);
    std::lock_guard lock(recorder->mutex_);
    recorder->events_.push_back({event->Type, utf8(event->EventData), event->Operation});
    recorder->changed_.notify_all();
}

std::optional<EventRecorder::Event> EventRecorder::waitFor(HCS_EVENT_TYPE type, std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mutex_);
    std::optional<Event> found;
    changed_.wait_for(lock, timeout, [&] {
        for (const auto& event : events_) {
            if (event.type == type) {
                found = event;
                return true;
            }
        }
        return false;
    });
    return found;
}

std::vector<EventRecorder::Event> EventRecorder::events()
{
    std::lock_guard lock(mutex_);
    return events_;
}

}  // namespace hcs_test
