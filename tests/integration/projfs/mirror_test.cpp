// The provider programs as separate processes: `prjfs mirror` (synchronous and --async) projects a
// source tree whose listing, metadata and content must come out identical through the root, and
// examples/projfs/async_enum_provider serves its in-memory tree.
#include "provider_process.h"
#include "terminal_pair.h"
#include "virtualization_root.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <map>
#include <thread>

using namespace projfs_test;
using namespace std::chrono_literals;

namespace {

void writeBigFile(const std::string& path, uint64_t size, uint32_t seed)
{
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    for (uint64_t offset = 0; offset < size;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(8 << 20, size - offset));
        std::string data = generatedContent(offset, n, seed);
        ASSERT_EQ(write(fd, data.data(), n), static_cast<ssize_t>(n));
        offset += n;
    }
    close(fd);
}

struct Entry {
    bool isDirectory = false;
    off_t size = 0;
    time_t mtime = 0;
    uint64_t checksum = 0;
    mode_t mode = 0;  // permission bits
    uid_t uid = 0;
    gid_t gid = 0;
};

// Walks a tree through readdir/stat/read: relative path -> what a program sees.
void walk(const std::string& base, const std::string& relative, std::map<std::string, Entry>& out)
{
    const std::string dir = relative.empty() ? base : base + "/" + relative;
    int error = 0;
    auto names = listDirectory(dir, &error);
    ASSERT_EQ(error, 0) << dir;
    for (const auto& name : names) {
        const std::string rel = relative.empty() ? name : relative + "/" + name;
        struct stat st {};
        ASSERT_EQ(stat((base + "/" + rel).c_str(), &st), 0) << rel << ": " << strerror(errno);
        Entry entry;
        entry.isDirectory = S_ISDIR(st.st_mode);
        entry.size = entry.isDirectory ? 0 : st.st_size;
        entry.mtime = st.st_mtime;
        entry.mode = st.st_mode & 07777;
        entry.uid = st.st_uid;
        entry.gid = st.st_gid;
        if (entry.isDirectory) {
            walk(base, rel, out);
        } else {
            auto sum = fileChecksum(base + "/" + rel);
            ASSERT_TRUE(sum) << rel;
            entry.checksum = *sum;
        }
        out[rel] = entry;
    }
}

void expectSameTree(const std::string& source, const std::string& root)
{
    std::map<std::string, Entry> want, got;
    walk(source, "", want);
    walk(root, "", got);
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [path, entry] : want) {
        auto it = got.find(path);
        ASSERT_NE(it, got.end()) << "missing through the root: " << path;
        EXPECT_EQ(it->second.isDirectory, entry.isDirectory) << path;
        EXPECT_EQ(it->second.size, entry.size) << path;
        EXPECT_EQ(it->second.checksum, entry.checksum) << path;
        // Modes and owners come through hostcompute's POSIX extension (owners: the mirror runs as root).
        EXPECT_EQ(it->second.mode, entry.mode) << path;
        EXPECT_EQ(it->second.uid, entry.uid) << path;
        EXPECT_EQ(it->second.gid, entry.gid) << path;
        if (!entry.isDirectory) {
            EXPECT_EQ(it->second.mtime, entry.mtime) << path;
        }
    }
}

