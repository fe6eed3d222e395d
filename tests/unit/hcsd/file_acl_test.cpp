// HcsGrantVmAccess's file side (hcs/service/file_acl.h): the ACL entry really lets the granted uid open the
// file, a revoke really takes it away and leaves the mode as it was, and only the file's owner may change it.
// Access is checked by opening the file under FileIdentity (what hcsd does for a system's owner), so the
// test runs as root and plays two system accounts that exist on every Debian: nobody (65534), daemon (1).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "base/hresult.h"
#include "hcs/service/file_acl.h"
#include "hcs/service/file_identity.h"

namespace {

using hc::hcs::service::FileIdentity;
using hc::hcs::service::grantUserAccess;
using hc::hcs::service::revokeUserAccess;

constexpr uid_t kNobody = 65534;
constexpr uid_t kDaemon = 1;

class FileAclTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_EQ(geteuid(), 0u) << "the test opens files as other users (nobody, daemon)";
        char tmpl[] = "/tmp/hcsd-acl-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
        file_ = dir_ + "/disk.img";
        int fd = open(file_.c_str(), O_CREAT | O_WRONLY, 0600);
        ASSERT_GE(fd, 0);
        close(fd);
        ASSERT_EQ(chmod(file_.c_str(), 0640), 0);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    static bool canOpen(uid_t uid, const std::string& path, int flags)
    {
        FileIdentity as(uid);
        EXPECT_TRUE(as.status());
        int fd = open(path.c_str(), flags | O_CLOEXEC);
        if (fd < 0) return false;
        close(fd);
        return true;
    }
    static mode_t modeOf(const std::string& path)
    {
        struct stat st {};
        EXPECT_EQ(stat(path.c_str(), &st), 0);
        return st.st_mode & 07777;
    }
    static bool hasAcl(const std::string& path)
    {
        return getxattr(path.c_str(), "system.posix_acl_access", nullptr, 0) >= 0;
    }

    std::string dir_;
    std::string file_;
};

TEST_F(FileAclTest, AGrantLetsThatUserReadAndWriteAndARevokeRestoresTheMode)
{
    EXPECT_FALSE(canOpen(kNobody, file_, O_RDONLY));
    ASSERT_TRUE(grantUserAccess(file_, kNobody));
    EXPECT_TRUE(canOpen(kNobody, file_, O_RDWR));
    EXPECT_FALSE(canOpen(kDaemon, file_, O_RDONLY)) << "the grant reached another user";
    EXPECT_EQ(modeOf(file_), 0660u) << "the group bits show the mask (rw for the named entry)";
    ASSERT_TRUE(grantUserAccess(file_, kNobody));  // twice: still one entry
    ASSERT_TRUE(revokeUserAccess(file_, kNobody));
    EXPECT_FALSE(canOpen(kNobody, file_, O_RDONLY));
    EXPECT_FALSE(hasAcl(file_));
    EXPECT_EQ(modeOf(file_), 0640u);
    EXPECT_TRUE(revokeUserAccess(file_, kNobody));  // nothing to take away: fine
    EXPECT_EQ(modeOf(file_), 0640u);
}

TEST_F(FileAclTest, RevokingOneUserKeepsTheOthersEntry)
{
    ASSERT_TRUE(grantUserAccess(file_, kNobody));
    ASSERT_TRUE(grantUserAccess(file_, kDaemon));
    ASSERT_TRUE(revokeUserAccess(file_, kNobody));
    EXPECT_FALSE(canOpen(kNobody, file_, O_RDONLY));
    EXPECT_TRUE(canOpen(kDaemon, file_, O_RDWR));
    EXPECT_TRUE(hasAcl(file_));
    ASSERT_TRUE(revokeUserAccess(file_, kDaemon));
    EXPECT_FALSE(hasAcl(file_));
    EXPECT_EQ(modeOf(file_), 0640u);
}

TEST_F(FileAclTest, ADirectoryGrantLetsTheUserCreateFilesInIt)
{
    std::string saves = dir_ + "/saves";
    ASSERT_EQ(mkdir(saves.c_str(), 0700), 0);
    std::string saveFile = saves + "/vm.save";
    EXPECT_FALSE(canOpen(kNobody, saveFile, O_CREAT | O_WRONLY));
    ASSERT_TRUE(grantUserAccess(saves, kNobody));
    EXPECT_TRUE(canOpen(kNobody, saveFile, O_CREAT | O_WRONLY));
    struct stat st {};
    ASSERT_EQ(stat(saveFile.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kNobody);
    ASSERT_TRUE(revokeUserAccess(saves, kNobody));
    EXPECT_EQ(modeOf(saves), 0700u);
}

TEST_F(FileAclTest, OnlyTheFilesOwnerMayChangeIt)
{
    FileIdentity asNobody(kNobody);
    ASSERT_TRUE(asNobody.status());
    auto granted = grantUserAccess(file_, kNobody);
    ASSERT_FALSE(granted);
    EXPECT_EQ(granted.hr(), E_ACCESSDENIED) << granted.error().message;
    EXPECT_NE(granted.error().message.find(file_), std::string::npos) << granted.error().message;
    EXPECT_FALSE(hasAcl(file_));
}

TEST_F(FileAclTest, RefusesWhatIsNotAFileOrADirectoryAndNamesIt)
{
    auto missing = grantUserAccess(dir_ + "/none", kNobody);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find(dir_ + "/none"), std::string::npos);

    std::string fifo = dir_ + "/fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    auto refused = grantUserAccess(fifo, kNobody);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.hr(), E_INVALIDARG);
    EXPECT_NE(refused.error().message.find(fifo), std::string::npos) << refused.error().message;
    EXPECT_FALSE(hasAcl(fifo));
}

}  // namespace
