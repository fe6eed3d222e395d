#include "hydration_progress.h"

#include "base/strings.h"

namespace hc::tools {

HydrationProgress::HydrationProgress(int fd, std::chrono::milliseconds interval)
    : fd_(fd), interval_(interval), enabled_(ProgressLine::enabled(fd))
{
}

HydrationProgress::~HydrationProgress()
{
    std::unique_ptr<ProgressLine> line;
    {
        std::lock_guard lock(mutex_);
        line = std::move(line_);
    }
}

HydrationProgress::Scope HydrationProgress::start(const std::wstring& name, uint64_t bytes)
{
    if (bytes < c_LargeFileBytes || !enabled_) return Scope(nullptr, 0);
    std::lock_guard lock(mutex_);
    const uint64_t id = nextId_++;
    running_[id] = Hydration{hc::toUtf8Lossy(name), bytes, 0};
    if (!line_)
        line_ = std::make_unique<ProgressLine>(
            "hydrating", [this] { return describe(); }, fd_, interval_);
    return Scope(this, id);
}

void HydrationProgress::advance(uint64_t id, uint64_t bytes)
{
    std::lock_guard lock(mutex_);
    auto found = running_.find(id);
    if (found != running_.end()) found->second.done += bytes;
}

void HydrationProgress::finish(uint64_t id)
{
    std::unique_ptr<ProgressLine> line;
    {
        std::lock_guard lock(mutex_);
        running_.erase(id);
        if (running_.empty()) line = std::move(line_);
    }
    // `line` is destroyed here, unlocked: its thread may be waiting for mutex_ in describe().
}

std::string HydrationProgress::describe()
{
    std::lock_guard lock(mutex_);
    if (running_.empty()) return {};
    const Hydration& shown = running_.begin()->second;
    const uint64_t done = std::min(shown.done, shown.total);
    std::string text = shown.name + " " + humanBytes(done) + " of " + humanBytes(shown.total) + " (" +
                       std::to_string(done * 100 / shown.total) + " %)";
    if (running_.size() > 1) text += ", " + std::to_string(running_.size() - 1) + " more";
    return text;
}

HydrationProgress::Scope::Scope(Scope&& other) noexcept : owner_(other.owner_), id_(other.id_)
{
    other.owner_ = nullptr;
}

HydrationProgress::Scope::~Scope()
{
    if (owner_) owner_->finish(id_);
}

void HydrationProgress::Scope::advance(uint64_t bytes)
{
    if (owner_) owner_->advance(id_, bytes);
}

}  // namespace hc::tools
