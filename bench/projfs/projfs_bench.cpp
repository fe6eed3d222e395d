// projfs_bench — ProjFS next to native ext4 and a plain passthrough FUSE file system, measured in the
// same run (absolute times drift on shared machines; the ratios are what to compare).
//
//   projfs_bench [--entries N] [--hydrate-mib M] [--latency-files K]
//
// Measures: first listing and first stat of an N-entry projected directory; warm stat and listing;
// hydration throughput of an M MiB file from an in-memory provider; cold (fresh mount) and warm
// sequential reads of the hydrated file; cold and warm stat of hydrated files after a restart; and the
// latency an asynchronous completion (pend + PrjCompleteCommand from another thread) adds to a
// synchronous one. Not run in CI; results and the command line go in docs/performance-projfs.md.
#include "test_provider.h"
#include "virtualization_root.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

extern char** environ;

using namespace projfs_test;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kLatencyDirSize = 50;

std::string loadAverage()
{
    double load[3] = {};
    if (getloadavg(load, 3) != 3) return "unknown";
    char text[64];
    std::snprintf(text, sizeof(text), "%.2f %.2f %.2f", load[0], load[1], load[2]);
    return text;
}

double millis(const std::function<void()>& work)
{
    const auto start = Clock::now();
    work();
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

pid_t g_passthroughPid = -1;  // killed by die() so an aborted run leaves no mount behind

void die(const std::string& message)
{
    if (g_passthroughPid > 0) kill(g_passthroughPid, SIGTERM);
    std::fprintf(stderr, "projfs_bench: %s\n", message.c_str());
    std::fflush(stdout);
    std::_Exit(1);  // no destructors: mounts and threads may be in any state here
}

std::string entryName(int i)
{
    char name[32];
    std::snprintf(name, sizeof(name), "entry-%05d.txt", i);
    return name;
}

void statAll(const std::string& dir, int count)
{
    for (int i = 0; i < count; ++i) {
        struct stat st {};
        if (stat((dir + "/" + entryName(i)).c_str(), &st) != 0)
            die("stat " + dir + "/" + entryName(i) + ": " + std::strerror(errno));
    }
}

void listOrDie(const std::string& dir, size_t expected)
{
    int error = 0;
    auto names = listDirectory(dir, &error);
    if (error || names.size() < expected)
        die("listing " + dir + " gave " + std::to_string(names.size()) + " entries, errno " + std::to_string(error));
}

// Reads a file with 1 MiB reads; returns bytes read.
uint64_t readThrough(const std::string& path)
{
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open " + path + ": " + std::strerror(errno));
    static std::vector<char> buffer(1 << 20);
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buffer.data(), buffer.size());
        if (n < 0) die("read " + path + ": " + std::strerror(errno));
        if (n == 0) break;
        total += static_cast<uint64_t>(n);
    }
    close(fd);
    return total;
}

void readAllFiles(const std::string& dir, int count)
{
    for (int i = 0; i < count; ++i)
        readThrough(dir + "/" + entryName(i));
}

// The passthrough FUSE reference in its own process.
class PassthroughMount {
public:
    PassthroughMount(const std::string& program, const std::string& source, std::string mountPoint)
        : mountPoint_(std::move(mountPoint))
    {
        std::vector<std::string> argv{program, source, mountPoint_};
        std::vector<char*> args;
        for (auto& a : argv)
            args.push_back(a.data());
        args.push_back(nullptr);
        if (posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), environ) != 0) die("cannot run " + program);
        g_passthroughPid = pid_;
        for (int i = 0; i < 500 && !isMounted(mountPoint_); ++i)
            usleep(10000);
        if (!isMounted(mountPoint_)) die("passthrough reference did not mount");
    }
    ~PassthroughMount()
    {
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
        g_passthroughPid = -1;
    }
    const std::string& path() const { return mountPoint_; }

private:
    pid_t pid_ = -1;
    std::string mountPoint_;
};

struct Row {
    std::string what;
    double ours;
    double native;
    double passthrough;  // NAN when not measured
};

void printRows(const std::vector<Row>& rows)
{
    std::printf("\n%-52s %12s %12s %8s %14s %8s\n", "measurement (ms, lower is better)", "ProjFS", "native ext4",
                "ratio", "passthrough", "ratio");
    for (const auto& row : rows) {
        std::printf("%-52s %12.2f %12.2f %7.1fx", row.what.c_str(), row.ours, row.native, row.ours / row.native);
        if (std::isnan(row.passthrough))
            std::printf(" %14s %8s\n", "-", "-");
        else
            std::printf(" %14.2f %7.1fx\n", row.passthrough, row.ours / row.passthrough);
    }
}

