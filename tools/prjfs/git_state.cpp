#include "git_state.h"

#include "base/hresult.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

namespace prjfs {
namespace {

hc::Error errnoError(int err, const std::string& what)
{
    return hc::makeError(hc::hresultFromErrno(err), what + ": " + std::strerror(err));
}

}  // namespace

hc::Result<std::string> readTextFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return errnoError(errno ? errno : ENOENT, "read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

hc::Status writeTextFileAtomically(const std::string& path, const std::string& text)
{
    const std::string temporary = path + ".tmp";
    int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return errnoError(errno, "create " + temporary);
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!written) return errnoError(err, "write " + temporary);
    if (::rename(temporary.c_str(), path.c_str()) != 0) return errnoError(errno, "rename " + temporary);
    return {};
}

// "key value" lines -> the value of `key` ("" when absent).
std::string field(const std::string& text, const std::string& key)
{
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ' ')
            return line.substr(key.size() + 1);
    }
    return {};
}

namespace {

hc::Status makeDirectory(const std::string& path)
{
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return errnoError(errno, "mkdir " + path);
    return {};
}

}  // namespace

std::string absolutePath(const std::string& path)
{
    char resolved[PATH_MAX];
    if (!::realpath(path.c_str(), resolved)) return {};
    return resolved;
}

hc::Result<std::unique_ptr<GitState>> GitState::load(const std::string& root)
{
    auto marker = readTextFile(root + "/" + kMarkerName);
    if (!marker.ok())
        return hc::makeError(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), root + " is not a prjfs git root (no marker)");
    std::unique_ptr<GitState> state(new GitState());
    state->adminDir_ = field(*marker, "gitdir:");
    if (state->adminDir_.empty()) return hc::makeError(E_INVALIDARG, root + "/" + kMarkerName + ": no gitdir line");
    auto text = readTextFile(state->adminDir_ + "/state");
    if (!text.ok()) return text.error();
    state->gitDir_ = field(*text, "repo");
    state->commit_ = field(*text, "commit");
    state->epoch_ = std::atoll(field(*text, "epoch").c_str());
    if (state->gitDir_.empty() || state->commit_.empty())
        return hc::makeError(E_INVALIDARG, state->adminDir_ + "/state: repo or commit missing");
    auto touched = readTextFile(state->adminDir_ + "/touched");
    if (touched.ok()) {
        std::istringstream lines(*touched);
        std::string line;
        while (std::getline(lines, line))
            if (!line.empty()) state->touched_.insert(line);
    }
    auto opened = state->openLog();
    if (!opened.ok()) return opened.error();
    return state;
}

hc::Result<std::unique_ptr<GitState>> GitState::create(const std::string& root, const std::string& gitDir,
                                                       const std::string& commit, int64_t epoch)
{
    const std::string absoluteRoot = absolutePath(root);
    if (absoluteRoot.empty()) return errnoError(errno, "resolve " + root);
    std::string name = absoluteRoot.substr(absoluteRoot.rfind('/') + 1);
    if (name.empty()) name = "root";
    char hash[17];
    std::snprintf(hash, sizeof(hash), "%016zx", std::hash<std::string>{}(absoluteRoot));
    std::unique_ptr<GitState> state(new GitState());
    state->adminDir_ = gitDir + "/worktrees/" + name + "-" + hash;
    state->gitDir_ = gitDir;
    state->commit_ = commit;
    state->epoch_ = epoch;
    for (const std::string& dir : {gitDir + "/worktrees", state->adminDir_}) {
        auto made = makeDirectory(dir);
        if (!made.ok()) return made.error();
    }
    auto written = state->writeState();
    if (!written.ok()) return written.error();
    ::unlink((state->adminDir_ + "/touched").c_str());
    auto marked = writeTextFileAtomically(absoluteRoot + "/" + kMarkerName, "gitdir: " + state->adminDir_ + "\n");
    if (!marked.ok()) return marked.error();
    auto opened = state->openLog();
    if (!opened.ok()) return opened.error();
    return state;
}

GitState::~GitState()
{
    if (logFd_ >= 0) ::close(logFd_);
}

hc::Status GitState::openLog()
{
    const std::string path = adminDir_ + "/touched";
    logFd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logFd_ < 0) return errnoError(errno, "open " + path);
    return {};
}

hc::Status GitState::writeState() const
{
    return writeTextFileAtomically(
        adminDir_ + "/state", "repo " + gitDir_ + "\ncommit " + commit_ + "\nepoch " + std::to_string(epoch_) + "\n");
}

std::string GitState::commit() const
{
    std::lock_guard lock(mutex_);
    return commit_;
}

hc::Status GitState::setCommit(const std::string& commit)
{
    std::lock_guard lock(mutex_);
    commit_ = commit;
    return writeState();
}

hc::Status GitState::record(const std::string& path)
{
    if (path.empty() || path.find('\n') != std::string::npos) return {};
    std::lock_guard lock(mutex_);
    if (!touched_.insert(path).second) return {};
    const std::string line = path + "\n";
    if (::write(logFd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        return errnoError(errno, "append to " + adminDir_ + "/touched");
    return {};
}

std::set<std::string> GitState::touched() const
{
    std::lock_guard lock(mutex_);
    return touched_;
}

hc::Status GitState::replaceTouched(const std::set<std::string>& paths)
{
    std::lock_guard lock(mutex_);
    std::string text;
    for (const auto& path : paths)
        text += path + "\n";
    auto written = writeTextFileAtomically(adminDir_ + "/touched", text);
    if (!written.ok()) return written;
    touched_ = paths;
    if (logFd_ >= 0) ::close(logFd_);
    return openLog();
}

}  // namespace prjfs