class MirrorTest : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        source_ = new std::string(makeTempDir("projfs-source"));
        const std::string& s = *source_;
        for (const char* dir : {"/a", "/a/b c", "/a/b c/ünïcødé", "/empty dir", "/Zeta"})
            ASSERT_EQ(mkdir((s + dir).c_str(), 0755), 0);
        ASSERT_EQ(writeFile(s + "/empty", ""), 0);
        ASSERT_EQ(writeFile(s + "/a/x.txt", "x content\n"), 0);
        ASSERT_EQ(writeFile(s + "/a/b c/space name.txt", "spaces\n"), 0);
        ASSERT_EQ(writeFile(s + "/a/b c/ünïcødé/日本.txt", "nihon\n"), 0);
        ASSERT_EQ(writeFile(s + "/Zeta/UPPER.TXT", "upper\n"), 0);
        ASSERT_EQ(writeFile(s + "/a/b c/empty too", ""), 0);
        writeBigFile(s + "/big.bin", (110ull << 20) + 12345, 5);  // > 100 MiB, not a multiple of anything
        // Modes and owners the mirror projects exactly (item 3 of issue 14).
        ASSERT_EQ(writeFile(s + "/a/run.sh", "#!/bin/sh\necho ran\n"), 0);
        ASSERT_EQ(chmod((s + "/a/run.sh").c_str(), 0755), 0);
        ASSERT_EQ(writeFile(s + "/a/private.txt", "mine\n"), 0);
        ASSERT_EQ(chmod((s + "/a/private.txt").c_str(), 0600), 0);
        ASSERT_EQ(chown((s + "/a/private.txt").c_str(), 1234, 5678), 0);
        ASSERT_EQ(chmod((s + "/a/b c").c_str(), 0750), 0);
        // Symbolic links are projected as links: relative, into a subdirectory, absolute out of the root.
        ASSERT_EQ(symlink("x.txt", (s + "/a/link-rel").c_str()), 0);
        ASSERT_EQ(symlink("b c/space name.txt", (s + "/a/link-down").c_str()), 0);
        ASSERT_EQ(symlink((s + "/a/x.txt").c_str(), (s + "/link-abs").c_str()), 0);
    }
    static void TearDownTestSuite()
    {
        removeTree(*source_);
        delete source_;
    }

    std::string prjfs() const { return buildDir() + "/tools/prjfs/prjfs"; }

    void mirrorAndCompare(std::vector<std::string> extra)
    {
        const std::string root = scratch_ + "/root";
        ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
        std::vector<std::string> argv{prjfs(), "mirror", *source_, root};
        argv.insert(argv.end(), extra.begin(), extra.end());
        ProviderProcess process(argv, root);
        ASSERT_TRUE(process.waitForLine("mirroring", 10s)) << "prjfs mirror did not start";
        ASSERT_TRUE(isMounted(root));

        expectSameTree(*source_, root);
        EXPECT_TRUE(fileState(root + "/big.bin") & PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
        EXPECT_EQ(fileState(root + "/a/b c/space name.txt") & PRJ_FILE_STATE_FULL, 0);
        // A name matched case-insensitively resolves to the source's spelling.
        EXPECT_EQ(readFile(root + "/zeta/upper.txt").data, "upper\n");
        // Links are links, readable without hydration (their targets were read by the walk already).
        for (const auto& [link, target] : std::map<std::string, std::string>{{"/a/link-rel", "x.txt"},
                                                                             {"/a/link-down", "b c/space name.txt"},
                                                                             {"/link-abs", *source_ + "/a/x.txt"}}) {
            struct stat st {};
            ASSERT_EQ(lstat((root + link).c_str(), &st), 0) << link;
            EXPECT_TRUE(S_ISLNK(st.st_mode)) << link;
            char buf[PATH_MAX] = {};
            ASSERT_GT(readlink((root + link).c_str(), buf, sizeof(buf) - 1), 0) << link;
            EXPECT_EQ(std::string(buf), target) << link;
        }
        // An executable of the source runs from the projection.
        EXPECT_EQ(std::system(("'" + root + "/a/run.sh' >/dev/null").c_str()), 0);

        auto status = process.stop();
        ASSERT_TRUE(status) << "prjfs mirror did not stop on SIGTERM";
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
        EXPECT_FALSE(isMounted(root));
        // Hydrated content stays on disk as plain files.
        EXPECT_EQ(fileChecksum(root + "/big.bin"), fileChecksum(*source_ + "/big.bin"));
    }

    void SetUp() override { scratch_ = makeTempDir("projfs-mirror"); }
    void TearDown() override
    {
        const std::string root = scratch_ + "/root";
        for (int i = 0; i < 3 && isMounted(root); ++i)
            umount2(root.c_str(), MNT_DETACH);
        removeTree(scratch_);
    }

    static std::string* source_;
    std::string scratch_;
};

