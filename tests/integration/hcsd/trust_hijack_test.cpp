// Issue 7, hole 1: another local user squats on the victim's default socket directory. Without
// XDG_RUNTIME_DIR the default socket is /tmp/hostcompute-<uid>/hcsd.sock; an attacker who creates that
// directory first must neither receive a byte of the victim's requests nor get the victim's hcsd to
// live in it. Two users made by the test (kept for later runs), the victim driven through hcsctl (the
// public C API) with nothing but the defaults, the attacker's fake hcsd a separate program.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "daemon_under_test.h"
#include "local_users.h"
#include "process_inspection.h"
#include "support/child_process.h"
#include "trust_support.h"

namespace hcsd_test {
namespace {

namespace fs = std::filesystem;
using hcs_test::ChildProcess;
using hcs_test::ProgramResult;

bool isInside(const std::string& path, const std::string& directory)
{
    return path == directory || path.rfind(directory + "/", 0) == 0;
}

// One hijack scene: the victim and the attacker, the directory the attacker squats on, a work directory
// everyone can read. Lifecycle: the constructor removes what an interrupted earlier run left (processes
// of the victim user and its directories: only this test uses that user); the destructor kills every
// process of the victim (its autostarted hcsd and QEMUs), removes their directories and the squatted one.
class HijackScene {
public:
    HijackScene() : victim_(ensureSystemUser("hcstrust-victim")), attacker_(ensureSystemUser("hcstrust-attacker"))
    {
        if (victim_.uid == 0 || attacker_.uid == 0 || !lock_.held()) return;
        squatted_ = "/tmp/hostcompute-" + std::to_string(victim_.uid);
        clearVictim();
        char directory[] = "/tmp/hcsd-trust-hijack.XXXXXX";
        if (::mkdtemp(directory) == nullptr) return;
        work_ = directory;
        ::chmod(work_.c_str(), 0755);  // the victim reads its configuration here
    }
    ~HijackScene()
    {
        clearVictim();
        std::error_code ignored;
        if (!work_.empty()) fs::remove_all(work_, ignored);
    }
    bool ready() const { return !work_.empty(); }

    const LocalUser& victim() const { return victim_; }
    const LocalUser& attacker() const { return attacker_; }
    const std::string& squatted() const { return squatted_; }
    const std::string& work() const { return work_; }

    // hcsctl run as the victim with only the defaults: no XDG_RUNTIME_DIR, no HCS_SOCKET; HCSD_PATH names
    // the built hcsd so that autostart finds it. Bounded: a hung hcsctl is killed (exit code -1).
    ProgramResult victimRunsHcsctl(const std::vector<std::string>& args) const
    {
        std::vector<std::string> argv = {
            "env",    "-u",           "XDG_RUNTIME_DIR", "-u",        "HCS_SOCKET", "HCSD_PATH=" + hcsdBinary(),
            "HOME=/", hcsctlBinary(), "--compact",       "--timeout", "20000"};
        argv.insert(argv.end(), args.begin(), args.end());
        return hcs_test::runProgram(runAs(victim_, argv), std::chrono::seconds(60));
    }

    // The victim's hcsd processes (autostarted ones are not our children: found by owner and name).
    std::vector<pid_t> victimDaemons() const
    {
        std::vector<pid_t> daemons;
        for (pid_t pid : processesOwnedBy(victim_.uid)) {
            auto argv = commandLineOf(pid);
            if (!argv.empty() && fs::path(argv[0]).filename() == "hcsd") daemons.push_back(pid);
        }
        return daemons;
    }

    // Files and directories below the squatted directory that belong to the victim.
    std::vector<std::string> victimEntriesInSquatted() const
    {
        std::vector<std::string> found;
        std::error_code error;
        for (auto it = fs::recursive_directory_iterator(squatted_, error); !error && it != fs::end(it);
             it.increment(error)) {
            struct stat st {};
            if (::lstat(it->path().c_str(), &st) == 0 && st.st_uid == victim_.uid) found.push_back(it->path());
        }
        return found;
    }

