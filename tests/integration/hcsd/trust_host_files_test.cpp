// Issue 7, hole 5: a ComPort NamedPipe given as an absolute path must not destroy what is there. Only a
// stale socket may be replaced; a regular file, a directory or a symbolic link survives the Create
// (whether it succeeds or fails), and a refusal names the field.
#include <gtest/gtest-spi.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "daemon_under_test.h"
#include "support/child_process.h"
#include "trust_support.h"

namespace hcsd_test {
namespace {

namespace fs = std::filesystem;

const std::string kContent = "precious host data, not a socket\n";

// Creates a system whose ComPort 0 is `path`; a created system is terminated again (so that QEMU lets go
// of the path). Returns the Create reply.
Reply createWithConsoleAt(DaemonUnderTest& hcsd, const std::string& path)
{
    RawClient client(hcsd.socketPath());
    Reply created = client.call("CreateComputeSystem",
                                {{"handle", 1},
                                 {"id", "host-file"},
                                 {"configuration", kernelGuestConfig("initrd-idle.gz", false, path).dump()}},
                                60s);
    if (created.ok()) {
        client.call("TerminateComputeSystem", {{"handle", 1}}, 30s);
        client.call("CloseComputeSystem", {{"handle", 1}});
    }
    return created;
}

void expectRefusalNamesTheField(const Reply& created)
{
    if (!created.ok()) {
        EXPECT_NE(created.message().find("NamedPipe"), std::string::npos)
            << "the refusal does not name the field: " << created.message();
    }
}

TEST(Trust, Hole5_ConsolePathDoesNotDestroyARegularFile)
{
    DaemonUnderTest hcsd;
    const std::string precious = hcsd.root() + "/precious";
    writeTextFile(precious, kContent);
    Reply created = createWithConsoleAt(hcsd, precious);

    struct stat st {};
    ASSERT_EQ(::lstat(precious.c_str(), &st), 0)
        << precious << " is gone after a Create naming it as ComPort NamedPipe (Create "
        << (created.ok() ? "succeeded" : "failed: " + created.message()) << ")";
    EXPECT_TRUE(S_ISREG(st.st_mode)) << precious << " is no longer a regular file (mode " << std::oct << st.st_mode
                                     << ")";
    EXPECT_EQ(hcs_test::readFile(precious), kContent) << precious << " lost its content";
    expectRefusalNamesTheField(created);
}

TEST(Trust, Hole5_ConsolePathDoesNotDestroyADirectory)
{
    DaemonUnderTest hcsd;
    const std::string directory = hcsd.root() + "/precious-directory";
    ASSERT_EQ(::mkdir(directory.c_str(), 0755), 0);
    writeTextFile(directory + "/inside", kContent);
    Reply created = createWithConsoleAt(hcsd, directory);

    EXPECT_TRUE(fs::is_directory(directory)) << directory << " is no longer a directory after a Create naming it";
    EXPECT_EQ(hcs_test::readFile(directory + "/inside"), kContent) << directory << "/inside lost its content";
    expectRefusalNamesTheField(created);
}

TEST(Trust, Hole5_ConsolePathDoesNotDestroyASymlink)
{
    DaemonUnderTest hcsd;
    const std::string target = hcsd.root() + "/precious-target";
    const std::string link = hcsd.root() + "/precious-link";
    writeTextFile(target, kContent);
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    Reply created = createWithConsoleAt(hcsd, link);

    std::error_code error;
    EXPECT_TRUE(fs::is_symlink(fs::symlink_status(link, error)))
        << link << " (a symbolic link to a regular file) is gone or replaced after a Create naming it (Create "
        << (created.ok() ? "succeeded" : "failed: " + created.message()) << ")";
    EXPECT_EQ(fs::read_symlink(link, error), fs::path(target)) << link << " no longer points at " << target;
    EXPECT_EQ(hcs_test::readFile(target), kContent) << target << " lost its content";
    expectRefusalNamesTheField(created);
}

// Found while writing the hole-5 tests: hcsd unlink()ed whatever was at its --socket path before it
// listened. A restart must not destroy a regular file someone put there; hcsd refuses to start.
TEST(Trust, Hole5_SocketOptionDoesNotDestroyARegularFile)
{
    DaemonUnderTest hcsd;
    hcsd.signal(SIGTERM);
    ASSERT_TRUE(hcsd.waitExit(15s)) << "hcsd did not stop on SIGTERM";
    writeTextFile(hcsd.socketPath(), kContent);
    bool started = true;
    EXPECT_NONFATAL_FAILURE(started = hcsd.start(), "during start-up");
    EXPECT_FALSE(started) << "hcsd started on --socket naming a regular file";
    EXPECT_EQ(hcs_test::readFile(hcsd.socketPath()), kContent)
        << hcsd.socketPath() << " (a regular file given as --socket) lost its content";
    EXPECT_NE(hcsd.logTail().find("--socket"), std::string::npos)
        << "the refusal does not name --socket: " << hcsd.logTail();
    ::unlink(hcsd.socketPath().c_str());
}

}  // namespace
}  // namespace hcsd_test
