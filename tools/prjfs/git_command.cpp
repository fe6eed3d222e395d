#include "git_command.h"

#include "base/hresult.h"
#include "git_provider.h"
#include "git_state.h"
#include "git_status.h"
#include "stop_signals.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace prjfs {
namespace {

constexpr const char* kGitUsage =
    "usage: prjfs git REPO ROOT [--rev REV] [--threads N]\n"
    "       prjfs git status ROOT\n"
    "       prjfs git checkout ROOT REV [--force]\n";

// Files in the admin directory while a provider runs: its pid, and a checkout handed to it.
constexpr const char* kPidFile = "/pid";
constexpr const char* kRequestFile = "/checkout-request";
constexpr const char* kResultFile = "/checkout-result";
constexpr auto kRequestTimeout = std::chrono::minutes(5);

int gitUsage()
{
    std::fputs(kGitUsage, stderr);
    return 2;
}

std::string failureText(const char* command, const hc::Error& error)
{
    return std::string("prjfs git") + command + ": " + error.message + " (" + hc::hresultName(error.hr) + " " +
           hc::hresultHex(error.hr) + ")\n";
}

int runStatus(int argc, char** argv)
{
    if (argc != 1) return gitUsage();
    auto lines = gitStatus(argv[0]);
    if (!lines.ok()) {
        std::fputs(failureText(" status", lines.error()).c_str(), stderr);
        return 1;
    }
    for (const auto& line : *lines)
        std::printf("%s\n", formatStatusLine(line).c_str());
    return 0;
}

// The text a checkout prints, and its exit status.
std::string describeCheckout(const hc::Result<CheckoutReport>& report, const std::string& commit, int* status)
{
    *status = 1;
    if (!report.ok()) return failureText(" checkout", report.error());
    if (!report->conflicts.empty()) {
        std::string text =
            "prjfs git checkout: your local changes would be overwritten (nothing was changed; "
            "--force overwrites them):\n";
        for (const auto& path : report->conflicts)
            text += "\t" + path + "\n";
        return text;
    }
    std::string text = "prjfs: checked out " + commit + ": " + std::to_string(report->changedPaths) +
                       " paths changed; on disk " + std::to_string(report->updated) + " updated, " +
                       std::to_string(report->deleted) + " deleted, " + std::to_string(report->created) + " created\n";
    for (const auto& failure : report->failures)
        text += "prjfs git checkout: could not update " + failure + "\n";
    *status = report->failures.empty() ? 0 : 1;
    return text;
}

// Runs the request a `prjfs git checkout` left in the admin directory, and answers it.
void serveCheckoutRequest(GitProvider& provider)
{
    const std::string admin = provider.state().adminDir();
    auto request = readTextFile(admin + kRequestFile);
    if (!request.ok()) return;
    ::unlink((admin + kRequestFile).c_str());
    auto report = provider.checkout(field(*request, "rev"), field(*request, "force") == "1");
    int status = 1;
    const std::string text = describeCheckout(report, provider.commitHex(), &status);
    (void)writeTextFileAtomically(admin + kResultFile, "status " + std::to_string(status) + "\n" + text);
}

// Whether `pid` is a live `prjfs` process (a pid file left by a crash may name a reused pid, and
// SIGUSR1 would kill an unrelated program).
bool isPrjfs(pid_t pid)
{
    auto comm = readTextFile("/proc/" + std::to_string(pid) + "/comm");
    return comm.ok() && *comm == "prjfs\n";
}

// The pid of the provider serving `state`'s root, or 0 when none runs.
pid_t runningProvider(const GitState& state)
{
    auto text = readTextFile(state.adminDir() + kPidFile);
    if (!text.ok()) return 0;
    const pid_t pid = static_cast<pid_t>(std::atoi(text->c_str()));
    return pid > 0 && isPrjfs(pid) ? pid : 0;
}

int runCheckout(int argc, char** argv)
{
    std::string root, rev;
    bool force = false;
    int positional = 0;
    for (int i = 0; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--force") {
            force = true;
        } else if (arg.starts_with("--")) {
            std::fprintf(stderr, "prjfs git checkout: unknown option %s\n", arg.c_str());
            return gitUsage();
        } else if (positional == 0) {
            root = arg;
            ++positional;
        } else if (positional == 1) {
            rev = arg;
            ++positional;
        } else {
            return gitUsage();
        }
    }
    if (positional != 2) return gitUsage();
    auto state = GitState::load(root);
    if (!state.ok()) {
        std::fputs(failureText(" checkout", state.error()).c_str(), stderr);
        return 1;
    }

