// Bad input at the C API never crashes the library or hcsd and comes back as the documented HRESULT
// (docs/hcs-operations.md): NULL handle -> E_INVALIDARG, closed/garbage handle -> E_HANDLE, NULL string
// -> E_INVALIDARG, NULL out-pointer -> E_POINTER; bad documents -> HCS_E_INVALID_JSON naming the field;
// unknown ids -> HCS_E_SYSTEM_NOT_FOUND.
#include <gtest/gtest.h>

#include "support/hcs_test_support.h"

namespace hcs_test {
namespace {

using nlohmann::json;

// Create with `configuration`: the HRESULT (synchronous or from the operation) and the error document.
CallOutcome createWith(const std::string& configuration)
{
    SystemHandle system;
    return createSystem(testSystemId(), configuration, system);
}

void expectInvalidJsonNaming(const std::string& configuration, const std::string& field)
{
    CallOutcome outcome = createWith(configuration);
    EXPECT_EQ(outcome.hr, HCS_E_INVALID_JSON) << describe(outcome.hr) << " " << outcome.document;
    std::string message = hcsctl::errorMessageOf(outcome.document);
    EXPECT_NE(message.find(field), std::string::npos)
        << "the ResultError does not name " << field << ": " << outcome.document;
}

class HcsErrors : public testing::Test {
protected:
    void TearDown() override
    {
        // Whatever the test did, the service still answers and hcsd is alive.
        PWSTR result = nullptr;
        EXPECT_EQ(HcsGetServiceProperties(nullptr, &result), S_OK);
        LocalFree(result);
        EXPECT_TRUE(hcsd().process().running()) << hcsd().log();
    }
};

TEST_F(HcsErrors, MalformedJsonIsInvalidJson)
{
    CallOutcome outcome = createWith(R"({"SchemaVersion": {"Major": 2, )");
    EXPECT_EQ(outcome.hr, HCS_E_INVALID_JSON) << describe(outcome.hr) << " " << outcome.document;
    EXPECT_FALSE(hcsctl::errorMessageOf(outcome.document).empty()) << outcome.document;
}

TEST_F(HcsErrors, WrongTypeNamesTheField)
{
    expectInvalidJsonNaming(R"({"SchemaVersion":{"Major":2,"Minor":1},"VirtualMachine":{"Chipset":{"Uefi":{}},
        "ComputeTopology":{"Memory":{"SizeInMB":"lots"},"Processor":{"Count":1}}}})",
                            "SizeInMB");
    expectInvalidJsonNaming(R"({"SchemaVersion":{"Major":2,"Minor":1},"VirtualMachine":{"Chipset":{"Uefi":{}},
        "ComputeTopology":{"Memory":{"SizeInMB":256},"Processor":{"Count":"two"}}}})",
                            "Count");
    expectInvalidJsonNaming(R"({"SchemaVersion":{"Major":2,"Minor":1},"ShouldTerminateOnLastHandleClosed":"yes",
        "VirtualMachine":{"Chipset":{"Uefi":{}},"ComputeTopology":{"Memory":{"SizeInMB":256}}}})",
                            "ShouldTerminateOnLastHandleClosed");
}

TEST_F(HcsErrors, NullArguments)
{
    HCS_OPERATION operation = HcsCreateOperation(nullptr, nullptr);
    ASSERT_NE(operation, nullptr);
    HCS_SYSTEM system = nullptr;
    EXPECT_EQ(HcsCreateComputeSystem(nullptr, wide(c_EmptyUefiVm).c_str(), operation, nullptr, &system), E_INVALIDARG);
    EXPECT_EQ(HcsCreateComputeSystem(L"x", nullptr, operation, nullptr, &system), E_INVALIDARG);
    EXPECT_EQ(HcsCreateComputeSystem(L"x", wide(c_EmptyUefiVm).c_str(), nullptr, nullptr, &system), E_INVALIDARG);
    EXPECT_EQ(HcsCreateComputeSystem(L"x", wide(c_EmptyUefiVm).c_str(), operation, nullptr, nullptr), E_POINTER);
    EXPECT_EQ(HcsOpenComputeSystem(nullptr, GENERIC_ALL, &system), E_INVALIDARG);
    EXPECT_EQ(HcsOpenComputeSystem(L"x", GENERIC_ALL, nullptr), E_POINTER);
    EXPECT_EQ(HcsStartComputeSystem(nullptr, operation, nullptr), E_INVALIDARG);
    EXPECT_EQ(HcsGetComputeSystemProperties(nullptr, operation, nullptr), E_INVALIDARG);
    EXPECT_EQ(HcsWaitForComputeSystemExit(nullptr, 0, nullptr), E_INVALIDARG);
    EXPECT_EQ(HcsSetComputeSystemCallback(nullptr, HcsEventOptionNone, nullptr, EventRecorder::callback), E_INVALIDARG);
    EXPECT_EQ(HcsWaitForOperationResult(nullptr, 0, nullptr), E_INVALIDARG);
    EXPECT_EQ(HcsGetOperationResult(nullptr, nullptr), E_INVALIDARG);
    EXPECT_EQ(HcsGetOperationType(nullptr), HcsOperationTypeNone);
    EXPECT_EQ(HcsGetOperationId(nullptr), HCS_INVALID_OPERATION_ID);
    EXPECT_EQ(HcsGetServiceProperties(nullptr, nullptr), E_POINTER);
    HcsCloseComputeSystem(nullptr);  // no-ops, no crash
    HcsCloseOperation(nullptr);
    // The operation was never started by any of the rejected calls.
    EXPECT_EQ(HcsWaitForOperationResult(operation, 0, nullptr), HCS_E_OPERATION_NOT_STARTED);
    HcsCloseOperation(operation);
}

