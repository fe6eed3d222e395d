// projfs_bench — ProjFS next to native ext4 and to other FUSE file systems serving the same tree,
// measured in the same run, in rounds that interleave the systems (absolute times drift on shared
// machines; the per-round ratios are what to compare). The workloads are issue 10's:
//
//   first listing + first lstat of every entry of a tree (D directories of F files), warm listing,
//   warm lstat, first read of every small file, first sequential read of a big file (next to a plain
//   `cp` of it), `tar cf /dev/null` of a second, untouched tree, first and again.
//
//   projfs_bench [--dirs D] [--files F] [--file-bytes B] [--big-mib M] [--rounds R] [--latency-files K]
//                [--projfs-only 1]   (no references: for strace/perf of the runtime alone)
//
// Peers (each mounts the native tree; a missing one is reported, never silently dropped):
//   passthrough_ref                 this directory's libfuse high-level mirror (always built)
//   HC_BENCH_PASSTHROUGH_HP=PROG    libfuse's example/passthrough_hp (≥ 3.17), run as PROG --foreground SRC MNT
//   HC_BENCH_LIBPROJFS=PROG         github/libprojfs's t/test_simple, run as PROG SRC MNT (a projfs mount
//                                   without a provider: its mirror mode)
// Not run in CI; results and the command line go in docs/performance-projfs.md.
#include "hostcompute_version.h"
#include "test_provider.h"
#include "virtualization_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/resource.h>
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
#include <map>
#include <memory>
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

// Wall time and this process's CPU time (user + system, every thread: for ProjFS that is the runtime, the
// provider and the kernel work done for them; a peer's or tar's CPU is in their own processes).
struct Sample {
    double wall = 0;
    double cpu = 0;
};

double processCpuMillis()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto ms = [](const timeval& t) { return t.tv_sec * 1000.0 + t.tv_usec / 1000.0; };
    return ms(usage.ru_utime) + ms(usage.ru_stime);
}

Sample timed(const std::function<void()>& work)
{
    const double cpu = processCpuMillis();
    const double wall = millis(work);
    return {wall, processCpuMillis() - cpu};
}

std::vector<pid_t> g_peerPids;  // killed by die() so an aborted run leaves no mount behind

[[noreturn]] void die(const std::string& message)
{
    for (pid_t pid : g_peerPids)
        kill(pid, SIGTERM);
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

std::string dirName(int i)
{
    char name[32];
    std::snprintf(name, sizeof(name), "dir-%03d", i);
    return name;
}

// ---- workloads (each dies on the first error: a wrong answer is not a fast one) ----

// Recursive listing; with `statEntries`, lstat of every entry as it is listed (`ls -lR`). Returns the
// number of entries seen.
size_t walk(const std::string& dir, bool statEntries)
{
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) die("opendir " + dir + ": " + std::strerror(errno));
    std::vector<std::string> subdirs;
    size_t seen = 0;
    while (struct dirent* e = readdir(d)) {
        if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
        ++seen;
        std::string path = dir + "/" + e->d_name;
        bool isDir = e->d_type == DT_DIR;
        if (statEntries || e->d_type == DT_UNKNOWN) {
            struct stat st {};
            if (lstat(path.c_str(), &st) != 0) die("lstat " + path + ": " + std::strerror(errno));
            isDir = S_ISDIR(st.st_mode);
        }
        if (isDir) subdirs.push_back(std::move(path));
    }
    closedir(d);
    for (const auto& sub : subdirs)
        seen += walk(sub, statEntries);
    return seen;
}

void statTree(const std::string& tree, int dirs, int files)
{
    for (int d = 0; d < dirs; ++d) {
        for (int f = 0; f < files; ++f) {
            struct stat st {};
            std::string path = tree + "/" + dirName(d) + "/" + entryName(f);
            if (lstat(path.c_str(), &st) != 0) die("lstat " + path + ": " + std::strerror(errno));
        }
    }
}

uint64_t readThrough(const std::string& path, size_t chunk = 1 << 20)
{
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open " + path + ": " + std::strerror(errno));
    static std::vector<char> buffer;
    buffer.resize(std::max(buffer.size(), chunk));
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buffer.data(), chunk);
        if (n < 0) die("read " + path + ": " + std::strerror(errno));
        if (n == 0) break;
        total += static_cast<uint64_t>(n);
    }
    close(fd);
    return total;
}

