#include "projfs/fuse/file_handle.h"

#include "projfs/fuse/fuse_state.h"

namespace hc::projfs {

FileHandle::FileHandle(ProjectedFuse::State& state, std::shared_ptr<Inode> inode, UniqueFd fd)
    : state_(state), inode_(std::move(inode)), fd_(std::move(fd))
{
    state_.inodes.pin(*inode_);
    std::lock_guard lock(state_.openFilesMutex);
    state_.openFiles.insert(this);
}

FileHandle::~FileHandle()
{
    {
        std::lock_guard lock(state_.openFilesMutex);
        state_.openFiles.erase(this);
    }
    Notifications::dropHandle(*inode_, notify);
    if (passthrough_) state_.passthrough.release(state_.session, *inode_);  // before the descriptor closes
    state_.inodes.unpin(*inode_);
    fd_.reset();
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

std::optional<int32_t> FileHandle::registerPassthrough()
{
    if (passthrough_) return std::nullopt;  // one registration per handle
    auto id = state_.passthrough.registerFile(state_.session, *inode_, fd_.get());
    passthrough_ = id.has_value();
    return id;
}

}  // namespace hc::projfs