    // Fails the test for every victim hcsd that listens inside the squatted directory.
    void expectNoVictimDaemonListensInSquatted(const std::string& when) const
    {
        for (pid_t daemon : victimDaemons()) {
            for (const std::string& path : listeningSocketPathsOf(daemon)) {
                EXPECT_FALSE(isInside(path, squatted_))
                    << when << ": the victim's hcsd (pid " << daemon << ") listens on " << path << ", inside "
                    << squatted_ << ", a directory owned by " << attacker_.name << " (uid " << attacker_.uid << ")";
            }
        }
    }

    // The attacker squats on the victim's directory (mode 0777) without serving anything in it.
    ::testing::AssertionResult squatWithoutSocket() const
    {
        if (::mkdir(squatted_.c_str(), 0777) != 0 || ::chown(squatted_.c_str(), attacker_.uid, attacker_.gid) != 0 ||
            ::chmod(squatted_.c_str(), 0777) != 0) {
            return ::testing::AssertionFailure() << "cannot squat on " << squatted_ << ": " << std::strerror(errno);
        }
        return ::testing::AssertionSuccess();
    }

    // Kills every process of the victim and removes the directories they used (and the squatted one).
    void clearVictim()
    {
        if (squatted_.empty()) return;
        std::vector<std::string> directories = {squatted_};
        for (pid_t daemon : victimDaemons()) {
            std::string socket = optionValueOf(daemon, "--socket");
            if (!socket.empty()) directories.push_back(fs::path(socket).parent_path());
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        for (auto left = processesOwnedBy(victim_.uid); !left.empty(); left = processesOwnedBy(victim_.uid)) {
            for (pid_t pid : left) {
                ::kill(pid, SIGCONT);
                ::kill(pid, SIGKILL);
            }
            if (std::chrono::steady_clock::now() > deadline) {
                ADD_FAILURE() << left.size() << " processes of " << victim_.name << " survive SIGKILL";
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        for (const std::string& directory : directories) {
            struct stat st {};
            // Only what the victim (or the attacker, for the squatted one) owns under /tmp.
            if (directory.rfind("/tmp/", 0) != 0 || ::lstat(directory.c_str(), &st) != 0) continue;
            if (st.st_uid != victim_.uid && st.st_uid != attacker_.uid) continue;
            std::error_code ignored;
            fs::remove_all(directory, ignored);
        }
    }

    SharedUsersLock lock_;
    LocalUser victim_, attacker_;
    std::string squatted_, work_;
};

// Waits until `impostor`'s stderr says it listens (bounded).
bool waitListening(ChildProcess& impostor, const std::string& stderrFile)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (hcs_test::readFile(stderrFile).find("listening") == std::string::npos) {
        if (!impostor.running() || std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

TEST(Trust, Hole1_SocketHijackSendsNothingToAnotherUsersSocket)
{
    ASSERT_EQ(::geteuid(), 0u) << "this test creates users and switches to them: run it as root";
    HijackScene scene;
    ASSERT_TRUE(scene.ready()) << "the test users or the work directory could not be set up";

    // The attacker squats first: /tmp/hostcompute-<victim uid> (0777) with its own hcsd.sock.
    ChildProcess::Options impostorOutput;
    impostorOutput.stdoutFile = scene.work() + "/received";
    impostorOutput.stderrFile = scene.work() + "/impostor.err";
    ChildProcess impostor =
        ChildProcess::spawn(runAs(scene.attacker(), {impostorBinary(), scene.squatted()}), impostorOutput);
    ASSERT_TRUE(waitListening(impostor, impostorOutput.stderrFile))
        << "the attacker's impostor did not start: " << hcs_test::readFile(impostorOutput.stderrFile);

    const std::string configuration = scene.work() + "/vm.json";
    writeTextFile(configuration, kernelGuestConfig("initrd-idle.gz", /*terminateOnLastHandle=*/true).dump());
    ::chmod(configuration.c_str(), 0644);
    ProgramResult created = scene.victimRunsHcsctl({"create", "trust-hijack-vm", configuration});
    ProgramResult listed = scene.victimRunsHcsctl({"list"});

    // Stop the impostor; it records what was still queued before it exits.
    impostor.signal(SIGTERM);
    EXPECT_TRUE(impostor.wait(std::chrono::seconds(10))) << "the impostor did not stop on SIGTERM";
    const std::string received = hcs_test::readFile(impostorOutput.stdoutFile);
    EXPECT_EQ(received.size(), 0u) << "the attacker's socket " << scene.squatted() << "/hcsd.sock received "
                                   << received.size() << " bytes of the victim's requests, beginning:\n"
                                   << received.substr(0, 600);

    const bool genuineDaemon = !scene.victimDaemons().empty();
    for (const auto& [what, outcome] : {std::pair{"create", &created}, std::pair{"list", &listed}}) {
        EXPECT_NE(outcome->exitCode, -1) << "the victim's hcsctl " << what << " hung (killed after 60 s)";
        if (outcome->exitCode == 0) {
            EXPECT_TRUE(genuineDaemon) << "the victim's hcsctl " << what << " succeeded (" << outcome->out
                                       << ") but no hcsd of the victim runs: the answer came from the attacker";
        }
    }
    scene.expectNoVictimDaemonListensInSquatted("after the victim's calls");
    auto entries = scene.victimEntriesInSquatted();
    EXPECT_TRUE(entries.empty()) << "the victim created " << entries.size()
                                 << " entries inside the attacker's directory, e.g. "
                                 << (entries.empty() ? "" : entries[0]);
}

TEST(Trust, Hole1_AutostartedHcsdNeverBindsInAnotherUsersDirectory)
{
    ASSERT_EQ(::geteuid(), 0u) << "this test creates users and switches to them: run it as root";
    HijackScene scene;
    ASSERT_TRUE(scene.ready()) << "the test users or the work directory could not be set up";

    // The attacker squats on the directory but leaves no socket: the victim's library will autostart hcsd.
    ASSERT_TRUE(scene.squatWithoutSocket());
    ProgramResult listed = scene.victimRunsHcsctl({"list"});
    EXPECT_NE(listed.exitCode, -1) << "the victim's hcsctl list hung (killed after 60 s)";
    scene.expectNoVictimDaemonListensInSquatted("after autostart by hcsctl list (" + listed.err + ")");
    auto entries = scene.victimEntriesInSquatted();
    EXPECT_TRUE(entries.empty()) << "autostart by hcsctl list created " << entries.size()
                                 << " entries of the victim inside the attacker's directory, e.g. "
                                 << (entries.empty() ? "" : entries[0]);
    scene.clearVictim();

    // hcsd started by the victim by hand, with the default socket: it fails or listens elsewhere.
    ASSERT_TRUE(scene.squatWithoutSocket());
    ChildProcess::Options output;
    output.stderrFile = scene.work() + "/victim-hcsd.err";
    ChildProcess daemon =
        ChildProcess::spawn(runAs(scene.victim(), {"env", "-u", "XDG_RUNTIME_DIR", "-u", "HCS_SOCKET", "HOME=/",
                                                   hcsdBinary(), "--foreground", "--idle-exit", "60"}),
                            output);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (daemon.running() && listeningSocketPathsOf(daemon.pid()).empty()) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline)
            << "hcsd started by the victim neither listened nor exited within 30 s";
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (daemon.running()) {
        for (const std::string& path : listeningSocketPathsOf(daemon.pid())) {
            EXPECT_FALSE(isInside(path, scene.squatted()))
                << "hcsd started by the victim with the default socket listens on " << path << ", inside "
                << scene.squatted() << ", a directory owned by " << scene.attacker().name;
        }
    }
    entries = scene.victimEntriesInSquatted();
    EXPECT_TRUE(entries.empty()) << "hcsd started by the victim created " << entries.size()
                                 << " entries inside the attacker's directory, e.g. "
                                 << (entries.empty() ? "" : entries[0]);
}

}  // namespace
}  // namespace hcsd_test
