// prjfs — ProjFS command-line tools.
//   prjfs mirror SOURCE ROOT [--async] [--threads N]   project SOURCE into ROOT until SIGINT/SIGTERM
//   prjfs state PATH...                                print the on-disk state of each item
//   prjfs git ...                                      project a git revision (see git_command.h)
#include "base/hresult.h"
#include "git_command.h"
#include "hostcompute_version.h"
#include "mirror_provider.h"
#include "state_command.h"
#include "stop_signals.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr const char* kUsage =
    "usage: prjfs mirror SOURCE ROOT [--async] [--threads N]\n"
    "       prjfs state PATH...\n"
    "       prjfs git REPO ROOT [--rev REV] [--threads N]\n"
    "       prjfs git status ROOT\n"
    "       prjfs git checkout ROOT REV [--force]\n"
    "       prjfs --help | --version\n"
    "\n"
    "  mirror    project the directory SOURCE into the virtualization root ROOT until SIGINT/SIGTERM\n"
    "            (--async: answer callbacks from a worker pool; --threads N: its size, 1..256)\n"
    "  state     print the on-disk ProjFS state of each PATH inside a virtualization root\n"
    "  git       project the git revision REV (default HEAD) of REPO into ROOT; `git status` and\n"
    "            `git checkout` work on such a root (man prjfs)\n";

int usage()
{
    std::fputs(kUsage, stderr);
    return 2;
}

int runMirror(int argc, char** argv)
{
    prjfs::MirrorOptions options;
    int positional = 0;
    for (int i = 0; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--async") {
            options.async = true;
        } else if (arg == "--threads") {
            if (++i == argc) return usage();
            char* end = nullptr;
            unsigned long n = std::strtoul(argv[i], &end, 10);
            if (*end != '\0' || n == 0 || n > 256) {
                std::fprintf(stderr, "prjfs mirror: --threads wants 1..256, not '%s'\n", argv[i]);
                return 2;
            }
            options.threads = static_cast<unsigned>(n);
        } else if (arg.starts_with("--")) {
            std::fprintf(stderr, "prjfs mirror: unknown option %s\n", arg.c_str());
            return usage();
        } else if (positional == 0) {
            options.source = arg;
            ++positional;
        } else if (positional == 1) {
            options.root = arg;
            ++positional;
        } else {
            return usage();
        }
    }
    if (positional != 2) return usage();

    const prjfs::StopSignals stopSignals;  // before any thread starts

    prjfs::MirrorProvider provider(options);
    auto started = provider.start();
    if (!started.ok()) {
        std::fprintf(stderr, "prjfs mirror: %s failed: %s (%s)\n", started.error().message.c_str(),
                     hc::hresultName(started.hr()).c_str(), hc::hresultHex(started.hr()).c_str());
        return 1;
    }
    // Scripts and tests wait for this line before using ROOT.
    std::printf("prjfs: mirroring %s into %s%s\n", options.source.c_str(), options.root.c_str(),
                options.async ? " (async)" : "");
    std::fflush(stdout);
    stopSignals.wait();
    provider.stop();
    std::printf("prjfs: stopped\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 2) return usage();
    // --help anywhere (`prjfs mirror --help`) answers with the usage instead of running anything.
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::fputs(kUsage, stdout);
            return 0;
        }
    }
    const std::string command = argv[1];
    if (command == "mirror") return runMirror(argc - 2, argv + 2);
    if (command == "git") return prjfs::runGitCommand(argc - 2, argv + 2);
    if (command == "state") {
        if (argc < 3) return usage();
        return prjfs::runStateCommand(argc - 2, argv + 2);
    }
    if (command == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (command == "--version") {
        std::printf("prjfs (hostcompute) %s\n", HOSTCOMPUTE_VERSION);
        return 0;
    }
    return usage();
}