std::string* MirrorTest::source_ = nullptr;

}  // namespace

TEST_F(MirrorTest, SynchronousMirrorEqualsTheSource)
{
    mirrorAndCompare({});
}

TEST_F(MirrorTest, AsynchronousMirrorEqualsTheSource)
{
    mirrorAndCompare({"--async", "--threads", "3"});
}

TEST_F(MirrorTest, StateCommandNamesTheFlags)
{
    const std::string root = scratch_ + "/root";
    ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
    {
        ProviderProcess process({prjfs(), "mirror", *source_, root}, root);
        ASSERT_TRUE(process.waitForLine("mirroring", 10s));
        EXPECT_EQ(readFile(root + "/a/x.txt").data, "x content\n");
        struct stat st {};
        ASSERT_EQ(stat((root + "/empty").c_str(), &st), 0);
        ASSERT_TRUE(process.stop());
    }
    const std::string command = prjfs() + " state " + root + "/a/x.txt " + root + "/empty 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[256];
    while (size_t n = fread(buffer, 1, sizeof(buffer), pipe))
        output.append(buffer, n);
    EXPECT_EQ(pclose(pipe), 0) << output;
    EXPECT_NE(output.find("/a/x.txt: "), std::string::npos) << output;
    EXPECT_NE(output.find("HYDRATED_PLACEHOLDER"), std::string::npos) << output;
    EXPECT_NE(output.find("/empty: PLACEHOLDER"), std::string::npos) << output;
}