TEST_F(HcsErrors, ClosedAndGarbageHandles)
{
    SystemHandle created;
    CallOutcome outcome = createSystem(testSystemId(), c_EmptyUefiVm, created);
    ASSERT_EQ(outcome.hr, S_OK) << describe(outcome.hr) << " " << outcome.document;
    HCS_SYSTEM closedSystem = created.release();
    HcsCloseComputeSystem(closedSystem);
    HCS_OPERATION closedOperation = HcsCreateOperation(nullptr, nullptr);
    HcsCloseOperation(closedOperation);
    auto* garbageSystem = reinterpret_cast<HCS_SYSTEM>(0xdeadbeef);
    auto* garbageOperation = reinterpret_cast<HCS_OPERATION>(0x1234);

    HCS_OPERATION operation = HcsCreateOperation(nullptr, nullptr);
    for (HCS_SYSTEM bad : {closedSystem, garbageSystem}) {
        EXPECT_EQ(HcsStartComputeSystem(bad, operation, nullptr), E_HANDLE);
        EXPECT_EQ(HcsTerminateComputeSystem(bad, operation, nullptr), E_HANDLE);
        EXPECT_EQ(HcsGetComputeSystemProperties(bad, operation, nullptr), E_HANDLE);
        EXPECT_EQ(HcsSetComputeSystemCallback(bad, HcsEventOptionNone, nullptr, EventRecorder::callback), E_HANDLE);
        PWSTR result = nullptr;
        EXPECT_EQ(HcsWaitForComputeSystemExit(bad, 0, &result), E_HANDLE);
        EXPECT_EQ(result, nullptr);
        HcsCloseComputeSystem(bad);  // closing again / garbage: ignored
    }
    for (HCS_OPERATION bad : {closedOperation, garbageOperation}) {
        PWSTR result = nullptr;
        EXPECT_EQ(HcsWaitForOperationResult(bad, 0, &result), E_HANDLE);
        EXPECT_EQ(HcsGetOperationResult(bad, &result), E_HANDLE);
        EXPECT_EQ(HcsGetOperationType(bad), HcsOperationTypeNone);
        EXPECT_EQ(HcsGetOperationContext(bad), nullptr);
        EXPECT_EQ(HcsEnumerateComputeSystems(nullptr, bad), E_HANDLE);
        HcsCloseOperation(bad);
    }
    // The valid operation was never started by the rejected calls and still works.
    EXPECT_EQ(HcsEnumerateComputeSystems(nullptr, operation), S_OK);
    PWSTR result = nullptr;
    EXPECT_EQ(HcsWaitForOperationResult(operation, c_OperationTimeoutMs, &result), S_OK);
    LocalFree(result);
    HcsCloseOperation(operation);
}

TEST_F(HcsErrors, UnknownAndDuplicateIds)
{
    SystemHandle system;
    EXPECT_EQ(HcsOpenComputeSystem(L"no-such-system", GENERIC_ALL, system.put()), HCS_E_SYSTEM_NOT_FOUND);
    EXPECT_EQ(system.get(), nullptr);

    SystemHandle first;
    CallOutcome created = createSystem(testSystemId(), c_EmptyUefiVm, first);
    ASSERT_EQ(created.hr, S_OK) << describe(created.hr) << " " << created.document;
    SystemHandle second;
    CallOutcome duplicate = createSystem(testSystemId(), c_EmptyUefiVm, second);
    EXPECT_EQ(duplicate.hr, HCS_E_SYSTEM_ALREADY_EXISTS) << describe(duplicate.hr) << " " << duplicate.document;

    CallOutcome listed = runOperation(c_OperationTimeoutMs, [](HCS_OPERATION operation) {
        return HcsEnumerateComputeSystems(LR"({"Ids":["no-such-system"]})", operation);
    });
    ASSERT_EQ(listed.hr, S_OK) << describe(listed.hr);
    EXPECT_EQ(json::parse(listed.document, nullptr, false), json::array()) << listed.document;
}

TEST_F(HcsErrors, InvalidUtf8QueryIsRejected)
{
    // A lone surrogate cannot become UTF-8: the call is rejected, nothing reaches hcsd.
    const wchar_t badQuery[] = {L'{', static_cast<wchar_t>(0xD800), L'}', 0};
    HCS_OPERATION operation = HcsCreateOperation(nullptr, nullptr);
    EXPECT_EQ(HcsEnumerateComputeSystems(badQuery, operation), E_INVALIDARG);
    HcsCloseOperation(operation);
}

}  // namespace
}  // namespace hcs_test