void readTree(const std::string& tree, int dirs, int files, uint64_t expectedEach)
{
    for (int d = 0; d < dirs; ++d) {
        for (int f = 0; f < files; ++f) {
            std::string path = tree + "/" + dirName(d) + "/" + entryName(f);
            if (readThrough(path, 64 * 1024) != expectedEach) die("short read of " + path);
        }
    }
}

// `allowedStatus`: an exit status that still means success (tar's 1: "some files changed as we read them",
// which a first ProjFS listing does to its directories as placeholders are written).
void runOrDie(std::vector<std::string> argv, int allowedStatus = 0)
{
    std::vector<char*> args;
    for (auto& a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) die("cannot run " + argv[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != allowedStatus))
        die(argv[0] + " failed (status " + std::to_string(status) + ")");
}

void tarToNull(const std::string& parent, const std::string& tree)
{
    runOrDie({"tar", "--warning=no-file-changed", "-cf", "/dev/null", "-C", parent, tree}, 1);
}

// ---- peers: other FUSE file systems serving the native tree ----

struct Peer {
    std::string name;
    std::string program;             // empty: missing
    std::vector<std::string> flags;  // before SOURCE MOUNTPOINT
    std::string missingBecause;
};

// One mount of a peer, in its own process; stopped (and detached if it left its mount) on destruction.
class PeerMount {
public:
    PeerMount(const Peer& peer, const std::string& source, std::string mountPoint) : mountPoint_(std::move(mountPoint))
    {
        mkdir(mountPoint_.c_str(), 0755);
        std::vector<std::string> argv{peer.program};
        argv.insert(argv.end(), peer.flags.begin(), peer.flags.end());
        argv.push_back(source);
        argv.push_back(mountPoint_);
        std::vector<char*> args;
        for (auto& a : argv)
            args.push_back(a.data());
        args.push_back(nullptr);
        if (posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), environ) != 0) die("cannot run " + peer.program);
        g_peerPids.push_back(pid_);
        // Waiting for another process to mount: polled (a benchmark, not a test).
        for (int i = 0; i < 1000 && !isMounted(mountPoint_); ++i) {
            if (waitpid(pid_, nullptr, WNOHANG) == pid_) die(peer.name + " exited before mounting");
            usleep(10000);
        }
        if (!isMounted(mountPoint_)) die(peer.name + " did not mount " + mountPoint_);
    }
    ~PeerMount()
    {
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
        g_peerPids.erase(std::find(g_peerPids.begin(), g_peerPids.end(), pid_));
        if (isMounted(mountPoint_)) umount2(mountPoint_.c_str(), MNT_DETACH);
    }
    const std::string& path() const { return mountPoint_; }

private:
    pid_t pid_ = -1;
    std::string mountPoint_;
};

Peer peerFromEnvironment(const std::string& name, const char* variable, std::vector<std::string> flags)
{
    Peer peer{name, "", std::move(flags), ""};
    const char* program = std::getenv(variable);
    if (program == nullptr || *program == '\0') {
        peer.missingBecause = std::string(variable) + " is not set";
    } else if (access(program, X_OK) != 0) {
        peer.missingBecause = std::string(variable) + "=" + program + " is not executable";
    } else {
        peer.program = program;
    }
    return peer;
}

// ---- results ----

struct Shape {
    int dirs, files;
    uint64_t fileBytes, bigBytes;
};

const char* const kWorkloads[] = {
    "first listing + first lstat of every entry",
    "warm listing (same directories again)",
    "warm lstat of every entry",
    "first read of every small file",
    "first sequential read of the big file",
    "tar cf /dev/null, first",
    "tar cf /dev/null, warm",
};
constexpr size_t kWorkloadCount = sizeof(kWorkloads) / sizeof(kWorkloads[0]);