TEST_F(MirrorTest, AsyncEnumProviderExampleServesItsTree)
{
    const std::string root = scratch_ + "/root";
    ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
    ProviderProcess process({buildDir() + "/examples/projfs/async_enum_provider", root}, root);
    ASSERT_TRUE(process.waitForLine("projecting", 10s));
    auto names = listDirectory(root);
    EXPECT_EQ(names, (std::vector<std::string>{"alpha.md", "café über.txt", "docs", "empty.txt", "README.txt", "src",
                                               "Zebra.txt"}));
    EXPECT_EQ(readFile(root + "/docs/guide.md").data, "# Guide\nRead me.\n");
    EXPECT_EQ(readFile(root + "/SRC/LIB/util.c").data, "/* util */\n");
    EXPECT_EQ(listDirectory(root + "/docs/empty dir"), std::vector<std::string>{});
    auto status = process.stop();
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

TEST_F(MirrorTest, AsyncMirrorSurvivesAReaderKilledMidHydration)
{
    const std::string root = scratch_ + "/root";
    ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
    ProviderProcess process({prjfs(), "mirror", *source_, root, "--async", "--threads", "2"}, root);
    ASSERT_TRUE(process.waitForLine("mirroring", 10s));
    struct stat st {};
    ASSERT_EQ(stat((root + "/big.bin").c_str(), &st), 0);
    pid_t reader = forkReader(root + "/big.bin");
    ASSERT_GT(reader, 0);
    std::this_thread::sleep_for(30ms);  // inside the 110 MiB hydration
    kill(reader, SIGKILL);
    auto status = waitChild(reader, 10s);
    ASSERT_TRUE(status) << "killed reader stuck, state " << processState(reader);
    // The provider keeps serving: the next reader gets the whole, correct file.
    EXPECT_EQ(fileChecksum(root + "/big.bin"), fileChecksum(*source_ + "/big.bin"));
    EXPECT_EQ(readFile(root + "/a/x.txt").data, "x content\n");
    auto stopped = process.stop();
    ASSERT_TRUE(stopped);
    EXPECT_TRUE(WIFEXITED(*stopped) && WEXITSTATUS(*stopped) == 0);
}

TEST_F(MirrorTest, UsageAndStartErrors)
{
    auto run = [&](const std::string& args) {
        int rc = std::system((prjfs() + " " + args + " >/dev/null 2>&1").c_str());
        return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    };
    EXPECT_EQ(run(""), 2);
    EXPECT_EQ(run("mirror onlyone"), 2);
    EXPECT_EQ(run("mirror a b --threads 0"), 2);
    EXPECT_EQ(run("mirror a b --bogus"), 2);
    EXPECT_EQ(run("state"), 2);
    const std::string root = scratch_ + "/root";
    ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
    EXPECT_EQ(run("mirror " + scratch_ + "/no-such-source " + root), 1);
    EXPECT_EQ(run("state " + scratch_ + "/no-such-file"), 1);
    EXPECT_FALSE(isMounted(root));
}

// What `command` printed (stdout and stderr) and its exit status.
static std::pair<std::string, int> runCommand(const std::string& command)
{
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return {"popen failed", -1};
    std::string output;
    char buffer[256];
    while (size_t n = fread(buffer, 1, sizeof(buffer), pipe))
        output.append(buffer, n);
    int rc = pclose(pipe);
    return {output, WIFEXITED(rc) ? WEXITSTATUS(rc) : -1};
}

// After SIGKILL of the provider its FUSE mount stays, dead (ENOTCONN): `prjfs state` and the next start
// on the same root (by its path or through a symbolic link) detach it themselves and carry on.
TEST_F(MirrorTest, StartAfterAKilledProviderCleansTheDeadMount)
{
    const std::string root = scratch_ + "/root";
    const std::string link = scratch_ + "/link";
    ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
    ASSERT_EQ(symlink(root.c_str(), link.c_str()), 0);
    for (const std::string& startAt : {root, link, root}) {
        SCOPED_TRACE(startAt);
        ProviderProcess process({prjfs(), "mirror", *source_, startAt}, root);
        ASSERT_TRUE(process.waitForLine("mirroring", 10s)) << process.output();
        EXPECT_EQ(readFile(root + "/a/x.txt").data, "x content\n");
        process.crash();
        int error = 0;
        listDirectory(root, &error);
        EXPECT_EQ(error, ENOTCONN) << "the mount of a killed provider should be dead";
    }
    auto [state, status] = runCommand(prjfs() + " state " + root + "/a/x.txt");
    EXPECT_EQ(status, 0) << state;
    EXPECT_NE(state.find("HYDRATED_PLACEHOLDER"), std::string::npos) << state;
    EXPECT_FALSE(isMounted(root));
    ProviderProcess again({prjfs(), "mirror", *source_, root}, root);
    ASSERT_TRUE(again.waitForLine("mirroring", 10s)) << again.output();
    EXPECT_EQ(readFile(root + "/Zeta/UPPER.TXT").data, "upper\n");
    auto stopped = again.stop();
    ASSERT_TRUE(stopped);
    EXPECT_TRUE(WIFEXITED(*stopped) && WEXITSTATUS(*stopped) == 0);
}

// A second provider process on a running root (by its path or a symbolic link to it) is refused, and
// the first keeps serving (it used to mount on top and show every item as `-?????????`).
TEST_F(MirrorTest, SecondProviderOnARunningRootIsRefused)
{
    const std::string root = scratch_ + "/root";
    const std::string link = scratch_ + "/link";
    ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((root + "/inside").c_str(), 0755), 0);
    ASSERT_EQ(symlink(root.c_str(), link.c_str()), 0);
    ProviderProcess first({prjfs(), "mirror", *source_, root}, root);
    ASSERT_TRUE(first.waitForLine("mirroring", 10s)) << first.output();
    for (const std::string& second : {root, link}) {
        auto [output, status] = runCommand("timeout 10 " + prjfs() + " mirror " + *source_ + " " + second);
        EXPECT_EQ(status, 1) << output;
        EXPECT_NE(output.find("ERROR_ALREADY_INITIALIZED"), std::string::npos) << output;
    }
    auto [nested, nestedStatus] = runCommand("timeout 10 " + prjfs() + " mirror " + *source_ + " " + root + "/inside");
    EXPECT_EQ(nestedStatus, 1) << nested;
    EXPECT_EQ(readFile(root + "/a/x.txt").data, "x content\n");
    auto stopped = first.stop();
    ASSERT_TRUE(stopped);
    EXPECT_TRUE(WIFEXITED(*stopped) && WEXITSTATUS(*stopped) == 0);
    EXPECT_FALSE(isMounted(root));
}

