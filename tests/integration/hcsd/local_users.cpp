#include "local_users.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "support/child_process.h"

namespace hcsd_test {

namespace {

bool lookUp(const std::string& name, LocalUser& user)
{
    passwd* entry = ::getpwnam(name.c_str());
    if (entry == nullptr) return false;
    user = {name, entry->pw_uid, entry->pw_gid};
    return true;
}

}  // namespace

LocalUser ensureSystemUser(const std::string& name)
{
    LocalUser user;
    if (lookUp(name, user)) return user;
    if (::geteuid() != 0) {
        ADD_FAILURE() << "creating the test user " << name << " needs root";
        return user;
    }
    auto created = hcs_test::runProgram(
        {"useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name}, std::chrono::seconds(30));
    // Another run may have created it meanwhile: only the account's existence matters.
    if (!lookUp(name, user)) {
        ADD_FAILURE() << "useradd " << name << " failed (exit " << created.exitCode << "): " << created.err;
    }
    return user;
}

std::vector<std::string> runAs(const LocalUser& user, const std::vector<std::string>& argv)
{
    std::vector<std::string> full = {"setpriv", "--reuid=" + std::to_string(user.uid),
                                     "--regid=" + std::to_string(user.gid), "--clear-groups", "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

SharedUsersLock::SharedUsersLock(std::chrono::seconds timeout)
{
    const char* path = "/tmp/hcsd-trust-users.lock";
    fd_ = ::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
        ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
        return;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ADD_FAILURE() << "another run of the trust tests held " << path << " for " << timeout.count() << " s";
            ::close(fd_);
            fd_ = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

SharedUsersLock::~SharedUsersLock()
{
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace hcsd_test
