// `prjfs git` as a separate process against a repository the test builds with the git command line
// (thousands of files in nested trees, an executable, a symbolic link, a blob of several MiB, two
// revisions): listing and content through the root must equal git's, only what is read is hydrated,
// and `prjfs git status` reports local changes with the provider running, stopped and restarted.
#include "concurrent_walk.h"
#include "provider_process.h"
#include "virtualization_root.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

using namespace projfs_test;
using namespace std::chrono_literals;

namespace {

constexpr int kDirectories = 30;
constexpr int kFilesPerDirectory = 100;
constexpr uint64_t kBigSize = (6ull << 20) + 4321;

// Runs a shell command; its standard output, and its exit status in *status.
std::string run(const std::string& command, int* status = nullptr)
{
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("popen failed");
    std::string output;
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof(buffer), pipe))
        output.append(buffer, n);
    const int rc = pclose(pipe);
    if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return output;
}

std::string git(const std::string& repo, const std::string& args)
{
    int status = 0;
    std::string output = run(
        "git -C '" + repo +
            "' -c user.name=test -c user.email=test@example.com -c commit.gpgsign=false -c tag.gpgsign=false " + args,
        &status);
    if (status != 0) throw std::runtime_error("git " + args + " failed");
    return output;
}

std::vector<std::string> lines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(line);
    return out;
}

std::string manyPath(int d, int f)
{
    return "many/d" + std::to_string(d) + "/f" + std::to_string(f) + ".txt";
}

// Every regular file under `dir` (root-relative), without following links.
void regularFiles(const std::string& root, const std::string& relative, std::vector<std::string>& out)
{
    for (const auto& name : listDirectory(relative.empty() ? root : root + "/" + relative)) {
        const std::string rel = relative.empty() ? name : relative + "/" + name;
        struct stat st {};
        if (lstat((root + "/" + rel).c_str(), &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            regularFiles(root, rel, out);
        } else if (S_ISREG(st.st_mode)) {
            out.push_back(rel);
        }
    }
}

class GitTest : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        repo_ = new std::string(makeTempDir("projfs-git-repo"));
        const std::string& r = *repo_;
        git(r, "init -q -b main");
        for (int d = 0; d < kDirectories; ++d) {
            ASSERT_EQ(mkdir((r + "/many").c_str(), 0755) == 0 || errno == EEXIST, true);
            ASSERT_EQ(mkdir((r + "/many/d" + std::to_string(d)).c_str(), 0755), 0);
            for (int f = 0; f < kFilesPerDirectory; ++f)
                ASSERT_EQ(
                    writeFile(r + "/" + manyPath(d, f), "file " + std::to_string(d) + "/" + std::to_string(f) + "\n"),
                    0);
        }
        for (const char* dir : {"/a", "/a/b", "/a/b/c", "/a/b/c/d", "/bin"})
            ASSERT_EQ(mkdir((r + dir).c_str(), 0755), 0);
        ASSERT_EQ(writeFile(r + "/a/b/c/d/deep.txt", "deep\n"), 0);
        ASSERT_EQ(writeFile(r + "/README.md", "# readme v1\n"), 0);
        ASSERT_EQ(writeFile(r + "/Mixed Case.txt", "mixed\n"), 0);
        ASSERT_EQ(writeFile(r + "/bin/run.sh", "#!/bin/sh\necho run\n"), 0);
        ASSERT_EQ(chmod((r + "/bin/run.sh").c_str(), 0755), 0);
        ASSERT_EQ(symlink("a/b/c/d/deep.txt", (r + "/link").c_str()), 0);
        ASSERT_EQ(writeFile(r + "/big.bin", generatedContent(0, kBigSize, 7)), 0);
        ASSERT_EQ(writeFile(r + "/kind.txt", "a file in v1, a link in v2\n"), 0);
        git(r, "add -A");
        git(r, "commit -q -m v1");
        git(r, "tag v1");
        // The second revision: one file changed, one removed, one added.
        ASSERT_EQ(writeFile(r + "/README.md", "# readme v2, longer\n"), 0);
        ASSERT_EQ(unlink((r + "/" + manyPath(4, 4)).c_str()), 0);
        ASSERT_EQ(writeFile(r + "/added.txt", "added in v2\n"), 0);
        // Changes of mode only: an executable bit set, a file turned into a symbolic link.
        ASSERT_EQ(chmod((r + "/" + manyPath(6, 6)).c_str(), 0755), 0);
        ASSERT_EQ(unlink((r + "/kind.txt").c_str()), 0);
        ASSERT_EQ(symlink("README.md", (r + "/kind.txt").c_str()), 0);
        git(r, "add -A");
        git(r, "commit -q -m v2");
        git(r, "tag v2");
    }
    static void TearDownTestSuite()
    {
        removeTree(*repo_);
        delete repo_;
    }

    void SetUp() override
    {
        scratch_ = makeTempDir("projfs-git");
        root_ = scratch_ + "/root";
        ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    }
    void TearDown() override
    {
        for (int i = 0; i < 3 && isMounted(root_); ++i)
            umount2(root_.c_str(), MNT_DETACH);
        removeTree(scratch_);
        // The root's admin directory is a worktree of the repository.
        removeTree(*repo_ + "/.git/worktrees");
    }

    static std::string prjfs() { return buildDir() + "/tools/prjfs/prjfs"; }

    std::unique_ptr<ProviderProcess> project(const std::vector<std::string>& extra = {})
    {
        std::vector<std::string> argv{prjfs(), "git", *repo_, root_, "--threads", "3"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        auto process = std::make_unique<ProviderProcess>(argv, root_);
        EXPECT_TRUE(process->waitForLine("projecting", 20s)) << "prjfs git did not start: " << process->output();
        EXPECT_TRUE(isMounted(root_));
        return process;
    }

    static void expectCleanStop(ProviderProcess& process)
    {
        auto status = process.stop();
        ASSERT_TRUE(status) << "prjfs git did not stop on SIGTERM";
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
    }

    std::vector<std::string> status()
    {
        int rc = -1;
        auto out = lines(run(prjfs() + " git status '" + root_ + "'", &rc));
        EXPECT_EQ(rc, 0);
        return out;
    }

    static std::string* repo_;
    std::string scratch_;
    std::string root_;
};

