// hostcompute's POSIX attributes extension (PRJ_HOSTCOMPUTE_POSIX_INFO) on real FUSE mounts: the mode and
// owner a provider gives show in `ls -l` of a never-touched directory, stay when the placeholder is
// written and hydrated, are what the backing files keep after the provider stops, and a projected script
// runs. Without the extension, items keep the defaults (0644 / 0755).
#include "test_provider.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace hc::projfs::test {
namespace {

constexpr char kScript[] = "#!/bin/sh\necho projected-script-ran\n";

class PosixAttributesTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        provider.addFile(L"run.sh", kScript);
        provider.setPosix(L"run.sh", PRJ_HOSTCOMPUTE_POSIX_MODE, 0755);
        provider.addFile(L"secret.txt", "s");
        provider.setPosix(L"secret.txt", PRJ_HOSTCOMPUTE_POSIX_MODE, 0600);
        provider.addFile(L"owned.txt", "o");
        provider.setPosix(L"owned.txt",
                          PRJ_HOSTCOMPUTE_POSIX_MODE | PRJ_HOSTCOMPUTE_POSIX_UID | PRJ_HOSTCOMPUTE_POSIX_GID, 0640,
                          1234, 5678);
        provider.addFile(L"plain.txt", "p");
        provider.addDirectory(L"private");
        provider.setPosix(L"private", PRJ_HOSTCOMPUTE_POSIX_MODE, 0700);
        provider.addFile(L"private\\tool", kScript);
        provider.setPosix(L"private\\tool", PRJ_HOSTCOMPUTE_POSIX_MODE, 0750);
        ASSERT_EQ(provider.start(root.path()), S_OK);
    }
    void TearDown() override { provider.stop(); }
    std::string at(const std::string& rel) const { return root.path() + "/" + rel; }
    struct stat lstatOf(const std::string& rel)
    {
        struct stat st {};
        EXPECT_EQ(::lstat(at(rel).c_str(), &st), 0) << rel << ": " << std::strerror(errno);
        return st;
    }
    void expectModes(const char* when)
    {
        EXPECT_EQ(lstatOf("run.sh").st_mode & 07777, 0755u) << when;
        EXPECT_EQ(lstatOf("secret.txt").st_mode & 07777, 0600u) << when;
        EXPECT_EQ(lstatOf("owned.txt").st_mode & 07777, 0640u) << when;
        EXPECT_EQ(lstatOf("plain.txt").st_mode & 07777, 0644u & ~0022u) << when;  // umask 022
        EXPECT_EQ(lstatOf("private").st_mode & 07777, 0700u) << when;
        EXPECT_EQ(lstatOf("private/tool").st_mode & 07777, 0750u) << when;
        if (::geteuid() == 0) {
            struct stat owned = lstatOf("owned.txt");
            EXPECT_EQ(owned.st_uid, 1234u) << when;
            EXPECT_EQ(owned.st_gid, 5678u) << when;
        }
    }

    TempRoot root;
    TestProvider provider;
};

TEST_F(PosixAttributesTest, ListedItemsShowTheProvidersModeWithoutPlaceholders)
{
    ASSERT_EQ(listDirectory(root.path()).size(), 5u);
    ASSERT_EQ(listDirectory(at("private")).size(), 1u);
    expectModes("listed");
    EXPECT_EQ(provider.fileData.load(), 0);
}

TEST_F(PosixAttributesTest, PlaceholdersAndHydratedFilesKeepTheProvidersMode)
{
    // Looked up without a listing: GetPlaceholderInfo writes the placeholders.
    expectModes("placeholder");
    EXPECT_GE(provider.placeholderInfo.load(), 5);
    for (const char* rel : {"run.sh", "secret.txt", "owned.txt", "plain.txt", "private/tool"})
        EXPECT_FALSE(readFile(at(rel)).empty()) << rel;
    expectModes("hydrated");
    provider.stop();
    expectModes("on disk after stop");
}

TEST_F(PosixAttributesTest, AProjectedScriptRuns)
{
    FILE* out = ::popen((at("run.sh") + " 2>&1").c_str(), "r");
    ASSERT_NE(out, nullptr);
    char line[128] = {};
    ASSERT_NE(std::fgets(line, sizeof(line), out), nullptr);
    EXPECT_STREQ(line, "projected-script-ran\n");
    EXPECT_EQ(::pclose(out), 0);
}

TEST_F(PosixAttributesTest, UpdateKeepsTheExecutableBits)
{
    EXPECT_EQ(readFile(at("run.sh")), kScript);  // hydrated
    PRJ_PLACEHOLDER_INFO info{};
    info.FileBasicInfo.FileSize = 3;
    info.VersionInfo.ContentID[0] = 43;
    provider.replaceFile(L"run.sh", "new");
    PRJ_UPDATE_FAILURE_CAUSES cause{};
    ASSERT_EQ(PrjUpdateFileIfNeeded(provider.context(), L"run.sh", &info, sizeof(info), PRJ_UPDATE_NONE, &cause), S_OK);
    provider.settleInvalidations();
    EXPECT_EQ(lstatOf("run.sh").st_mode & 07777, 0755u);
    info.FileBasicInfo.FileAttributes = FILE_ATTRIBUTE_READONLY;
    info.VersionInfo.ContentID[0] = 44;
    ASSERT_EQ(PrjUpdateFileIfNeeded(provider.context(), L"run.sh", &info, sizeof(info), PRJ_UPDATE_NONE, &cause), S_OK);
    provider.settleInvalidations();  // the kernel's cached attributes are dropped from the executor
    EXPECT_EQ(lstatOf("run.sh").st_mode & 07777, 0555u);
}

TEST_F(PosixAttributesTest, ABadChainIsRefused)
{
    PRJ_PLACEHOLDER_INFO info{};
    info.FileBasicInfo.FileSize = 1;
    PRJ_HOSTCOMPUTE_POSIX_INFO bad{};
    bad.InfoType = PRJ_EXT_INFO_TYPE_HOSTCOMPUTE_POSIX;
    bad.Fields = PRJ_HOSTCOMPUTE_POSIX_MODE;
    bad.Mode = S_IFREG | 0644;
    EXPECT_EQ(PrjWritePlaceholderInfo2(provider.context(), L"bad.txt", &info, sizeof(info),
                                       reinterpret_cast<const PRJ_EXTENDED_INFO*>(&bad)),
              E_INVALIDARG);
    provider.stop();
    struct stat st {};
    EXPECT_NE(::lstat(at("bad.txt").c_str(), &st), 0);  // nothing was written
}

}  // namespace
}  // namespace hc::projfs::test
