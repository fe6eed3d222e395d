#include "git_command.h"

#include "base/hresult.h"
#include "git_provider.h"
#include "git_status.h"
#include "stop_signals.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace prjfs {
namespace {

constexpr const char* kGitUsage =
    "usage: prjfs git REPO ROOT [--rev REV] [--threads N]\n"
    "       prjfs git status ROOT\n";

int gitUsage()
{
    std::fputs(kGitUsage, stderr);
    return 2;
}

void printFailure(const char* command, const hc::Error& error)
{
    std::fprintf(stderr, "prjfs git%s: %s (%s %s)\n", command, error.message.c_str(), hc::hresultName(error.hr).c_str(),
                 hc::hresultHex(error.hr).c_str());
}

int runStatus(int argc, char** argv)
{
    if (argc != 1) return gitUsage();
    auto lines = gitStatus(argv[0]);
    if (!lines.ok()) {
        printFailure(" status", lines.error());
        return 1;
    }
    for (const auto& line : *lines)
        std::printf("%s\n", formatStatusLine(line).c_str());
    return 0;
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

    const StopSignals stopSignals;  // before any thread starts
    GitProvider provider(options);
    auto started = provider.start();
    if (!started.ok()) {
        printFailure("", started.error());
        return 1;
    }
    // Scripts and tests wait for this line before using ROOT.
    std::printf("prjfs: projecting %s into %s\n", provider.commitHex().c_str(), options.root.c_str());
    std::fflush(stdout);
    stopSignals.wait();
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
    return runProject(argc, argv);
}

}  // namespace prjfs
