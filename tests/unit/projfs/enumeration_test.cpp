// EnumerationMerge, DirEntryBuffer, ReceivedRanges and PrjWriteFileData argument rules: pure logic.
#include "projfs/core/dir_entry_buffer.h"
#include "projfs/core/enumeration_merge.h"
#include "projfs/core/hydration.h"

#include <gtest/gtest.h>

#include <memory>

namespace hc::projfs {
namespace {

ProviderDirEntry provider(const wchar_t* name, bool dir = false)
{
    ProviderDirEntry e;
    e.name = name;
    e.info.IsDirectory = dir;
    return e;
}

std::vector<std::string> namesOf(const std::vector<MergedEntry>& entries)
{
    std::vector<std::string> out;
    for (const auto& e : entries)
        out.push_back(e.name + (e.onDisk ? "*" : ""));
    return out;
}

TEST(EnumerationMergeTest, MergesInCollationOrderLocalWinsTombstonesHide)
{
    EnumerationMerge merge;
    merge.reset(
        {{"b.txt", 1, false, false}, {"D", 2, true, false}, {"gone", 3, false, true}, {"zeta", 4, false, false}});
    std::vector<MergedEntry> out;
    for (const wchar_t* name : {L"a", L"B.TXT", L"c", L"Gone", L"x"})
        merge.addProviderEntry(provider(name), out);
    merge.finish(out);
    EXPECT_EQ(namesOf(out), (std::vector<std::string>{"a", "b.txt*", "c", "D*", "x", "zeta*"}));
}

TEST(EnumerationMergeTest, BatchesAndDuplicates)
{
    EnumerationMerge merge;
    merge.reset({});
    std::vector<MergedEntry> out;
    merge.addProviderEntry(provider(L"a"), out);
    merge.addProviderEntry(provider(L"A"), out);  // same name again: listed once
    merge.addProviderEntry(provider(L"b"), out);
    merge.finish(out);
    EXPECT_EQ(namesOf(out), (std::vector<std::string>{"a", "b"}));
}

TEST(EnumerationMergeTest, UnderscoreSortsAfterLetters)
{
    EnumerationMerge merge;
    merge.reset({{"_local", 1, false, false}});
    std::vector<MergedEntry> out;
    merge.addProviderEntry(provider(L"z"), out);
    merge.finish(out);
    EXPECT_EQ(namesOf(out), (std::vector<std::string>{"z", "_local*"}));
}

TEST(DirEntryBufferTest, FillsUntilFull)
{
    DirEntryBuffer buffer(DirEntryBuffer::encodedSize(8) * 3);
    PRJ_FILE_BASIC_INFO info{};
    auto handle = buffer.handle();
    auto fill = [&](const wchar_t* name) {
        return DirEntryBuffer::withBuffer(handle, [&](DirEntryBuffer& b) { return b.add(name, &info, nullptr); });
    };
    EXPECT_EQ(fill(L"name0001"), S_OK);
    EXPECT_EQ(fill(L"name0002"), S_OK);
    EXPECT_EQ(fill(L"name0003"), S_OK);
    EXPECT_EQ(fill(L"name0004"), HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER));
    EXPECT_EQ(buffer.entryCount(), 3u);
    EXPECT_EQ(fill(L""), E_INVALIDARG);
    EXPECT_EQ(fill(nullptr), E_INVALIDARG);
    EXPECT_EQ(fill(L"a\\b"), E_INVALIDARG);
    EXPECT_EQ(fill(L".."), E_INVALIDARG);
    PRJ_EXTENDED_INFO ext{};
    ext.InfoType = static_cast<PRJ_EXT_INFO_TYPE>(9);
    EXPECT_EQ(DirEntryBuffer::withBuffer(handle, [&](DirEntryBuffer& b) { return b.add(L"s", &info, &ext); }),
              E_INVALIDARG);
}

TEST(DirEntryBufferTest, StaleHandlesAreRejected)
{
    auto buffer = std::make_unique<DirEntryBuffer>(4096);
    volatile uintptr_t stale = reinterpret_cast<uintptr_t>(buffer->handle());
    buffer.reset();
    auto handle = reinterpret_cast<PRJ_DIR_ENTRY_BUFFER_HANDLE>(stale);
    EXPECT_EQ(DirEntryBuffer::withBuffer(handle, [](DirEntryBuffer&) { return S_OK; }), E_INVALIDARG);
    EXPECT_EQ(DirEntryBuffer::withBuffer(nullptr, [](DirEntryBuffer&) { return S_OK; }), E_INVALIDARG);
}

TEST(ReceivedRangesTest, CoversOnlyWhenEverythingArrived)
{
    ReceivedRanges r;
    EXPECT_TRUE(r.covers(0));
    r.add(4096, 8192);
    EXPECT_FALSE(r.covers(8192));
    r.add(0, 4096);
    EXPECT_TRUE(r.covers(8192));
    EXPECT_FALSE(r.covers(8193));
    ReceivedRanges overlapping;
    overlapping.add(0, 100);
    overlapping.add(50, 200);
    overlapping.add(300, 400);
    EXPECT_FALSE(overlapping.covers(400));
    overlapping.add(150, 350);
    EXPECT_TRUE(overlapping.covers(400));
}

TEST(FileDataWriteTest, AlignmentAndBounds)
{
    char b = 0;
    EXPECT_EQ(checkFileDataWrite(10000, &b, 0, 4096, 4096), S_OK);
    EXPECT_EQ(checkFileDataWrite(10000, &b, 8192, 1808, 4096), S_OK);  // short tail ends at EOF
    EXPECT_EQ(checkFileDataWrite(10000, &b, 8192, 1000, 4096), HRESULT_FROM_WIN32(ERROR_OFFSET_ALIGNMENT_VIOLATION));
    EXPECT_EQ(checkFileDataWrite(10000, &b, 1, 4096, 4096), HRESULT_FROM_WIN32(ERROR_OFFSET_ALIGNMENT_VIOLATION));
    EXPECT_EQ(checkFileDataWrite(10000, &b, 8192, 4096, 4096), E_INVALIDARG);
    EXPECT_EQ(checkFileDataWrite(10000, &b, 12288, 4096, 4096), E_INVALIDARG);
    EXPECT_EQ(checkFileDataWrite(10000, nullptr, 0, 4096, 4096), E_INVALIDARG);
    EXPECT_EQ(checkFileDataWrite(10000, &b, 0, 0, 4096), E_INVALIDARG);
}

}  // namespace
}  // namespace hc::projfs
