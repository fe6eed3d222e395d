// EnumerationSession: one open directory handle's enumeration. It drives the provider's
// Start/Get/End callbacks, merges with the disk (EnumerationMerge) and keeps every entry it produced so
// offsets stay stable for telldir/seekdir: entry i has offset i + 1.
//
// Lifecycle: Created (opendir) → Started (first fetch; StartDirectoryEnumeration succeeded) → Get as
// often as the kernel reads → Ended (close(): EndDirectoryEnumeration, always after a successful Start,
// also after a cancelled or failed Get). A fetch at offset 0 after entries were produced is a rewind:
// the next Get carries PRJ_CB_DATA_FLAG_ENUM_RESTART_SCAN. Not-provider-backed directories (local ones,
// or the provider's own I/O) list the disk only. The kernel sends one readdir at a time per handle.
// A provider failure (Start or Get fails, not a cancellation) never makes the directory look empty or
// shorter: the on-disk entries not listed yet are produced first, then every later fetch fails with the
// provider's error until a rewind tries the provider again.
#pragma once

#include "projfs/core/enumeration_merge.h"
#include "projfs/core/request_context.h"

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

namespace hc::projfs {

class VirtualizationInstance;

// The most one GetDirectoryEnumeration call may fill: a page, like the classic FUSE readdir size, so
// a 1,000-entry directory takes several calls and providers' resume logic is exercised.
inline constexpr size_t kProviderBatchBytes = 4096;

class EnumerationSession : public std::enable_shared_from_this<EnumerationSession> {
public:
    EnumerationSession(VirtualizationInstance& instance, std::string dirRel, bool providerBacked);
    ~EnumerationSession();

    // Produces entries until those from `offset` fill `budgetBytes` (one readdir reply) or the
    // directory is complete, asking the provider for at most kProviderBatchBytes per Get. done(hr) once; then read
    // entries()/complete().
    void fetch(const RequestContext& ctx, size_t offset, size_t budgetBytes, std::function<void(HRESULT)> done);
    const std::vector<MergedEntry>& entries() const { return entries_; }
    bool complete() const { return complete_; }
    const GUID& id() const { return id_; }
    const std::string& directory() const { return dirRel_; }
    // The provider projects this listing (a placeholder directory, not full): the kernel may cache it.
    bool providerBacked() const { return providerBacked_; }
    // Ends the provider's enumeration (at releasedir). Idempotent.
    void close();

private:
    void step();
    bool enoughForReply() const;
    void restart();
    void loadDisk();
    void onStarted(HRESULT hr);
    void onBatch(HRESULT hr, std::vector<ProviderDirEntry> batch);
    void append(std::vector<MergedEntry> produced);
    void finishFetch(HRESULT hr);
    void publishListing();
    void providerFailed(HRESULT hr);

    VirtualizationInstance& instance_;
    const std::string dirRel_;
    const bool providerBacked_;
    const GUID id_;

    bool used_ = false;
    bool started_ = false;
    bool ended_ = false;
    bool providerDone_ = false;
    bool complete_ = false;
    bool restartScan_ = false;
    uint64_t generation_ = 0;       // the instance's listing generation when the disk was listed
    HRESULT providerError_ = S_OK;  // the provider's failure, reported once the disk's entries are out
    EnumerationMerge merge_;
    std::vector<MergedEntry> entries_;
    std::unordered_set<std::string> listed_;  // names in entries_ (a rescan must not repeat them)

    // The fetch in progress.
    RequestContext ctx_;
    size_t offset_ = 0;
    size_t budget_ = 0;
    std::function<void(HRESULT)> done_;
};

}  // namespace hc::projfs