std::string* GitTest::repo_ = nullptr;

}  // namespace

TEST_F(GitTest, ListsAndReadsTheRevisionAndHydratesOnlyWhatIsRead)
{
    auto process = project({"--rev", "v1"});

    auto top = listDirectory(root_);
    std::sort(top.begin(), top.end());
    auto want = lines(git(*repo_, "ls-tree --name-only v1"));
    want.push_back(".git");  // the root's gitdir file, a local file
    std::sort(want.begin(), want.end());
    EXPECT_EQ(top, want);

    // Every directory of the big tree lists completely (enumerations resume across buffers).
    size_t files = 0;
    for (int d = 0; d < kDirectories; ++d)
        files += listDirectory(root_ + "/many/d" + std::to_string(d)).size();
    EXPECT_EQ(files, static_cast<size_t>(kDirectories * kFilesPerDirectory));

    // Sizes come from the placeholders, without reading.
    struct stat st {};
    ASSERT_EQ(stat((root_ + "/big.bin").c_str(), &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), kBigSize);
    ASSERT_EQ(stat((root_ + "/" + manyPath(7, 7)).c_str(), &st), 0);
    EXPECT_EQ(st.st_size, static_cast<off_t>(std::string("file 7/7\n").size()));

    // Content equals `git show`; names resolve case-insensitively.
    const std::set<std::string> read = {"README.md",  "a/b/c/d/deep.txt", "big.bin",
                                        "bin/run.sh", "Mixed Case.txt",   manyPath(3, 30)};
    for (const auto& path : read) {
        if (path == "big.bin") continue;
        EXPECT_EQ(readFile(root_ + "/" + path).data, git(*repo_, "show 'v1:" + path + "'")) << path;
    }
    git(*repo_, "show v1:big.bin > '" + scratch_ + "/big.expected'");
    EXPECT_EQ(fileChecksum(root_ + "/big.bin"), fileChecksum(scratch_ + "/big.expected"));
    EXPECT_EQ(readFile(root_ + "/MIXED CASE.TXT").data, "mixed\n");
    // Executables and symbolic links come through hostcompute's POSIX entry and PRJ_EXT_INFO_TYPE_SYMLINK.
    ASSERT_EQ(stat((root_ + "/bin/run.sh").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    ASSERT_EQ(stat((root_ + "/README.md").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
    ASSERT_EQ(lstat((root_ + "/link").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    char target[64] = {};
    ASSERT_GT(readlink((root_ + "/link").c_str(), target, sizeof(target) - 1), 0);
    EXPECT_EQ(std::string(target), "a/b/c/d/deep.txt");
    EXPECT_EQ(readFile(root_ + "/link").data, "deep\n");  // through the link: deep.txt, already read

    expectCleanStop(*process);
    EXPECT_FALSE(isMounted(root_));

    // On disk now: placeholders for what was looked up, content only for what was read.
    std::vector<std::string> onDisk;
    regularFiles(root_, "", onDisk);
    size_t hydrated = 0;
    for (const auto& path : onDisk) {
        if (path == ".git") continue;
        const PRJ_FILE_STATE state = fileState(root_ + "/" + path);
        EXPECT_TRUE(state & (PRJ_FILE_STATE_PLACEHOLDER | PRJ_FILE_STATE_HYDRATED_PLACEHOLDER)) << path;
        if (state & PRJ_FILE_STATE_HYDRATED_PLACEHOLDER) {
            ++hydrated;
            EXPECT_TRUE(read.count(path)) << path << " was hydrated without being read";
        }
    }
    EXPECT_EQ(hydrated, read.size());
}

TEST_F(GitTest, StatusListsLocalChangesRunningStoppedAndRestarted)
{
    auto process = project();  // HEAD = v2
    // Modified, rewritten with the same content, deleted, created, renamed, a new directory, a
    // deleted directory.
    ASSERT_EQ(writeFile(root_ + "/README.md", "# mine\n"), 0);
    ASSERT_EQ(writeFile(root_ + "/" + manyPath(1, 1), "file 1/1\n"), 0);
    ASSERT_EQ(unlink((root_ + "/" + manyPath(2, 2)).c_str()), 0);
    ASSERT_EQ(writeFile(root_ + "/new.txt", "new\n"), 0);
    ASSERT_EQ(rename((root_ + "/a/b/c/d/deep.txt").c_str(), (root_ + "/a/moved.txt").c_str()), 0);
    ASSERT_EQ(mkdir((root_ + "/newdir").c_str(), 0755), 0);
    ASSERT_EQ(writeFile(root_ + "/newdir/inside.txt", "inside\n"), 0);
    int rc = -1;
    run("rm -r '" + root_ + "/many/d3'", &rc);
    ASSERT_EQ(rc, 0);

    std::vector<std::string> want = {" M README.md", " D a/b/c/d/deep.txt", "?? a/moved.txt", " D " + manyPath(2, 2)};
    std::vector<std::string> d3;
    for (int f = 0; f < kFilesPerDirectory; ++f)
        d3.push_back(" D " + manyPath(3, f));
    std::sort(d3.begin(), d3.end(),
              [](const std::string& a, const std::string& b) { return a.substr(3) < b.substr(3); });
    want.insert(want.end(), d3.begin(), d3.end());
    want.push_back("?? new.txt");
    want.push_back("?? newdir/");

    EXPECT_EQ(status(), want) << "with the provider running";
    // Status itself hydrates nothing: an untouched file is still a bare placeholder or not on disk.
    expectCleanStop(*process);
    EXPECT_EQ(status(), want) << "with the provider stopped";
    EXPECT_EQ(fileState(root_ + "/" + manyPath(5, 5)) & PRJ_FILE_STATE_HYDRATED_PLACEHOLDER, 0);

    // A restart keeps projecting the recorded commit and the user's changes.
    process.reset();  // its destructor detaches whatever is mounted on the root
    process = project();
    EXPECT_EQ(readFile(root_ + "/README.md").data, "# mine\n");
    EXPECT_EQ(readFile(root_ + "/added.txt").data, "added in v2\n");
    EXPECT_EQ(readFile(root_ + "/" + manyPath(2, 2)).error, ENOENT);
    ASSERT_EQ(writeFile(root_ + "/later.txt", "later\n"), 0);
    want.insert(want.begin() + 3, "?? later.txt");
    EXPECT_EQ(status(), want) << "after a restart";
    expectCleanStop(*process);
}

TEST_F(GitTest, CheckoutWhileRunningChangesOnlyWhatDiffersAndKeepsLocalChanges)
{
    auto process = project({"--rev", "v1"});
    EXPECT_EQ(readFile(root_ + "/README.md").data, "# readme v1\n");
    EXPECT_EQ(readFile(root_ + "/" + manyPath(5, 5)).data, "file 5/5\n");
    EXPECT_EQ(listDirectory(root_ + "/many/d4").size(), static_cast<size_t>(kFilesPerDirectory));
    struct stat st {};
    ASSERT_EQ(stat((root_ + "/" + manyPath(4, 4)).c_str(), &st), 0);  // on disk as a placeholder
    ASSERT_EQ(stat((root_ + "/" + manyPath(6, 6)).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
    ASSERT_EQ(lstat((root_ + "/kind.txt").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));

    int rc = -1;
    std::string out = run(prjfs() + " git checkout '" + root_ + "' v2 2>&1", &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find(git(*repo_, "rev-parse v2").substr(0, 40)), std::string::npos) << out;
    EXPECT_EQ(readFile(root_ + "/README.md").data, "# readme v2, longer\n");
    EXPECT_EQ(readFile(root_ + "/added.txt").data, "added in v2\n");
    EXPECT_EQ(readFile(root_ + "/" + manyPath(4, 4)).error, ENOENT);
    EXPECT_EQ(listDirectory(root_ + "/many/d4").size(), static_cast<size_t>(kFilesPerDirectory - 1));
    // A mode that changed is the new revision's (the placeholders are replaced).
    ASSERT_EQ(stat((root_ + "/" + manyPath(6, 6)).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    ASSERT_EQ(lstat((root_ + "/kind.txt").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_EQ(readFile(root_ + "/kind.txt").data, "# readme v2, longer\n");
    // An unchanged file keeps its hydrated content; nothing counts as a local change.
    EXPECT_TRUE(fileState(root_ + "/" + manyPath(5, 5)) & PRJ_FILE_STATE_HYDRATED_PLACEHOLDER);
    EXPECT_EQ(status(), std::vector<std::string>{});
    EXPECT_EQ(run("git -C '" + root_ + "' status --porcelain"), "");  // HEAD and index follow
    EXPECT_EQ(git(root_, "rev-parse HEAD"), git(*repo_, "rev-parse v2"));

    // A modified file in the way stops the switch and is named; --force overwrites it.
    ASSERT_EQ(writeFile(root_ + "/README.md", "# mine\n"), 0);
    out = run(prjfs() + " git checkout '" + root_ + "' v1 2>&1", &rc);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("\tREADME.md"), std::string::npos) << out;
    EXPECT_EQ(readFile(root_ + "/README.md").data, "# mine\n");
    EXPECT_EQ(readFile(root_ + "/added.txt").data, "added in v2\n");
    out = run(prjfs() + " git checkout '" + root_ + "' v1 --force 2>&1", &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(readFile(root_ + "/README.md").data, "# readme v1\n");
    EXPECT_EQ(readFile(root_ + "/added.txt").error, ENOENT);
    EXPECT_EQ(readFile(root_ + "/" + manyPath(4, 4)).data, "file 4/4\n");
    ASSERT_EQ(stat((root_ + "/" + manyPath(6, 6)).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
    EXPECT_EQ(readFile(root_ + "/kind.txt").data, "a file in v1, a link in v2\n");
    ASSERT_EQ(lstat((root_ + "/kind.txt").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(status(), std::vector<std::string>{});
    EXPECT_EQ(run("git -C '" + root_ + "' status --porcelain"), "");
    EXPECT_EQ(git(root_, "rev-parse HEAD"), git(*repo_, "rev-parse v1"));
    expectCleanStop(*process);
}

TEST_F(GitTest, CheckoutWithoutTheProviderIsKeptAtRestart)
{
    auto process = project({"--rev", "v1"});
    EXPECT_EQ(readFile(root_ + "/README.md").data, "# readme v1\n");
    expectCleanStop(*process);
    process.reset();

    int rc = -1;
    std::string out = run(prjfs() + " git checkout '" + root_ + "' v2 2>&1", &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_FALSE(isMounted(root_));

    process = project();
    EXPECT_NE(process->output().find(git(*repo_, "rev-parse v2").substr(0, 40)), std::string::npos);
    EXPECT_EQ(readFile(root_ + "/README.md").data, "# readme v2, longer\n");
    EXPECT_EQ(readFile(root_ + "/added.txt").data, "added in v2\n");
    EXPECT_EQ(readFile(root_ + "/" + manyPath(4, 4)).error, ENOENT);
    expectCleanStop(*process);
}

TEST_F(GitTest, PackedRepositoryHydratesAndSurvivesAReaderKilledMidHydration)
{
    // A packed copy: libgit2 cannot stream packed objects, the provider loads them whole.
    const std::string packed = scratch_ + "/packed";
    int rc = -1;
    run("git clone -q --bare '" + *repo_ + "' '" + packed + "' && git -C '" + packed + "' repack -adq", &rc);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(lines(run("find '" + packed + "/objects' -type f -path '*/objects/[0-9a-f][0-9a-f]/*'")).size(), 0u);
    ProviderProcess process({prjfs(), "git", packed, root_, "--rev", "v1", "--threads", "2"}, root_);
    ASSERT_TRUE(process.waitForLine("projecting", 20s)) << process.output();

    struct stat st {};
    ASSERT_EQ(stat((root_ + "/big.bin").c_str(), &st), 0);
    pid_t reader = forkReader(root_ + "/big.bin");
    ASSERT_GT(reader, 0);
    std::this_thread::sleep_for(5ms);
    kill(reader, SIGKILL);
    ASSERT_TRUE(waitChild(reader, 10s)) << "killed reader stuck, state " << processState(reader);
    // The provider keeps serving: the next reader gets the whole, correct file.
    git(*repo_, "show v1:big.bin > '" + scratch_ + "/big.expected'");
    EXPECT_EQ(fileChecksum(root_ + "/big.bin"), fileChecksum(scratch_ + "/big.expected"));
    EXPECT_EQ(readFile(root_ + "/" + manyPath(9, 9)).data, "file 9/9\n");
    expectCleanStop(process);
}

// Files under `root` (the provider stopped) whose content is on disk as a hydrated placeholder.
size_t hydratedFiles(const std::string& root)
{
    std::vector<std::string> onDisk;
    regularFiles(root, "", onDisk);
    return std::count_if(onDisk.begin(), onDisk.end(), [&](const std::string& path) {
        return (fileState(root + "/" + path) & PRJ_FILE_STATE_HYDRATED_PLACEHOLDER) != 0;
    });
}

TEST_F(GitTest, GitWorksInsideTheRootWithoutHydratingAnything)
{
    auto process = project();  // v2
    // Every file is looked at (stat) by git status, none is read — with core.fileMode and core.symlinks on:
    // the executable shows 0755 and the link is a link, as in git's own checkout.
    EXPECT_EQ(run("git -C '" + root_ + "' status --porcelain"), "");
    EXPECT_EQ(git(root_, "config core.fileMode"), "true\n");
    EXPECT_EQ(git(root_, "config core.symlinks"), "true\n");
    EXPECT_EQ(git(root_, "rev-parse HEAD"), git(*repo_, "rev-parse v2"));
    EXPECT_EQ(git(root_, "log --format=%s -1"), "v2\n");

    ASSERT_EQ(writeFile(root_ + "/README.md", "# mine\n"), 0);
    ASSERT_EQ(unlink((root_ + "/" + manyPath(2, 2)).c_str()), 0);
    ASSERT_EQ(writeFile(root_ + "/new.txt", "new\n"), 0);
    EXPECT_EQ(lines(run("git -C '" + root_ + "' status --porcelain")),
              (std::vector<std::string>{" M README.md", " D " + manyPath(2, 2), "?? new.txt"}));
    const std::string diff = git(root_, "diff");
    EXPECT_NE(diff.find("+# mine"), std::string::npos) << diff;
    EXPECT_NE(diff.find("-file 2/2"), std::string::npos) << diff;
    // The same through prjfs git status.
    EXPECT_EQ(status(), (std::vector<std::string>{" M README.md", " D " + manyPath(2, 2), "?? new.txt"}));

    expectCleanStop(*process);
    EXPECT_EQ(hydratedFiles(root_), 0u);
}

// `du` and `find` run together over a fresh root: every walker sees every directory and file. Two walkers
// opening one listed directory at once used to write its placeholder twice; the second write was taken for a
// provider change, dropped the parent's listing and detached the listed siblings the kernel held, so 36-48
// directories of a projected clone answered ENOENT (issue 12). Several fresh roots: the race needs both
// walkers in one never-written directory at the same moment.
TEST_F(GitTest, ConcurrentWalkersOfAFreshRootSeeTheWholeTree)
{
    const std::string wide = scratch_ + "/wide-repo";
    const TreeShape shape = makeWideTree(wide, 6, 3);  // 258 directories, 648 files
    git(wide, "init -q -b main");
    git(wide, "add -A");
    git(wide, "commit -q -m wide");
    constexpr int kRounds = 3;
    constexpr int kWalkers = 4;
    for (int round = 0; round < kRounds; ++round) {
        const std::string root = scratch_ + "/walked" + std::to_string(round);
        ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
        ProviderProcess process({prjfs(), "git", wide, root, "--threads", "3"}, root);
        ASSERT_TRUE(process.waitForLine("projecting", 20s)) << process.output();
        const auto reports = walkConcurrently(root, kWalkers);
        for (size_t w = 0; w < reports.size(); ++w) {
            const WalkReport& report = reports[w];
            SCOPED_TRACE("round " + std::to_string(round) + ", walker " + std::to_string(w));
            EXPECT_EQ(report.errors, std::vector<std::string>{});
            EXPECT_EQ(report.directories, shape.directories + 1);  // and the root
            EXPECT_EQ(report.files, shape.files + 1);              // and the root's .git file
        }
        expectCleanStop(process);
    }
}

TEST_F(GitTest, UsageAndStartErrors)
{
    auto exitCode = [&](const std::string& args) {
        int rc = std::system((prjfs() + " git " + args + " >/dev/null 2>&1").c_str());
        return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    };
    EXPECT_EQ(exitCode(""), 2);
    EXPECT_EQ(exitCode("onlyone"), 2);
    EXPECT_EQ(exitCode("a b --threads 0"), 2);
    EXPECT_EQ(exitCode("a b --bogus"), 2);
    EXPECT_EQ(exitCode("status"), 2);
    EXPECT_EQ(exitCode("checkout " + root_), 2);
    EXPECT_EQ(exitCode("checkout " + root_ + " v1 extra"), 2);
    EXPECT_EQ(exitCode("checkout " + root_ + " v1"), 1);  // not a prjfs git root
    EXPECT_EQ(exitCode("status " + root_), 1);            // not a prjfs git root
    EXPECT_EQ(exitCode(scratch_ + "/no-such-repo " + root_), 1);
    EXPECT_EQ(exitCode(*repo_ + " " + root_ + " --rev no-such-rev"), 1);
    EXPECT_FALSE(isMounted(root_));
}