// One system's times for the tree workloads in one round (the first five of kWorkloads). `tree` was
// never touched before.
std::vector<Sample> measureTree(const std::string& base, const Shape& shape)
{
    const std::string tree = base + "/tree";
    const size_t expected = static_cast<size_t>(shape.dirs) * (shape.files + 1);
    std::vector<Sample> t;
    size_t seen = 0;
    t.push_back(timed([&] { seen = walk(tree, true); }));
    if (seen != expected)
        die(tree + ": listed " + std::to_string(seen) + " of " + std::to_string(expected) + " entries");
    t.push_back(timed([&] { walk(tree, false); }));
    t.push_back(timed([&] { statTree(tree, shape.dirs, shape.files); }));
    t.push_back(timed([&] { readTree(tree, shape.dirs, shape.files, shape.fileBytes); }));
    uint64_t bytes = 0;
    t.push_back(timed([&] { bytes = readThrough(base + "/big.bin"); }));
    if (bytes != shape.bigBytes) die(base + "/big.bin: read " + std::to_string(bytes) + " bytes");
    return t;
}

// The tar workloads (the last two) on `tartree`, never touched before. Peers get a fresh mount for them:
// the peers that keep a descriptor per inode they were asked about (libprojfs) would otherwise run out
// of descriptors holding both trees.
std::vector<Sample> measureTar(const std::string& base)
{
    return {timed([&] { tarToNull(base, "tartree"); }), timed([&] { tarToNull(base, "tartree"); })};
}

std::vector<Sample> joined(std::vector<Sample> tree, const std::vector<Sample>& tar)
{
    tree.insert(tree.end(), tar.begin(), tar.end());
    return tree;
}

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void writeNativeTree(const std::string& base, const Shape& shape, const std::string& smallContent,
                     const std::string& big)
{
    for (const char* name : {"tree", "tartree"}) {
        const std::string tree = base + "/" + name;
        mkdir(tree.c_str(), 0755);
        for (int d = 0; d < shape.dirs; ++d) {
            const std::string dir = tree + "/" + dirName(d);
            mkdir(dir.c_str(), 0755);
            for (int f = 0; f < shape.files; ++f)
                if (writeFile(dir + "/" + entryName(f), smallContent) != 0) die("writing " + dir);
        }
    }
    if (writeFile(base + "/big.bin", big) != 0) die("writing big.bin");
}

void addProjectedTree(TestProvider& provider, const Shape& shape, const std::string& smallContent, std::string big)
{
    for (const char* name : {"tree", "tartree"})
        for (int d = 0; d < shape.dirs; ++d)
            for (int f = 0; f < shape.files; ++f)
                provider.addFile(std::string(name) + "/" + dirName(d) + "/" + entryName(f), smallContent);
    provider.addFile("big.bin", std::move(big));
}

void latencyRows(int latencyFiles, const std::string& nativeTree)
{
    TestProvider latency;
    const int rounds = std::max(1, latencyFiles / kLatencyDirSize);
    for (const char* mode : {"sync", "queue", "thread"})
        for (int r = 0; r < rounds; ++r)
            for (int i = 0; i < kLatencyDirSize; ++i)
                latency.addFile(std::string(mode) + "/d" + std::to_string(r) + "/" + entryName(i), "x");
    VirtualizationRoot root;
    if (FAILED(root.start(latency))) die("PrjStartVirtualizing failed");
    // Rounds alternate the modes so that load changes on a shared machine hit all three alike.
    double sync = 0, queued = 0, perThread = 0;
    auto statDir = [](const std::string& dir) {
        for (int i = 0; i < kLatencyDirSize; ++i) {
            struct stat st {};
            if (lstat((dir + "/" + entryName(i)).c_str(), &st) != 0) die("lstat in " + dir);
        }
    };
    for (int r = 0; r < rounds; ++r) {
        const std::string d = "/d" + std::to_string(r);
        latency.setCompletion(Callback::PlaceholderInfo, Completion::Sync);
        sync += millis([&] { statDir(root.path("sync" + d)); });
        latency.setCompletion(Callback::PlaceholderInfo, Completion::Queue);
        queued += millis([&] { statDir(root.path("queue" + d)); });
        latency.setCompletion(Callback::PlaceholderInfo, Completion::Worker);
        perThread += millis([&] { statDir(root.path("thread" + d)); });
    }
    const double nat = millis([&] { statDir(nativeTree + "/" + dirName(0)); }) * rounds;
    root.stop();
    const double n = rounds * kLatencyDirSize;
    std::printf("\nfirst lstat latency per file (GetPlaceholderInfo), %d files, one caller:\n",
                rounds * kLatencyDirSize);
    std::printf("  synchronous callback                      %8.1f us\n", sync * 1000 / n);
    std::printf("  pended, completed by a completion thread  %8.1f us  (+%.1f us)\n", queued * 1000 / n,
                (queued - sync) * 1000 / n);
    std::printf("  pended, completed by a new thread each    %8.1f us  (+%.1f us)\n", perThread * 1000 / n,
                (perThread - sync) * 1000 / n);
    std::printf("  native ext4 lstat (approx.)               %8.1f us\n", nat * 1000 / n);
}

}  // namespace