    if (pid_t pid = runningProvider(**state)) {
        // Hand it to the running provider: only it can change its instance.
        const std::string admin = (*state)->adminDir();
        ::unlink((admin + kResultFile).c_str());
        auto written =
            writeTextFileAtomically(admin + kRequestFile, "rev " + rev + "\nforce " + (force ? "1" : "0") + "\n");
        if (!written.ok() || ::kill(pid, SIGUSR1) != 0) {
            std::fprintf(stderr, "prjfs git checkout: cannot reach the provider (pid %d)\n", static_cast<int>(pid));
            return 1;
        }
        const auto deadline = std::chrono::steady_clock::now() + kRequestTimeout;
        // A small switch is answered in a few milliseconds: poll often at first, then every 20 ms.
        auto pause = std::chrono::milliseconds(1);
        while (std::chrono::steady_clock::now() < deadline && isPrjfs(pid)) {
            auto result = readTextFile(admin + kResultFile);
            if (result.ok()) {
                ::unlink((admin + kResultFile).c_str());
                const size_t eol = result->find('\n');
                const int status = std::atoi(field(result->substr(0, eol + 1), "status").c_str());
                std::fputs(result->substr(eol + 1).c_str(), status == 0 ? stdout : stderr);
                return status;
            }
            std::this_thread::sleep_for(pause);
            pause = std::min(pause * 2, std::chrono::milliseconds(20));
        }
        std::fprintf(stderr, "prjfs git checkout: the provider (pid %d) did not answer\n", static_cast<int>(pid));
        return 1;
    }

    // Nobody projects the root: virtualize it for the length of the switch.
    GitOptions options;
    options.repo = (*state)->gitDir();
    options.root = root;
    state->reset();
    GitProvider provider(options);
    auto started = provider.start();
    if (!started.ok()) {
        std::fputs(failureText(" checkout", started.error()).c_str(), stderr);
        return 1;
    }
    auto report = provider.checkout(rev, force);
    int status = 1;
    const std::string text = describeCheckout(report, provider.commitHex(), &status);
    provider.stop();
    std::fputs(text.c_str(), status == 0 ? stdout : stderr);
    return status;
}

int runProject(int argc, char** argv)
{
    GitOptions options;
    int positional = 0;
    for (int i = 0; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--rev") {
            if (++i == argc) return gitUsage();
            options.rev = argv[i];
        } else if (arg == "--threads") {
            if (++i == argc) return gitUsage();
            char* end = nullptr;
            unsigned long n = std::strtoul(argv[i], &end, 10);
            if (*end != '\0' || n == 0 || n > 256) {
                std::fprintf(stderr, "prjfs git: --threads wants 1..256, not '%s'\n", argv[i]);
                return 2;
            }
            options.threads = static_cast<unsigned>(n);
        } else if (arg.starts_with("--")) {
            std::fprintf(stderr, "prjfs git: unknown option %s\n", arg.c_str());
            return gitUsage();
        } else if (positional == 0) {
            options.repo = arg;
            ++positional;
        } else if (positional == 1) {
            options.root = arg;
            ++positional;
        } else {
            return gitUsage();
        }
    }
    if (positional != 2) return gitUsage();

    const StopSignals signals(/*withRequests=*/true);  // before any thread starts
    GitProvider provider(options);
    auto started = provider.start();
    if (!started.ok()) {
        std::fputs(failureText("", started.error()).c_str(), stderr);
        return 1;
    }
    const std::string pidFile = provider.state().adminDir() + kPidFile;
    (void)writeTextFileAtomically(pidFile, std::to_string(::getpid()) + "\n");
    // Scripts and tests wait for this line before using ROOT.
    std::printf("prjfs: projecting %s into %s\n", provider.commitHex().c_str(), options.root.c_str());
    std::fflush(stdout);
    while (signals.wait() == SIGUSR1)
        serveCheckoutRequest(provider);
    ::unlink(pidFile.c_str());
    provider.stop();
    std::printf("prjfs: stopped\n");
    return 0;
}

}  // namespace

int runGitCommand(int argc, char** argv)
{
    if (argc < 1) return gitUsage();
    const std::string first = argv[0];
    if (first == "status") return runStatus(argc - 1, argv + 1);
    if (first == "checkout") return runCheckout(argc - 1, argv + 1);
    return runProject(argc, argv);
}

}  // namespace prjfs
