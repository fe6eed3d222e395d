#include "projfs/core/subtree_detach.h"

#include "base/hresult.h"
#include "projfs/core/dispatcher.h"
#include "projfs/core/enumeration_session.h"
#include "projfs/core/virtualization_instance.h"
#include "projfs/store/rel_path.h"

#include <cerrno>
#include <cstdint>

namespace hc::projfs {

namespace {

// Whatever the provider said, a rename it could not prepare is EIO (not, say, ENOENT for its "path not
// found", which would claim the source is missing); an interrupted one stays what it is.
HRESULT providerFailure(HRESULT hr)
{
    return hr == HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED) ? hr : errnoHresult(EIO);
}

}  // namespace

void SubtreeDetach::start(VirtualizationInstance& instance, const RequestContext& ctx, const std::string& rel,
                          std::function<void(Status)> done)
{
    auto walk = std::make_shared<SubtreeDetach>(instance, ctx, rel, std::move(done));
    walk->resume();
}

SubtreeDetach::SubtreeDetach(VirtualizationInstance& instance, const RequestContext& ctx, const std::string& rel,
                             std::function<void(Status)> done)
    : instance_(instance), ctx_(ctx), done_(std::move(done))
{
    toVisit_.push_back(rel);
}

void SubtreeDetach::resume()
{
    // The provider is never called again from inside its own PrjCompleteCommand.
    if (VirtualizationInstance::onProviderCompletionThread()) {
        auto self = shared_from_this();
        instance_.executor().post([self] { self->loop(); });
        return;
    }
    loop();
}

void SubtreeDetach::loop()
{
    while (advance()) {
    }
}

bool SubtreeDetach::advance()
{
    if (!done_) return false;
    if (session_ && listed_) {
        session_->close();  // EndDirectoryEnumeration, from this thread (never the provider's completion)
        session_.reset();
    }
    if (!result_) {
        finish(result_);
        return false;
    }
    if (ctx_.interruption->fired()) {
        finish(makeError(HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED), "the rename was interrupted"));
        return false;
    }
    if (!visiting_) {
        if (toVisit_.empty()) {
            finish(detachAll());
            return false;
        }
        current_ = std::move(toVisit_.front());
        toVisit_.pop_front();
        visiting_ = true;
        listed_ = false;
        directories_.push_back(current_);
        missing_.clear();
        nextName_ = 0;
        if (instance_.isProviderBacked(ctx_, current_)) return listCurrentDirectory();
        listed_ = true;  // a full directory: everything it has is on disk
    }
    if (nextName_ < missing_.size()) return resolveNextName();
    queueSubdirectories();
    visiting_ = false;
    return true;
}

bool SubtreeDetach::listCurrentDirectory()
{
    session_ = instance_.openEnumeration(ctx_, current_);
    auto arrival = std::make_shared<std::atomic<int>>(0);
    auto self = shared_from_this();
    session_->fetch(ctx_, 0, SIZE_MAX, [self, arrival](HRESULT hr) {
        if (SUCCEEDED(hr) && !self->session_->complete()) hr = E_FAIL;  // the provider failed part way
        if (FAILED(hr)) {
            self->result_ = makeError(providerFailure(hr), "listing '" + self->current_ + "' before moving it failed");
        } else {
            for (const MergedEntry& entry : self->session_->entries()) {
                if (!entry.onDisk) self->missing_.push_back(entry.name);
            }
        }
        self->listed_ = true;
        if (self->arrivedSecond(arrival)) self->resume();
    });
    return arrivedSecond(arrival);
}

bool SubtreeDetach::resolveNextName()
{
    const std::string name = missing_[nextName_++];
    auto arrival = std::make_shared<std::atomic<int>>(0);
    auto self = shared_from_this();
    instance_.resolveChild(ctx_, current_, name, [self, arrival](Result<std::optional<std::string>> found) {
        // nullopt: listed but no longer the provider's; nothing to keep.
        if (!found) self->result_ = makeError(providerFailure(found.hr()), found.error().message);
        if (self->arrivedSecond(arrival)) self->resume();
    });
    return arrivedSecond(arrival);
}

void SubtreeDetach::queueSubdirectories()
{
    auto entries = instance_.store().listDirectory(current_);
    if (!entries) {
        result_ = entries.error();
        return;
    }
    for (const DiskEntry& entry : *entries) {
        if (entry.isDirectory && !entry.tombstone) toVisit_.push_back(joinRel(current_, entry.name));
    }
}

Status SubtreeDetach::detachAll()
{
    for (const std::string& dir : directories_) {
        auto record = instance_.record(dir);
        if (!record) return record.error();
        if (!record->isDirectory || record->state != ItemState::Placeholder) continue;
        // Its tombstones hid provider entries from its listing; a full directory is not listed by the provider.
        if (auto cleared = instance_.store().clearTombstonesIn(dir); !cleared) return cleared;
        if (auto full = instance_.setItemState(nullptr, dir, ItemState::Full); !full) return full;
    }
    return {};
}

void SubtreeDetach::finish(Status status)
{
    if (session_) {
        session_->close();
        session_.reset();
    }
    auto done = std::exchange(done_, nullptr);
    if (done) done(std::move(status));
}

}  // namespace hc::projfs
