// What the HCS integration tests share: the private hcsd of the test program (a gtest environment),
// the test guest (scripts/make-test-guest.sh), compute system documents, and an event recorder for
// HcsSetComputeSystemCallback. Tests call the C API themselves; these only remove repetition.
#pragma once

#include <computecore.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hcs_session.h"  // CallOutcome, SystemHandle, runOperation (shared with hcsctl)
#include "support/private_hcsd.h"

namespace hcs_test {

using hcsctl::CallOutcome;
using hcsctl::runOperation;
using hcsctl::SystemHandle;

// The hcsd every test of this program talks to (started once, before the first test).
PrivateHcsd& hcsd();

constexpr DWORD c_OperationTimeoutMs = 60'000;  // nothing a test waits for may hang it

std::wstring wide(const std::string& utf8);
std::string utf8(PCWSTR text);
// A system id unique to the running test: "<suite>.<test>[-suffix]".
std::string testSystemId(const std::string& suffix = {});

// An empty directory for the running test's files below hcsd's root ("<root>/<testSystemId(files)>",
// emptied first so that reruns start clean).
std::string freshTestDirectory();

// The files scripts/make-test-guest.sh makes; throws (failing the test loudly) when they are missing.
struct TestGuest {
    std::string kernel;
    std::string initrdPoweroff;  // prints a marker and powers off at once
    std::string initrdIdle;      // waits for the ACPI power button
    static TestGuest locate();
};

// A LinuxKernelDirect VM booting the test guest: 1 processor, `memoryMB` of memory, its ttyS0 console
// on a Unix socket below the private hcsd's directory (so its QEMU command line names that directory,
// which is how qemuProcessesMentioning finds it, and ConsoleReader can watch the boot).
struct GuestDocument {
    std::string configuration;
    std::string consoleSocket;
};
GuestDocument kernelDirectVm(const std::string& initrd, bool terminateOnLastHandleClosed = true, int memoryMB = 256);

// The seed's c_EmptyVM: UEFI, 1024 MB, 2 processors, ShouldTerminateOnLastHandleClosed.
extern const char* const c_EmptyUefiVm;

// Creates `id` from `configuration` and waits for the create to finish.
CallOutcome createSystem(const std::string& id, const std::string& configuration, SystemHandle& system);
// Start / Terminate / Pause / ... through a fresh operation, waited for with c_OperationTimeoutMs.
CallOutcome start(HCS_SYSTEM system);
CallOutcome terminate(HCS_SYSTEM system);
CallOutcome shutDown(HCS_SYSTEM system);
CallOutcome pause(HCS_SYSTEM system);
CallOutcome resume(HCS_SYSTEM system);
// GetComputeSystemProperties with an optional query, parsed; fails the test when the call fails.
nlohmann::json properties(HCS_SYSTEM system, const std::string& query = {});

// "<NAME> (0x...)" for assertion messages.
std::string describe(HRESULT hr);

// Records what a compute system's event callback receives. Register with
//   HcsSetComputeSystemCallback(system, options, &recorder, EventRecorder::callback)
// Lifecycle: must outlive the registration (close the system handle before the recorder goes away).
class EventRecorder {
public:
    struct Event {
        HCS_EVENT_TYPE type;
        std::string data;
        HCS_OPERATION operation;
    };
    static void CALLBACK callback(HCS_EVENT* event, void* context);

    // The first recorded event of `type`, waiting up to `timeout` for it.
    std::optional<Event> waitFor(HCS_EVENT_TYPE type, std::chrono::milliseconds timeout);
    std::vector<Event> events();

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<Event> events_;
};

}  // namespace hcs_test
