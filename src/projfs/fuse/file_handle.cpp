#include "projfs/fuse/file_handle.h"

#include "projfs/fuse/fuse_state.h"

namespace hc::projfs {

FileHandle::FileHandle(ProjectedFuse::State& state, std::unique_ptr<OpenFile> file)
    : state_(state), file_(std::move(file))
{
    std::lock_guard lock(state_.openFilesMutex);
    state_.openFiles.insert(this);
}

FileHandle::~FileHandle()
{
    {
        std::lock_guard lock(state_.openFilesMutex);
        state_.openFiles.erase(this);
    }
    releasePassthrough();  // before the descriptor closes
    file_.reset();
}

void FileHandle::releasePassthrough()
{
    if (!passthrough_ || !file_) return;
    passthrough_ = false;
    state_.passthrough.release(state_.session, file_->inode());
}

std::unique_ptr<OpenFile> FileHandle::release()
{
    releasePassthrough();
    return std::move(file_);
}

std::optional<int32_t> FileHandle::registerPassthrough()
{
    if (passthrough_) return std::nullopt;  // one share per handle
    auto id = state_.passthrough.registerFile(state_.session, file_->inode(), file_->fd());
    passthrough_ = id.has_value();
    return id;
}

void ProjectedFuse::State::closeLeftoverFiles()
{
    std::unordered_set<FileHandle*> leftovers;
    {
        std::lock_guard lock(openFilesMutex);
        leftovers.swap(openFiles);
    }
    for (FileHandle* handle : leftovers)
        delete handle;  // its destructor finds itself gone from openFiles
}

}  // namespace hc::projfs
