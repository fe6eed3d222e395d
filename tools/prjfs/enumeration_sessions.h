// The directory enumerations a provider of `prjfs` has open, by enumeration id, and the one way they
// are served: the provider lists a directory once at StartDirectoryEnumeration (entries already in
// PrjFileNameCompare order), and each GetDirectoryEnumeration fills the buffer from where the last one
// stopped, honouring the search expression (captured on the first call or a restart), RESTART_SCAN and
// RETURN_SINGLE_ENTRY, and resuming at the entry that did not fit.
//
// Lifecycle of a session: start() -> fill()* -> end(). A session is shared with the fill running on a
// worker, so end() racing a fill frees it only after that fill returns. Thread-safe.
#pragma once

#include <projectedfslib.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace prjfs {

template <typename Entry>  // Entry has a `std::wstring name`
class EnumerationSessions {
public:
    // Adds one entry to the buffer (PrjFillDirEntryBuffer or PrjFillDirEntryBuffer2).
    using FillOne = std::function<HRESULT(const Entry&, PRJ_DIR_ENTRY_BUFFER_HANDLE)>;

    void start(const GUID& id, std::vector<Entry> entries)
    {
        auto session = std::make_shared<Session>();
        session->entries = std::move(entries);
        std::lock_guard lock(mutex_);
        sessions_[id] = std::move(session);
    }

    void end(const GUID& id)
    {
        std::lock_guard lock(mutex_);
        sessions_.erase(id);
    }

    // E_INVALIDARG for an id that was never started or has ended.
    HRESULT fill(const GUID& id, PRJ_CALLBACK_DATA_FLAGS flags, const std::wstring& expression,
                 PRJ_DIR_ENTRY_BUFFER_HANDLE buffer, const FillOne& fillOne)
    {
        std::shared_ptr<Session> session;
        {
            std::lock_guard lock(mutex_);
            auto it = sessions_.find(id);
            if (it == sessions_.end()) return E_INVALIDARG;
            session = it->second;
        }
        std::lock_guard lock(session->mutex);
        const bool restart = (flags & PRJ_CB_DATA_FLAG_ENUM_RESTART_SCAN) != 0;
        if (!session->expressionCaptured || restart) {
            session->expression = expression;
            session->expressionCaptured = true;
        }
        if (restart) {
            session->next = 0;
            session->completed = false;
        }
        if (session->completed) return S_OK;
        bool added = false;
        for (; session->next < session->entries.size(); ++session->next) {
            const Entry& entry = session->entries[session->next];
            if (!PrjFileNameMatch(entry.name.c_str(), session->expression.c_str())) continue;
            HRESULT hr = fillOne(entry, buffer);
            if (hr == HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER)) return added ? S_OK : hr;  // resume here
            if (FAILED(hr)) return hr;
            added = true;
            if (flags & PRJ_CB_DATA_FLAG_ENUM_RETURN_SINGLE_ENTRY) {
                ++session->next;
                return S_OK;
            }
        }
        session->completed = true;
        return S_OK;
    }

private:
    struct Session {
        std::mutex mutex;
        std::vector<Entry> entries;
        size_t next = 0;
        bool completed = false;
        bool expressionCaptured = false;
        std::wstring expression;
    };
    struct GuidLess {
        bool operator()(const GUID& a, const GUID& b) const { return std::memcmp(&a, &b, sizeof(GUID)) < 0; }
    };

    std::mutex mutex_;
    std::map<GUID, std::shared_ptr<Session>, GuidLess> sessions_;
};

}  // namespace prjfs