double mibPerSecond(uint64_t bytes, double ms)
{
    return static_cast<double>(bytes) / (1 << 20) / (ms / 1000.0);
}

}  // namespace

int main(int argc, char** argv)
{
    int entries = 10000;
    uint64_t hydrateMiB = 1024;
    int latencyFiles = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string option = argv[i];
        if (option == "--entries") {
            entries = std::atoi(argv[i + 1]);
        } else if (option == "--hydrate-mib") {
            hydrateMiB = std::strtoull(argv[i + 1], nullptr, 10);
        } else if (option == "--latency-files") {
            latencyFiles = std::atoi(argv[i + 1]);
        } else {
            die("unknown option " + option);
        }
    }
    const uint64_t hugeSize = hydrateMiB << 20;
    const std::string self = argv[0];
    const std::string passthroughProgram = self.substr(0, self.rfind('/') + 1) + "passthrough_ref";

    // Native reference tree on the same ext4 file system as the roots.
    const std::string scratch = makeTempDir("projfs-bench");
    const std::string native = scratch + "/native";
    mkdir(native.c_str(), 0755);
    mkdir((native + "/big").c_str(), 0755);
    for (int i = 0; i < entries; ++i)
        writeFile(native + "/big/" + entryName(i), "x");
    std::string huge(hugeSize, '\0');
    {
        const std::string pattern = generatedContent(0, 1 << 20, 9);
        for (uint64_t offset = 0; offset < hugeSize; offset += pattern.size())
            std::memcpy(huge.data() + offset, pattern.data(), std::min<uint64_t>(pattern.size(), hugeSize - offset));
    }
    std::vector<Row> rows;
    std::printf("projfs_bench: %d entries, %llu MiB file, %d latency files; load average %s; scratch %s\n", entries,
                static_cast<unsigned long long>(hydrateMiB), latencyFiles, loadAverage().c_str(), scratch.c_str());

    const double nativeWrite = millis([&] {
        int fd = open((native + "/huge.bin").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        for (uint64_t offset = 0; offset < hugeSize; offset += 1 << 20)
            if (write(fd, huge.data() + offset, std::min<uint64_t>(1 << 20, hugeSize - offset)) < 0) die("write");
        close(fd);
    });

    TestProvider provider;
    TestProvider restarted;  // after the restart everything needed is on disk already
    TestProvider latency;
    for (int i = 0; i < entries; ++i)
        provider.addFile("big/" + entryName(i), "x");
    provider.addFile("huge.bin", std::move(huge));
    huge.clear();
    huge.shrink_to_fit();
    // Latency files live in small directories so the lookup itself stays cheap and the difference
    // between the modes is the completion path.
    const int latencyRounds = std::max(1, latencyFiles / kLatencyDirSize);
    for (const char* mode : {"sync", "queue", "thread"})
        for (int r = 0; r < latencyRounds; ++r)
            for (int i = 0; i < kLatencyDirSize; ++i)
                latency.addFile(std::string(mode) + "/d" + std::to_string(r) + "/" + entryName(i), "x");
    {
        const std::string mountPoint = scratch + "/passthrough";
        mkdir(mountPoint.c_str(), 0755);
        PassthroughMount passthrough(passthroughProgram, native, mountPoint);
        VirtualizationRoot root;
        if (FAILED(root.start(provider))) die("PrjStartVirtualizing failed");
        const std::string ours = root.path("big");
        const std::string nat = native + "/big";
        const std::string pass = passthrough.path() + "/big";

        Row firstList{"first listing, " + std::to_string(entries) + " entries",
                      millis([&] { listOrDie(ours, entries); }), millis([&] { listOrDie(nat, entries); }),
                      millis([&] { listOrDie(pass, entries); })};
        Row firstStat{"first stat of each entry", millis([&] { statAll(ours, entries); }),
                      millis([&] { statAll(nat, entries); }), millis([&] { statAll(pass, entries); })};
        Row warmStat{"warm stat of each entry (placeholders)", millis([&] { statAll(ours, entries); }),
                     millis([&] { statAll(nat, entries); }), millis([&] { statAll(pass, entries); })};
        Row warmList{"warm listing", millis([&] { listOrDie(ours, entries); }),
                     millis([&] { listOrDie(nat, entries); }), millis([&] { listOrDie(pass, entries); })};
        rows.insert(rows.end(), {firstList, firstStat, warmStat, warmList});

        uint64_t bytes = 0;
        const double hydrate = millis([&] { bytes = readThrough(root.path("huge.bin")); });
        if (bytes != hugeSize) die("hydration read " + std::to_string(bytes) + " bytes");
        const double passFirst = millis([&] { readThrough(passthrough.path() + "/huge.bin"); });
        rows.push_back(
            {"hydrate " + std::to_string(hydrateMiB) + " MiB (vs native write)", hydrate, nativeWrite, passFirst});
        std::printf("hydration: %.0f MiB/s; native write %.0f MiB/s; passthrough first read %.0f MiB/s\n",
                    mibPerSecond(bytes, hydrate), mibPerSecond(bytes, nativeWrite), mibPerSecond(bytes, passFirst));
        const double warmOurs = millis([&] { readThrough(root.path("huge.bin")); });
        const double warmNative = millis([&] { readThrough(native + "/huge.bin"); });
        const double warmPass = millis([&] { readThrough(passthrough.path() + "/huge.bin"); });
        rows.push_back({"warm sequential read of the hydrated file", warmOurs, warmNative, warmPass});
        const double hydrateSmall = millis([&] { readAllFiles(ours, entries); });
        rows.push_back({"hydrate each small entry (first read)", hydrateSmall,
                        millis([&] { readAllFiles(nat, entries); }), millis([&] { readAllFiles(pass, entries); })});

        root.stop();
        if (FAILED(root.start(restarted))) die("restart failed");
        const double coldOurs = millis([&] { readThrough(root.path("huge.bin")); });
        rows.push_back({"cold read of the hydrated file (fresh mount)", coldOurs, warmNative, passFirst});
        rows.push_back({"warm read of the hydrated file (fresh mount)",
                        millis([&] { readThrough(root.path("huge.bin")); }),
                        millis([&] { readThrough(native + "/huge.bin"); }), warmPass});
        rows.push_back({"cold stat of hydrated entries (fresh mount)", millis([&] { statAll(ours, entries); }),
                        millis([&] { statAll(nat, entries); }), millis([&] { statAll(pass, entries); })});
        rows.push_back({"warm stat of hydrated entries", millis([&] { statAll(ours, entries); }),
                        millis([&] { statAll(nat, entries); }), millis([&] { statAll(pass, entries); })});
        root.stop();
    }

    {
        VirtualizationRoot root;
        if (FAILED(root.start(latency))) die("PrjStartVirtualizing failed");
        // Rounds alternate the modes so that load changes on a shared machine hit all three alike.
        double sync = 0, queued = 0, perThread = 0;
        for (int r = 0; r < latencyRounds; ++r) {
            const std::string d = "/d" + std::to_string(r);
            latency.setCompletion(Callback::PlaceholderInfo, Completion::Sync);
            sync += millis([&] { statAll(root.path("sync" + d), kLatencyDirSize); });
            latency.setCompletion(Callback::PlaceholderInfo, Completion::Queue);
            queued += millis([&] { statAll(root.path("queue" + d), kLatencyDirSize); });
            latency.setCompletion(Callback::PlaceholderInfo, Completion::Worker);
            perThread += millis([&] { statAll(root.path("thread" + d), kLatencyDirSize); });
        }
        latencyFiles = latencyRounds * kLatencyDirSize;
        const double nat = millis([&] { statAll(native + "/big", std::min(latencyFiles, entries)); });
        root.stop();
        const double n = latencyFiles;
        std::printf("\nfirst stat latency per file (GetPlaceholderInfo), %d files, one caller:\n", latencyFiles);
        std::printf("  synchronous callback                      %8.1f us\n", sync * 1000 / n);
        std::printf("  pended, completed by a completion thread  %8.1f us  (+%.1f us)\n", queued * 1000 / n,
                    (queued - sync) * 1000 / n);
        std::printf("  pended, completed by a new thread each    %8.1f us  (+%.1f us)\n", perThread * 1000 / n,
                    (perThread - sync) * 1000 / n);
        std::printf("  native ext4 stat                          %8.1f us\n", nat * 1000 / n);
    }

    printRows(rows);
    std::printf("\nload average at the end: %s (%ld CPUs)\n", loadAverage().c_str(), sysconf(_SC_NPROCESSORS_ONLN));
    removeTree(scratch);
    return 0;
}
