// The state files (vm/state_files.h) on a real file system: what a save may write, what a restore may read,
// what a guest state file must be, and that none of them is ever opened through a symbolic link.
#include "hcs/vm/state_files.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/hresult.h"
#include "hcs/vm/qemu_command.h"

namespace hc::hcs::vm {
namespace {

namespace fs = std::filesystem;

class StateFiles : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/hcs-state-files-XXXXXX";
        dir_ = mkdtemp(tmpl);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& content)
    {
        std::ofstream(dir_ + "/" + name) << content;
        return dir_ + "/" + name;
    }
    static std::string contentOf(const std::string& path)
    {
        std::stringstream text;
        text << std::ifstream(path).rdbuf();
        return text.str();
    }
    std::string dir_;
};

TEST_F(StateFiles, ASaveFileIsNeverWrittenThroughALinkNorIntoAnythingButARegularFile)
{
    const std::string victim = write("victim", "keep");
    ASSERT_EQ(symlink(victim.c_str(), (dir_ + "/link").c_str()), 0);
    auto viaLink = openSaveFileForWriting(dir_ + "/link");
    ASSERT_FALSE(viaLink);
    EXPECT_EQ(viaLink.error().hr, HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED));
    EXPECT_NE(viaLink.error().message.find("symbolic link"), std::string::npos);
    ASSERT_EQ(symlink((dir_ + "/absent").c_str(), (dir_ + "/dangling").c_str()), 0);
    EXPECT_FALSE(openSaveFileForWriting(dir_ + "/dangling"));
    EXPECT_FALSE(fs::exists(dir_ + "/absent")) << "a dangling link made its target";
    EXPECT_EQ(contentOf(victim), "keep");

    auto directory = openSaveFileForWriting(dir_);
    ASSERT_FALSE(directory);
    EXPECT_EQ(directory.error().hr, E_INVALIDARG);
    ASSERT_EQ(mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
    auto fifo = openSaveFileForWriting(dir_ + "/fifo");  // must not block waiting for a reader
    ASSERT_FALSE(fifo);
    EXPECT_NE(fifo.error().message.find("not a regular file"), std::string::npos);
    EXPECT_FALSE(openSaveFileForWriting("relative.save"));

    const std::string existing = write("old.save", "old content");
    ASSERT_TRUE(openSaveFileForWriting(existing));
    EXPECT_EQ(fs::file_size(existing), 0u);  // truncated once known to be a regular file
    auto fresh = openSaveFileForWriting(dir_ + "/new.save");
    ASSERT_TRUE(fresh);
    struct stat st {};
    ASSERT_EQ(fstat(fresh->get(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(StateFiles, ARestoreReadsOnlyAMigrationStream)
{
    EXPECT_TRUE(openSaveFileForReading(write("good.save", std::string("QEVM\0\0\0\3", 8))));
    auto empty = openSaveFileForReading(write("empty.vmrs", ""));
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().hr, HRESULT_FROM_WIN32(ERROR_INVALID_DATA));
    EXPECT_NE(empty.error().message.find("no saved state"), std::string::npos);
    EXPECT_EQ(openSaveFileForReading(write("text", "hello")).error().hr, HRESULT_FROM_WIN32(ERROR_INVALID_DATA));
    EXPECT_EQ(openSaveFileForReading(dir_ + "/missing").error().hr, HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    EXPECT_EQ(openSaveFileForReading(dir_).error().hr, E_INVALIDARG);
}

TEST_F(StateFiles, EmptyStateFilesAreNewAndAGuestStateFileIsAVariableStore)
{
    const std::string runtime = dir_ + "/vm.vmrs";
    ASSERT_TRUE(createEmptyRuntimeStateFile(runtime));
    EXPECT_EQ(fs::file_size(runtime), 0u);
    EXPECT_EQ(createEmptyRuntimeStateFile(runtime).hr(), HRESULT_FROM_WIN32(ERROR_FILE_EXISTS));

    const std::string guest = dir_ + "/vm.vmgs";
    ASSERT_TRUE(createEmptyGuestStateFile(guest));
    EXPECT_EQ(fs::file_size(guest), fs::file_size(kOvmfVarsTemplate));
    EXPECT_TRUE(checkGuestStateFile(guest));
    EXPECT_EQ(createEmptyGuestStateFile(guest).hr(), HRESULT_FROM_WIN32(ERROR_FILE_EXISTS));
    EXPECT_EQ(checkGuestStateFile(runtime).hr(), HRESULT_FROM_WIN32(ERROR_INVALID_DATA));  // wrong size

    ASSERT_EQ(symlink(guest.c_str(), (dir_ + "/link.vmgs").c_str()), 0);
    EXPECT_EQ(checkGuestStateFile(dir_ + "/link.vmgs").hr(), HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED));
    ASSERT_EQ(symlink((dir_ + "/target").c_str(), (dir_ + "/new-link").c_str()), 0);
    EXPECT_FALSE(createEmptyGuestStateFile(dir_ + "/new-link"));
    EXPECT_FALSE(fs::exists(dir_ + "/target"));
}

}  // namespace
}  // namespace hc::hcs::vm