int main(int argc, char** argv)
{
    Shape shape{100, 110, 167, 1024ull << 20};
    int rounds = 3;
    int latencyFiles = 0;
    bool projfsOnly = false;
    for (int i = 1; i < argc; ++i) {
        const std::string option = argv[i];
        if (option == "--help" || option == "-h") {
            std::printf(
                "usage: projfs_bench [--dirs D] [--files F] [--file-bytes B] [--big-mib M] [--rounds R]\n"
                "                    [--latency-files K] [--projfs-only 1]\n"
                "ProjFS next to native ext4 and other FUSE file systems serving the same tree, in interleaved\n"
                "rounds (defaults: 100 directories of 110 files of 167 bytes, a 1024 MiB file, 3 rounds).\n"
                "Peers: passthrough_ref (built beside it), HC_BENCH_PASSTHROUGH_HP=PROG, HC_BENCH_LIBPROJFS=PROG.\n");
            return 0;
        }
        if (option == "--version") {
            std::printf("projfs_bench (hostcompute) %s\n", HOSTCOMPUTE_VERSION);
            return 0;
        }
    }
    for (int i = 1; i < argc; i += 2) {
        const std::string option = argv[i];
        if (i + 1 >= argc) die("option " + option + " needs a value");
        const char* value = argv[i + 1];
        if (option == "--dirs") {
            shape.dirs = std::atoi(value);
        } else if (option == "--files") {
            shape.files = std::atoi(value);
        } else if (option == "--file-bytes") {
            shape.fileBytes = std::strtoull(value, nullptr, 10);
        } else if (option == "--big-mib") {
            shape.bigBytes = std::strtoull(value, nullptr, 10) << 20;
        } else if (option == "--rounds") {
            rounds = std::atoi(value);
        } else if (option == "--projfs-only") {
            projfsOnly = std::atoi(value) != 0;
        } else if (option == "--latency-files") {
            latencyFiles = std::atoi(value);
        } else {
            die("unknown option " + option + " (see the comment at the top of bench/projfs/projfs_bench.cpp)");
        }
    }
    if (shape.dirs <= 0 || shape.files <= 0 || shape.bigBytes == 0 || rounds <= 0) die("sizes must be positive");
    const std::string self = argv[0];
    std::vector<Peer> peers{
        Peer{"passthrough_ref", self.substr(0, self.rfind('/') + 1) + "passthrough_ref", {}, ""},
        peerFromEnvironment("passthrough_hp", "HC_BENCH_PASSTHROUGH_HP", {"--foreground"}),
        peerFromEnvironment("libprojfs", "HC_BENCH_LIBPROJFS", {}),
    };

    const std::string scratch = makeTempDir("projfs-bench");
    const std::string native = scratch + "/native";
    mkdir(native.c_str(), 0755);
    const std::string smallContent = generatedContent(0, shape.fileBytes, 3);
    TestProvider provider;
    {
        // Made once and served from memory: the first read measures the runtime, not a content generator.
        std::string big = generatedContent(0, static_cast<size_t>(shape.bigBytes), 9);
        writeNativeTree(native, shape, smallContent, big);
        addProjectedTree(provider, shape, smallContent, std::move(big));
    }

    const int entries = shape.dirs * (shape.files + 1);
    std::printf(
        "projfs_bench: tree of %d entries (%d directories x %d files of %llu bytes) twice, a %llu MiB file, "
        "%d rounds; load average %s; scratch %s\n",
        entries + 1, shape.dirs, shape.files, static_cast<unsigned long long>(shape.fileBytes),
        static_cast<unsigned long long>(shape.bigBytes >> 20), rounds, loadAverage().c_str(), scratch.c_str());
    for (const auto& peer : peers)
        if (peer.program.empty())
            std::printf("peer %s: MISSING (%s)\n", peer.name.c_str(), peer.missingBecause.c_str());

    // times[system][workload][round]; cpu: the same for this process's CPU time
    std::map<std::string, std::vector<std::vector<double>>> times, cpu;
    std::vector<double> copyTimes;
    auto record = [&](const std::string& system, const std::vector<Sample>& round) {
        auto& wall = times[system];
        auto& busy = cpu[system];
        wall.resize(kWorkloadCount);
        busy.resize(kWorkloadCount);
        for (size_t w = 0; w < kWorkloadCount; ++w) {
            wall[w].push_back(round[w].wall);
            busy[w].push_back(round[w].cpu);
        }
    };
    for (int r = 0; r < rounds; ++r) {
        {
            VirtualizationRoot root;  // a new root each round: every "first" is a first
            if (FAILED(root.start(provider))) die("PrjStartVirtualizing failed");
            auto tree = measureTree(root.path(), shape);
            record("ProjFS", joined(tree, measureTar(root.path())));
            root.stop();
        }
        if (projfsOnly) continue;
        record("native ext4", joined(measureTree(native, shape), measureTar(native)));
        const std::string copy = scratch + "/copy.bin";
        copyTimes.push_back(millis([&] { runOrDie({"cp", native + "/big.bin", copy}); }));
        unlink(copy.c_str());
        for (const auto& peer : peers) {
            if (peer.program.empty()) continue;
            std::vector<Sample> tree, tar;
            {
                PeerMount mount(peer, native, scratch + "/mnt-" + peer.name);
                tree = measureTree(mount.path(), shape);
            }
            {
                PeerMount mount(peer, native, scratch + "/mnt-" + peer.name);
                tar = measureTar(mount.path());
            }
            record(peer.name, joined(tree, tar));
        }
        std::printf("round %d done, load average %s\n", r + 1, loadAverage().c_str());
        std::fflush(stdout);
    }

    // Medians of the per-round ratios (ProjFS ÷ system in the same round), and median times.
    std::vector<std::string> columns{"native ext4"};
    for (const auto& peer : peers)
        columns.push_back(peer.name);
    std::printf("\n%-44s %10s", "median ms (ratio = ProjFS / system, per round)", "ProjFS");
    for (const auto& c : columns)
        std::printf(" %24s", c.c_str());
    std::printf("\n");
    const auto& ours = times["ProjFS"];
    for (size_t w = 0; w < kWorkloadCount; ++w) {
        std::printf("%-44s %10.1f", kWorkloads[w], median(ours[w]));
        for (const auto& c : columns) {
            auto it = times.find(c);
            if (it == times.end()) {
                std::printf(" %24s", "missing");
                continue;
            }
            std::vector<double> ratios;
            for (int r = 0; r < rounds; ++r)
                ratios.push_back(ours[w][r] / it->second[w][r]);
            char cell[64];
            std::snprintf(cell, sizeof(cell), "%.1f (%.2fx)", median(it->second[w]), median(ratios));
            std::printf(" %24s", cell);
        }
        std::printf("\n");
    }
    std::vector<double> copyRatios;
    for (size_t r = 0; r < copyTimes.size(); ++r)
        copyRatios.push_back(ours[4][r] / copyTimes[r]);
    if (!copyRatios.empty())
        std::printf("%-44s %10s %24s\n", "plain cp of the native big file", "",
                    (std::to_string(static_cast<int>(median(copyTimes))) + " ms; ProjFS first read " +
                     std::to_string(median(copyRatios)).substr(0, 4) + "x")
                        .c_str());

    std::printf(
        "\nCPU time of this process (ms, median): ProjFS = reader + runtime + provider, with the kernel work for "
        "them; native = the reader's system calls\n");
    for (size_t w = 0; w < kWorkloadCount; ++w) {
        std::printf("%-44s %10.1f", kWorkloads[w], median(cpu["ProjFS"][w]));
        if (cpu.count("native ext4")) std::printf(" %24.1f", median(cpu["native ext4"][w]));
        std::printf("\n");
    }

    if (latencyFiles > 0) latencyRows(latencyFiles, native + "/tree");
    std::printf("\nload average at the end: %s (%ld CPUs)\n", loadAverage().c_str(), sysconf(_SC_NPROCESSORS_ONLN));
    removeTree(scratch);
    return 0;
}
