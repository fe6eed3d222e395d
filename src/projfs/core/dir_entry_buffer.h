// DirEntryBuffer: what PRJ_DIR_ENTRY_BUFFER_HANDLE points to. One per GetDirectoryEnumeration call;
// it accepts entries until their encoded size (as FUSE will send them) exceeds the capacity, which is the
// size of the kernel's readdir request, so a large directory takes several Get calls as on Windows.
// Handles are validated against a registry of live buffers, so a stale or garbage handle is an error,
// never a crash.
#pragma once

#include "projfs/store/backing_store.h"

#include <projectedfslib.h>

#include <optional>
#include <string>
#include <vector>

namespace hc::projfs {

struct ProviderDirEntry {
    std::wstring name;
    PRJ_FILE_BASIC_INFO info{};
    ProviderExtras extras;  // from PrjFillDirEntryBuffer2's ExtendedInfo chain
};

class DirEntryBuffer {
public:
    explicit DirEntryBuffer(size_t capacityBytes);
    ~DirEntryBuffer();
    DirEntryBuffer(const DirEntryBuffer&) = delete;
    DirEntryBuffer& operator=(const DirEntryBuffer&) = delete;

    PRJ_DIR_ENTRY_BUFFER_HANDLE handle() { return reinterpret_cast<PRJ_DIR_ENTRY_BUFFER_HANDLE>(this); }

    // PrjFillDirEntryBuffer(2): S_OK, INSUFFICIENT_BUFFER when it does not fit, E_INVALIDARG for bad input.
    HRESULT add(PCWSTR fileName, const PRJ_FILE_BASIC_INFO* info, const PRJ_EXTENDED_INFO* extended);

    // Moves the entries out (the buffer stays registered until destroyed).
    std::vector<ProviderDirEntry> takeEntries();
    size_t entryCount() const { return entries_.size(); }

    // Locks the registry and calls fn(buffer) if the handle is a live buffer; otherwise returns E_INVALIDARG.
    template <typename Fn>
    static HRESULT withBuffer(PRJ_DIR_ENTRY_BUFFER_HANDLE handle, Fn&& fn);

    // The bytes one entry takes in a FUSE readdir reply.
    static size_t encodedSize(size_t utf8NameLength);

private:
    static bool lockIfLive(PRJ_DIR_ENTRY_BUFFER_HANDLE handle);
    static void unlockRegistry();

    size_t capacity_;
    size_t used_ = 0;
    std::vector<ProviderDirEntry> entries_;
};

template <typename Fn>
HRESULT DirEntryBuffer::withBuffer(PRJ_DIR_ENTRY_BUFFER_HANDLE handle, Fn&& fn)
{
    if (!lockIfLive(handle)) return E_INVALIDARG;
    HRESULT hr = fn(*reinterpret_cast<DirEntryBuffer*>(handle));
    unlockRegistry();
    return hr;
}

}  // namespace hc::projfs
