// Other Unix users for trust tests: system accounts the test creates (and reuses on later runs), and
// running a command as one of them. Runs of the test program may overlap (several build trees on one
// machine) and these users' /tmp paths are fixed, so tests that use them hold SharedUsersLock.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace hcsd_test {

struct LocalUser {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

// Creates the system user `name` (no home, no login shell) unless it exists. Needs root; failures are
// recorded (and the returned user has uid 0, which callers must check with HasFatalFailure()).
LocalUser ensureSystemUser(const std::string& name);

// `argv` prefixed so that it runs as `user`: real and effective ids, no supplementary groups.
std::vector<std::string> runAs(const LocalUser& user, const std::vector<std::string>& argv);

// An exclusive flock on a fixed file, taken with a bounded wait; released by the destructor.
class SharedUsersLock {
public:
    explicit SharedUsersLock(std::chrono::seconds timeout = std::chrono::seconds(180));
    SharedUsersLock(const SharedUsersLock&) = delete;
    SharedUsersLock& operator=(const SharedUsersLock&) = delete;
    ~SharedUsersLock();
    bool held() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

}  // namespace hcsd_test