// A provider killed in the middle of a hydration leaves a placeholder (never a half file marked
// hydrated); the next provider hydrates it again, and the file shows the provider's time, not the time
// the interrupted attempt wrote half of it.
TEST_F(MirrorTest, HydrationInterruptedByACrashIsRedoneWithTheProvidersTime)
{
    const std::string root = scratch_ + "/root";
    const std::string file = root + "/file.bin";
    ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
    const std::string helper = buildDir() + "/tests/integration/projfs/crash_provider";
    {
        ProviderProcess stalling({helper, root, "stall"}, root);
        ASSERT_TRUE(stalling.waitForLine("ready", 10s)) << stalling.output();
        struct stat st {};
        ASSERT_EQ(stat(file.c_str(), &st), 0);
        EXPECT_EQ(st.st_mtime, 1000000000);
        pid_t reader = forkReader(file);
        ASSERT_GT(reader, 0);
        ASSERT_TRUE(stalling.waitForLine("half written", 10s)) << stalling.output();
        stalling.crash();
        auto status = waitChild(reader, 10s);
        ASSERT_TRUE(status) << "reader stuck, state " << processState(reader);
        EXPECT_FALSE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "a half-hydrated file was read whole";
    }
    HRESULT hr = S_OK;
    EXPECT_EQ(fileState(file, &hr), PRJ_FILE_STATE_PLACEHOLDER) << std::hex << hr;
    ProviderProcess serving({helper, root, "serve"}, root);
    ASSERT_TRUE(serving.waitForLine("ready", 10s)) << serving.output();
    auto content = readFile(file);
    ASSERT_EQ(content.error, 0);
    ASSERT_EQ(content.data.size(), 1u << 20);
    bool same = true;
    for (size_t i = 0; i < content.data.size() && same; ++i)
        same = content.data[i] == static_cast<char>('a' + i % 23);
    EXPECT_TRUE(same) << "content differs from the provider's";
    struct stat st {};
    ASSERT_EQ(stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mtime, 1000000000) << "the interrupted hydration's time stuck";
    EXPECT_EQ(fileState(file), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    auto stopped = serving.stop();
    ASSERT_TRUE(stopped);
    EXPECT_TRUE(WIFEXITED(*stopped) && WEXITSTATUS(*stopped) == 0);
}

// What a program sees of an item that stays the same while nobody changes it (atime aside: reading
// changes it): type and mode, size, owner, mtime and ctime to the nanosecond. One line per item.
std::string seenAttributes(const struct stat& st)
{
    char line[200];
    std::snprintf(line, sizeof(line), "mode %o size %lld uid %u gid %u mtime %lld.%09ld ctime %lld.%09ld",
                  static_cast<unsigned>(st.st_mode), static_cast<long long>(st.st_size), st.st_uid, st.st_gid,
                  static_cast<long long>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec,
                  static_cast<long long>(st.st_ctim.tv_sec), st.st_ctim.tv_nsec);
    return line;
}

// lstat of `base` and everything under it (listing and lstat only: nothing is opened but directories).
void snapshotAttributes(const std::string& base, const std::string& relative, std::map<std::string, std::string>& out)
{
    const std::string path = relative.empty() ? base : base + "/" + relative;
    struct stat st {};
    ASSERT_EQ(lstat(path.c_str(), &st), 0) << path << ": " << strerror(errno);
    out[relative.empty() ? "." : relative] = seenAttributes(st);
    if (!S_ISDIR(st.st_mode)) return;
    int error = 0;
    for (const auto& name : listDirectory(path, &error))
        snapshotAttributes(base, relative.empty() ? name : relative + "/" + name, out);
    ASSERT_EQ(error, 0) << path;
}

void expectSameAttributes(const std::map<std::string, std::string>& before,
                          const std::map<std::string, std::string>& after, const std::string& when)
{
    EXPECT_EQ(after.size(), before.size()) << when;
    int differences = 0;
    for (const auto& [path, seen] : before) {
        auto it = after.find(path);
        const std::string now = it == after.end() ? "(missing)" : it->second;
        if (now != seen && ++differences <= 10)
            ADD_FAILURE() << path << " " << when << ":\n  was " << seen << "\n  now " << now;
    }
    EXPECT_EQ(differences, 0) << "items whose attributes changed " << when;
}

// Issue 14, item 2: what a reader sees of a projection changes only when the provider or a user changes
// it — not because the runtime wrote placeholders, filled directories or hydrated files while it read,
// and not across a provider restart. GNU tar checks every directory's and file's ctime (and size) before
// and after reading it and exited 1 with "file changed as we read it" for almost everything.
TEST_F(MirrorTest, TarAndStatSeeStableAttributesAcrossHydrationAndRestart)
{
    const std::string source = scratch_ + "/tar-source";
    ASSERT_EQ(mkdir(source.c_str(), 0755), 0);
    int files = 0;
    for (int d = 0; d < 6; ++d) {
        std::string dir = source + "/d" + std::to_string(d);
        ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
        ASSERT_EQ(mkdir((dir + "/inner").c_str(), 0750), 0);
        for (int f = 0; f < 30; ++f) {
            ASSERT_EQ(writeFile(dir + "/f" + std::to_string(f), std::string(100 + f * 37, 'a' + f % 26)), 0);
            ASSERT_EQ(writeFile(dir + "/inner/g" + std::to_string(f), "inner " + std::to_string(f) + "\n"), 0);
            files += 2;
        }
        ASSERT_EQ(chmod((dir + "/f0").c_str(), 0755), 0);
        ASSERT_EQ(symlink("f1", (dir + "/to-f1").c_str()), 0);
    }
    ASSERT_EQ(files, 360);
    // The source's times lie in the past, as a checkout's would.
    ASSERT_EQ(std::system(("find '" + source + "' -exec touch -h -d '2024-01-02 03:04:05' {} +").c_str()), 0);
    const time_t providerTime = [&] {
        struct stat st {};
        return stat(source.c_str(), &st) == 0 ? st.st_mtime : 0;
    }();

    const std::string root = scratch_ + "/root";
    ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
    auto start = [&] {
        auto process =
            std::make_unique<ProviderProcess>(std::vector<std::string>{prjfs(), "mirror", source, root}, root);
        EXPECT_TRUE(process->waitForLine("mirroring", 10s)) << "prjfs mirror did not start: " << process->output();
        return process;
    };
    auto stop = [](std::unique_ptr<ProviderProcess>& process) {
        auto status = process->stop();
        ASSERT_TRUE(status) << "prjfs mirror did not stop on SIGTERM";
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
        process.reset();
    };
    auto tar = [&](const std::string& archive) {
        return std::system(("tar -C '" + root + "' -cf '" + archive + "' . 2>&1").c_str());
    };

    // Never touched: every item is only listed (directories are written as the walk opens them).
    auto process = start();
    std::map<std::string, std::string> listed;
    snapshotAttributes(root, "", listed);
    ASSERT_EQ(listed.size(), 1u + 6 * 2 + 360 + 6);
    for (const auto& [path, seen] : listed) {
        if (path == "." || seen.find("mode 12") == 0) continue;  // the root is the user's; links have their own ctime
        const std::string when = std::to_string(providerTime) + ".000000000";
        EXPECT_EQ(seen.substr(seen.find(" mtime ")), " mtime " + when + " ctime " + when) << path;
    }
    EXPECT_NE(listed["d0/f0"].find("mode 100755"), std::string::npos) << listed["d0/f0"];
    EXPECT_NE(listed["d0/inner"].find("mode 40750"), std::string::npos) << listed["d0/inner"];

    // A provider restart with directory placeholders on disk and files still virtual.
    stop(process);
    process = start();
    std::map<std::string, std::string> restarted;
    snapshotAttributes(root, "", restarted);
    expectSameAttributes(listed, restarted, "after a restart, nothing read");

    // tar with /dev/null as the archive stats everything and reads nothing; a real archive opens (hydrates)
    // and reads every file while tar watches its ctime and size.
    EXPECT_EQ(tar("/dev/null"), 0);
    const std::string archive = scratch_ + "/archive.tar";
    EXPECT_EQ(tar(archive), 0) << "tar over a never-touched root";
    auto [contents, listStatus] = runCommand("tar -tvf '" + archive + "'");
    EXPECT_EQ(listStatus, 0);
    EXPECT_EQ(std::count(contents.begin(), contents.end(), '\n'), 1 + 6 * 2 + 360 + 6) << contents;
    EXPECT_NE(contents.find("-rwxr-xr-x"), std::string::npos) << contents;   // f0, executable
    EXPECT_NE(contents.find("to-f1 -> f1"), std::string::npos) << contents;  // links as links
    EXPECT_EQ(std::system(("diff -r '" + source + "' '" + root + "' >/dev/null").c_str()), 0);
    EXPECT_EQ(fileState(root + "/d5/inner/g29"), PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    std::map<std::string, std::string> hydrated;
    snapshotAttributes(root, "", hydrated);
    expectSameAttributes(listed, hydrated, "after everything was hydrated");

    // And after a restart with everything hydrated; tar again.
    stop(process);
    process = start();
    std::map<std::string, std::string> again;
    snapshotAttributes(root, "", again);
    expectSameAttributes(listed, again, "after a restart, everything hydrated");
    EXPECT_EQ(tar(scratch_ + "/again.tar"), 0);

    // A user's change shows: a write makes the file full, with its real times.
    ASSERT_EQ(writeFile(root + "/d1/f1", "mine\n"), 0);
    struct stat st {};
    ASSERT_EQ(stat((root + "/d1/f1").c_str(), &st), 0);
    EXPECT_GT(st.st_mtime, providerTime);
    EXPECT_GE(st.st_ctime, st.st_mtime);
    stop(process);
}

// On a terminal, `prjfs mirror` shows the hydration of a large file on one redrawn line ("hydrating: …,
// big.img … of 512.0 MiB (n %)") and erases it when done; with stderr on a pipe it writes nothing of it
// (the sibling tests run it that way). The 512 MiB sparse source file takes seconds to hydrate through
// FUSE, many times the line's 250 ms interval.
TEST_F(MirrorTest, LargeHydrationShowsProgressOnATerminal)
{
    const std::string source = scratch_ + "/source";
    const std::string root = scratch_ + "/root";
    ASSERT_EQ(mkdir(source.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
    {
        int fd = open((source + "/big.img").c_str(), O_WRONLY | O_CREAT, 0644);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(ftruncate(fd, 512LL << 20), 0);
        ASSERT_EQ(pwrite(fd, "end", 3, (512LL << 20) - 3), 3);
        close(fd);
    }
    hc_test::TerminalPair terminal;
    ASSERT_TRUE(terminal.ok());
    const std::string program = prjfs();
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        dup2(terminal.terminal(), STDOUT_FILENO);
        dup2(terminal.terminal(), STDERR_FILENO);
        execl(program.c_str(), program.c_str(), "mirror", source.c_str(), root.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    std::string drawn = terminal.readUntil("mirroring", 10s);
    ASSERT_NE(drawn.find("mirroring"), std::string::npos) << drawn;

    EXPECT_EQ(fileChecksum(root + "/big.img"), fileChecksum(source + "/big.img"));
    drawn = terminal.readNow();
    const size_t line = drawn.find("\r\033[Khydrating: ");
    EXPECT_NE(line, std::string::npos) << "no progress line in: " << drawn;
    EXPECT_NE(drawn.find("big.img ", line), std::string::npos) << drawn;
    EXPECT_NE(drawn.find(" of 512.0 MiB (", line), std::string::npos) << drawn;
    ASSERT_GE(drawn.size(), 4u);
    EXPECT_EQ(drawn.substr(drawn.size() - 4), "\r\033[K") << "the line is erased when the hydration ends: " << drawn;

    kill(pid, SIGTERM);
    auto status = waitChild(pid, 10s);
    ASSERT_TRUE(status) << "prjfs mirror did not stop on SIGTERM";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}
