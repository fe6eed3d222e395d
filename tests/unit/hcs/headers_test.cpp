// computedefs.h keeps the Windows numeric values (spec/hcs.md), and the headers compile as C.
#include <computecore.h>
#include <gtest/gtest.h>

extern "C" int hcs_headers_c_check(void);

TEST(HcsHeaders, CompileAsC)
{
    EXPECT_EQ(hcs_headers_c_check(), 1);
}

TEST(HcsHeaders, ValuesMatchWindows)
{
    EXPECT_EQ(HcsOperationTypeNone, -1);
    EXPECT_EQ(HcsOperationTypeCrash, 15);
    EXPECT_EQ(HcsOperationTypeLiveMigration, 19);
    EXPECT_EQ(static_cast<uint32_t>(HcsEventProcessExited), 0x00010000u);
    EXPECT_EQ(static_cast<uint32_t>(HcsEventOperationCallback), 0x01000000u);
    EXPECT_EQ(static_cast<uint32_t>(HcsEventServiceDisconnect), 0x02000000u);
    EXPECT_EQ(static_cast<uint32_t>(HcsEventGroupVmLifecycle), 0x80000002u);
    EXPECT_EQ(static_cast<uint32_t>(HcsEventGroupOperationInfo), 0xC0000001u);
    EXPECT_EQ(HcsEventOptionEnableLiveMigrationEvents, 4);
    EXPECT_EQ(HcsCreateOptions_1, 0x00010000);
    EXPECT_EQ(HcsResourceTypeSocket, 4);
    EXPECT_EQ(HCS_INVALID_OPERATION_ID, ~uint64_t{0});
    EXPECT_EQ(sizeof(HCS_EVENT_TYPE), 4u);
    EXPECT_EQ(HcsEventOptionEnableOperationCallbacks | HcsEventOptionEnableVmLifecycle, 3);
}
