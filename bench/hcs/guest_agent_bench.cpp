#include "guest_agent_bench.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_vm.h"
#include "support/qemu_processes.h"

namespace hcs_bench {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr uint64_t kStreamBytes = 64ull << 20;
// qemu-ga keeps at most 16 MiB of a process's captured output, so its stream is read in four runs.
constexpr uint64_t kQemuGaChunkBytes = 16ull << 20;
constexpr double kMiB = 1024.0 * 1024.0;
// The streams' producer, the same in both guests: dd in 64 KiB blocks. busybox's `head -c` copies one byte
// at a time through stdio, which under TCG took 6 s of guest CPU for 64 MiB by itself (agent-profile
// prints the producer alone), so it measured busybox rather than either output path.
// HCS_BENCH_PRODUCER=head selects the old producer, for comparison.
constexpr uint64_t kProducerBlock = 64 * 1024;

// argv of a guest command writing `bytes` zero bytes to stdout.
std::vector<std::string> producerArgv(uint64_t bytes)
{
    const char* choice = std::getenv("HCS_BENCH_PRODUCER");
    if (choice != nullptr && std::string(choice) == "head")
        return {"/bin/head", "-c", std::to_string(bytes), "/dev/zero"};
    return {"/bin/dd", "if=/dev/zero", "bs=" + std::to_string(kProducerBlock),
            "count=" + std::to_string(bytes / kProducerBlock)};
}

// The agent test guest's initrd (HCS_AGENT_INITRD, else the build tree's).
std::string agentInitrd()
{
    const char* fromEnvironment = std::getenv("HCS_AGENT_INITRD");
    return fromEnvironment != nullptr ? fromEnvironment : hcs_test::buildDirectory() + "/guest/initrd-agent.gz";
}

// The agent guest's initrd with the qemu-ga overlay appended (the kernel unpacks both archives).
std::string makeBenchInitrd(const std::string& directory)
{
    std::string agentInitrd = hcs_bench::agentInitrd();
    if (!std::filesystem::exists(agentInitrd)) {
        throw std::runtime_error(agentInitrd +
                                 " is missing: build the hcs_agent_initrd target (or set HCS_AGENT_INITRD)");
    }
    std::string overlay = directory + "/qemu-ga-overlay.cpio.gz";
    std::string script = hcs_test::sourceDirectory() + "/bench/hcs/make-qemu-ga-overlay.sh";
    if (std::system((script + " " + overlay).c_str()) != 0) {
        throw std::runtime_error(script + " failed");
    }
    std::string combined = directory + "/initrd-agent-qemu-ga.gz";
    if (std::system(("cat '" + agentInitrd + "' '" + overlay + "' > '" + combined + "'").c_str()) != 0) {
        throw std::runtime_error("cannot write " + combined);
    }
    return combined;
}

std::string agentVm(const std::string& initrd)
{
    std::string guest = hcs_test::sourceDirectory() + "/.cache/test-guest";
    json document = {{"SchemaVersion", {{"Major", 2}, {"Minor", 1}}},
                     {"VirtualMachine",
                      {{"Chipset",
                        {{"LinuxKernelDirect",
                          {{"KernelFilePath", guest + "/vmlinuz"},
                           {"InitRdPath", initrd},
                           {"KernelCmdLine", "console=ttyS0 quiet"}}}}},
                       {"ComputeTopology", {{"Memory", {{"SizeInMB", 256}}}, {"Processor", {{"Count", 1}}}}},
                       {"GuestConnection", json::object()}}},
                     {"ShouldTerminateOnLastHandleClosed", true}};
    return document.dump();
}

// One process through the C API: created, its stdio descriptors owned here, closed on destruction.
class GuestProcess {
public:
    GuestProcess(HCS_SYSTEM system, const json& parameters)
    {
        std::wstring text = wide(parameters.dump());
        HCS_OPERATION operation = HcsCreateOperation(nullptr, nullptr);
        HRESULT hr = HcsCreateProcess(system, text.c_str(), operation, nullptr, &process_);
        PWSTR result = nullptr;
        if (SUCCEEDED(hr)) hr = HcsWaitForOperationResultAndProcessInfo(operation, c_TimeoutMs, &info_, &result);
        std::string document = hcsctl::takeResultString(result);
        HcsCloseOperation(operation);
        if (FAILED(hr)) {
            if (process_ != nullptr) HcsCloseProcess(process_);
            throw std::runtime_error("HcsCreateProcess: " + hcsctl::describeHresult(hr) + " " + document);
        }
    }
    GuestProcess(const GuestProcess&) = delete;
    GuestProcess& operator=(const GuestProcess&) = delete;
    ~GuestProcess()
    {
        for (HANDLE h : {info_.StdInput, info_.StdOutput, info_.StdError}) {
            if (h != nullptr) close(static_cast<int>(reinterpret_cast<intptr_t>(h)));
        }
        HcsCloseProcess(process_);
    }
    int stdoutFd() const { return static_cast<int>(reinterpret_cast<intptr_t>(info_.StdOutput)); }
    int stderrFd() const { return static_cast<int>(reinterpret_cast<intptr_t>(info_.StdError)); }
    HCS_PROCESS handle() const { return process_; }

    // Waits for the exit and returns the ProcessStatus' ExitCode.
    int waitExit() const
    {
        PWSTR result = nullptr;
        HRESULT hr = HcsWaitForProcessExit(process_, c_TimeoutMs, &result);
        std::string document = hcsctl::takeResultString(result);
        if (FAILED(hr))
            throw std::runtime_error("HcsWaitForProcessExit: " + hcsctl::describeHresult(hr) + " " + document);
        return json::parse(document).value("ExitCode", -1);
    }

private:
    HCS_PROCESS process_ = nullptr;
    HCS_PROCESS_INFORMATION info_{};
};

// Runs `sh -c script` in the guest and returns what it wrote to stderr.
std::string guestStderr(HCS_SYSTEM system, const std::string& script)
{
    GuestProcess process(system, {{"CommandArgs", {"sh", "-c", script}}, {"CreateStdErrPipe", true}});
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = read(process.stderrFd(), buffer, sizeof buffer)) > 0;)
        text.append(buffer, static_cast<size_t>(n));
    process.waitExit();
    return text;
}

uint64_t drain(int fd)
{
    std::vector<char> buffer(1 << 20);
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return total;
        total += static_cast<uint64_t>(n);
    }
}

// qemu-ga: guest-exec, then guest-exec-status polled back to back until it says exited (the fastest a
// client can learn of the exit: the protocol has no event). Returns the final status.
json qemuGaRun(QmpConnection& agent, const std::string& path, const std::vector<std::string>& args, bool capture)
{
    json request = {{"path", path}, {"arg", args}, {"capture-output", capture}};
    int pid = agent.execute("guest-exec", request).at("pid").get<int>();
    for (;;) {
        json status = agent.execute("guest-exec-status", {{"pid", pid}});
        if (status.value("exited", false)) return status;
    }
}

size_t base64DecodedSize(const std::string& text)
{
    size_t padding = 0;
    if (!text.empty() && text.back() == '=') ++padding;
    if (text.size() > 1 && text[text.size() - 2] == '=') ++padding;
    return text.size() / 4 * 3 - padding;
}

std::chrono::nanoseconds execTrueOurs(HCS_SYSTEM system)
{
    auto start = Clock::now();
    GuestProcess process(system, {{"CommandArgs", {"/bin/true"}}});
    if (process.waitExit() != 0) throw std::runtime_error("/bin/true did not exit 0 through hcs-guest");
    return Clock::now() - start;
}

std::chrono::nanoseconds execTrueQemuGa(QmpConnection& agent)
{
    auto start = Clock::now();
    json status = qemuGaRun(agent, "/bin/true", {}, false);
    if (status.value("exitcode", -1) != 0) throw std::runtime_error("/bin/true did not exit 0 through qemu-ga");
    return Clock::now() - start;
}

// MB/s of a 64 MiB stdout stream.
double streamOurs(HCS_SYSTEM system)
{
    auto start = Clock::now();
    GuestProcess stream(system, {{"CommandArgs", producerArgv(kStreamBytes)}, {"CreateStdOutPipe", true}});
    uint64_t bytes = drain(stream.stdoutFd());
    if (stream.waitExit() != 0 || bytes != kStreamBytes) {
        throw std::runtime_error("the 64 MiB stream through hcs-guest delivered " + std::to_string(bytes) + " bytes");
    }
    return bytes / kMiB / std::chrono::duration<double>(Clock::now() - start).count();
}

double streamQemuGa(QmpConnection& agent)
{
    auto start = Clock::now();
    uint64_t bytes = 0;
    for (uint64_t done = 0; done < kStreamBytes; done += kQemuGaChunkBytes) {
        auto argv = producerArgv(kQemuGaChunkBytes);
        json status = qemuGaRun(agent, argv[0], std::vector<std::string>(argv.begin() + 1, argv.end()), true);
        bytes += base64DecodedSize(status.value("out-data", std::string()));
    }
    if (bytes != kStreamBytes) {
        throw std::runtime_error("the 64 MiB stream through qemu-ga delivered " + std::to_string(bytes) + " bytes");
    }
    return bytes / kMiB / std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[values.size() / 2];
}

// hcsd's resident memory and descriptors per live guest process (each with a stdout pipe).
void measureHcsdCost(hcs_test::PrivateHcsd& hcsd, HCS_SYSTEM system, int count)
{
    auto descriptors = [&] {
        return std::distance(std::filesystem::directory_iterator("/proc/" + std::to_string(hcsd.pid()) + "/fd"),
                             std::filesystem::directory_iterator{});
    };
    uint64_t rssBefore = residentBytes(hcsd.pid());
    auto fdsBefore = descriptors();
    {
        std::vector<std::unique_ptr<GuestProcess>> sleepers;
        for (int i = 0; i < count; ++i) {
            sleepers.push_back(std::make_unique<GuestProcess>(
                system, json{{"CommandArgs", {"sleep", "600"}}, {"CreateStdOutPipe", true}}));
        }
        uint64_t rssAfter = residentBytes(hcsd.pid());
        auto fdsAfter = descriptors();
        std::printf("hcsd per live process (%d processes with a stdout pipe): %.1f KiB RSS, %.1f descriptors\n", count,
                    (static_cast<double>(rssAfter) - static_cast<double>(rssBefore)) / 1024.0 / count,
                    static_cast<double>(fdsAfter - fdsBefore) / count);
        for (auto& sleeper : sleepers) {
            (void)hcsctl::runOperation(c_TimeoutMs, [&](HCS_OPERATION operation) {
                return HcsTerminateProcess(sleeper->handle(), operation, nullptr);
            });
        }
    }
}

// From smaps_rollup: /proc/<pid>/status' VmRSS comes from per-CPU counters that had not been folded in
// for the idle agent (it read 4 kB while smaps_rollup counted 1,252 kB).
void printAgentsRss(QmpConnection& agent)
{
    json status = qemuGaRun(agent, "/bin/sh",
                            {"-c",
                             "for a in hcs-guest qemu-ga; do p=$(pidof $a | cut -d' ' -f1); "
                             "echo $a $(grep ^Rss: /proc/$p/smaps_rollup); done"},
                            true);
    std::string encoded = status.value("out-data", std::string());
    std::string decoded;
    {
        // Small enough to decode by hand (no base64 library in the tree).
        static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        int bits = 0, value = 0;
        for (char c : encoded) {
            auto position = alphabet.find(c);
            if (position == std::string::npos) continue;
            value = (value << 6) | static_cast<int>(position);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                decoded += static_cast<char>((value >> bits) & 0xff);
            }
        }
    }
    std::printf("agents' RSS in the guest (from /proc in the reference guest):\n%s", decoded.c_str());
}

}  // namespace

int benchGuestAgent(hcs_test::PrivateHcsd& hcsd, int rounds)
{
    std::string initrd = makeBenchInitrd(hcsd.root());
    hcsctl::SystemHandle system;
    createAndStart("bench-agent", agentVm(initrd), system);  // Start returns once the agent said hello
    auto qemu = newQemu(hcsd, {});
    if (qemu.size() != 1) throw std::runtime_error("cannot find the VM's QEMU process");
    measureHcsdCost(hcsd, system.get(), 100);

    // The reference guest runs beside ours, and the rounds alternate (which one goes first too), so a
    // change in the machine's load reaches both sides alike.
    std::string qemuGaSocket = hcsd.root() + "/qemu-ga.sock";
    ReferenceVm direct(
        prepareReference(qemu.front(), hcsd.root(), 0,
                         {"-chardev", "socket,id=bench-qga,path=" + qemuGaSocket + ",server=on,wait=off", "-device",
                          "virtserialport,bus=hcs-agent-serial.0,chardev=bench-qga,name=org.qemu.guest_agent.0"}));
    QmpConnection agent;
    agent.openGuestAgent(qemuGaSocket, 120s);

    std::vector<std::chrono::nanoseconds> ours, reference;
    for (int i = 0; i < rounds; ++i) {
        if (i % 2 == 0) ours.push_back(execTrueOurs(system.get()));
        reference.push_back(execTrueQemuGa(agent));
        if (i % 2 == 1) ours.push_back(execTrueOurs(system.get()));
    }
    std::vector<double> ourStreams, referenceStreams;
    for (int i = 0; i < 3; ++i) {
        ourStreams.push_back(streamOurs(system.get()));
        referenceStreams.push_back(streamQemuGa(agent));
    }
    printAgentsRss(agent);
    terminate(system);

    std::printf(
        "create -> exit of /bin/true, %d alternating rounds: hcs-guest (HcsCreateProcess + HcsWaitForProcessExit) "
        "vs qemu-ga (guest-exec + guest-exec-status polled)\n",
        rounds);
    printComparison("p50", percentileMicros(ours, 50) / 1000, percentileMicros(reference, 50) / 1000, "ms");
    printComparison("p90", percentileMicros(ours, 90) / 1000, percentileMicros(reference, 90) / 1000, "ms");
    std::printf(
        "64 MiB of stdout from %s, median of 3 alternating runs: hcs-guest pipe vs qemu-ga captured output "
        "(4 x 16 MiB, base64)\n",
        producerArgv(kStreamBytes)[0].c_str());
    printComparison("throughput", median(ourStreams), median(referenceStreams), "MB/s");
    return 0;
}

namespace {

// ---- hcs_bench agent-profile: where a stream's time goes, from the counters of every party ----

// CPU seconds (user + system) per thread name of a process, from /proc/<pid>/task/*/stat.
std::map<std::string, double> threadCpu(pid_t pid)
{
    std::map<std::string, double> cpu;
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        std::ifstream in(task.path() / "stat");
        std::string line;
        std::getline(in, line);
        auto open = line.find('('), close = line.rfind(')');
        if (open == std::string::npos || close == std::string::npos) continue;
        std::string name = line.substr(open + 1, close - open - 1);
        std::istringstream fields(line.substr(close + 2));
        std::string field;
        double utime = 0, stime = 0;
        for (int i = 3; fields >> field; ++i) {  // field numbers as in proc(5)
            if (i == 14) utime = std::stod(field);
            if (i == 15) {
                stime = std::stod(field);
                break;
            }
        }
        cpu[name] += (utime + stime) / tick;
    }
    return cpu;
}

// Voluntary + involuntary context switches of a process (all threads), from /proc/<pid>/task/*/status.
uint64_t contextSwitches(pid_t pid)
{
    uint64_t total = 0;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        std::ifstream in(task.path() / "status");
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("voluntary_ctxt_switches:", 0) == 0 || line.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
                total += std::stoull(line.substr(line.find(':') + 1));
        }
    }
    return total;
}

void printCpuDelta(const char* who, const std::map<std::string, double>& before,
                   const std::map<std::string, double>& after, double seconds)
{
    for (const auto& [name, value] : after) {
        auto it = before.find(name);
        double used = value - (it == before.end() ? 0 : it->second);
        if (used >= 0.01)
            std::printf("  %-6s %-18s %6.2f s CPU (%3.0f%%)\n", who, name.c_str(), used, 100 * used / seconds);
    }
}

// Reads stdout and stderr together until both reach EOF; stderr's text is returned, stdout only counted.
uint64_t drainBoth(int out, int err, std::string& errText)
{
    std::vector<char> buffer(1 << 20);
    uint64_t total = 0;
    bool outOpen = true, errOpen = true;
    while (outOpen || errOpen) {
        pollfd fds[2] = {{outOpen ? out : -1, POLLIN, 0}, {errOpen ? err : -1, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
        if (fds[0].revents) {
            ssize_t n = read(out, buffer.data(), buffer.size());
            if (n > 0)
                total += static_cast<uint64_t>(n);
            else if (n == 0 || errno != EINTR)
                outOpen = false;
        }
        if (fds[1].revents) {
            ssize_t n = read(err, buffer.data(), buffer.size());
            if (n > 0)
                errText.append(buffer.data(), static_cast<size_t>(n));
            else if (n == 0 || errno != EINTR)
                errOpen = false;
        }
    }
    return total;
}

// Guest CPU jiffies (user, nice, system, idle, iowait, irq, softirq) from two "cpu" lines of /proc/stat,
// and the agent's utime/stime from two lines of its /proc/<pid>/stat.
void printGuestCounters(const std::string& text)
{
    std::vector<std::vector<double>> cpu;
    std::vector<std::pair<double, double>> agent;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("cpu ", 0) == 0) {
            std::istringstream fields(line.substr(4));
            std::vector<double> values;
            double v;
            while (fields >> v)
                values.push_back(v);
            cpu.push_back(values);
        } else if (auto close = line.rfind(')'); close != std::string::npos) {
            std::istringstream fields(line.substr(close + 2));
            std::string field;
            double utime = 0, stime = 0;
            for (int i = 3; fields >> field; ++i) {
                if (i == 14) utime = std::stod(field);
                if (i == 15) {
                    stime = std::stod(field);
                    break;
                }
            }
            agent.emplace_back(utime, stime);
        }
    }
    if (cpu.size() != 2 || cpu[0].size() < 7 || cpu[1].size() < 7) {
        std::printf("  guest counters missing: %s\n", text.c_str());
        return;
    }
    const char* names[] = {"user", "nice", "system", "idle", "iowait", "irq", "softirq"};
    double total = 0;
    for (int i = 0; i < 7; ++i)
        total += cpu[1][i] - cpu[0][i];
    std::printf("  guest CPU:");
    for (int i = 0; i < 7; ++i) {
        double d = cpu[1][i] - cpu[0][i];
        if (d > 0) std::printf(" %s %.0f%%", names[i], 100 * d / total);
    }
    if (agent.size() == 2) {
        std::printf("; hcs-guest %.2f s user %.2f s system (of %.2f s)", (agent[1].first - agent[0].first) / 100,
                    (agent[1].second - agent[0].second) / 100, total / 100);
    }
    std::printf("\n");
}

// Where /bin/true's round trip goes: the whole create -> exit through the C API, a request round trip
// to the agent that does nothing in the guest (HcsSignalProcess with SIGCONT to a sleeping process), and
// fork+exec+wait of /bin/true inside the guest by busybox sh (no host involved).
void profileExec(HCS_SYSTEM system, int rounds)
{
    std::vector<std::chrono::nanoseconds> create, signal;
    GuestProcess sleeper(system, {{"CommandArgs", {"sleep", "600"}}});
    for (int i = 0; i < rounds; ++i) {
        create.push_back(execTrueOurs(system));
        auto start = Clock::now();
        check(hcsctl::runOperation(c_TimeoutMs,
                                   [&](HCS_OPERATION operation) {
                                       return HcsSignalProcess(sleeper.handle(), operation, L"{\"Signal\":18}");
                                   }),
              "HcsSignalProcess");
        signal.push_back(Clock::now() - start);
    }
    std::printf(
        "/bin/true create -> exit p50 %.2f ms p90 %.2f ms; agent request round trip (Signal) p50 %.2f ms "
        "p90 %.2f ms\n",
        percentileMicros(create, 50) / 1000, percentileMicros(create, 90) / 1000, percentileMicros(signal, 50) / 1000,
        percentileMicros(signal, 90) / 1000);
    std::printf("100 x /bin/true from busybox sh inside the guest: %s",
                guestStderr(system, "time sh -c 'i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done'").c_str());
    (void)hcsctl::runOperation(c_TimeoutMs, [&](HCS_OPERATION operation) {
        return HcsTerminateProcess(sleeper.handle(), operation, nullptr);
    });
}

}  // namespace

int profileGuestAgent(hcs_test::PrivateHcsd& hcsd, int rounds)
{
    hcsctl::SystemHandle system;
    createAndStart("bench-agent-profile", agentVm(agentInitrd()), system);
    auto qemu = newQemu(hcsd, {});
    if (qemu.size() != 1) throw std::runtime_error("cannot find the VM's QEMU process");
    // The producer, alone in the guest (into /dev/null), is the floor of every stream.
    std::string producer;
    for (auto& a : producerArgv(kStreamBytes))
        producer += (producer.empty() ? "" : " ") + a;
    std::printf("producer '%s' into /dev/null in the guest: %s", producer.c_str(),
                guestStderr(system.get(), "time " + producer + " >/dev/null").c_str());
    // The guest's counters go to stderr around the stream, which goes to stdout.
    std::string script = "a=$(pidof hcs-guest); head -n1 /proc/stat >&2; cat /proc/$a/stat >&2; " + producer +
                         "; head -n1 /proc/stat >&2; cat /proc/$a/stat >&2";
    for (int i = 0; i < rounds; ++i) {
        auto qemuBefore = threadCpu(qemu.front());
        auto hcsdBefore = threadCpu(hcsd.pid());
        auto selfBefore = threadCpu(getpid());
        uint64_t hcsdSwitches = contextSwitches(hcsd.pid());
        auto start = Clock::now();
        GuestProcess stream(
            system.get(),
            {{"CommandArgs", {"sh", "-c", script}}, {"CreateStdOutPipe", true}, {"CreateStdErrPipe", true}});
        std::string guestCounters;
        uint64_t bytes = drainBoth(stream.stdoutFd(), stream.stderrFd(), guestCounters);
        if (stream.waitExit() != 0 || bytes != kStreamBytes)
            throw std::runtime_error("the stream delivered " + std::to_string(bytes) + " bytes");
        double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        std::printf("stream %d: %.1f MB/s (%.2f s); hcsd %llu context switches\n", i + 1, bytes / kMiB / seconds,
                    seconds, static_cast<unsigned long long>(contextSwitches(hcsd.pid()) - hcsdSwitches));
        printCpuDelta("qemu", qemuBefore, threadCpu(qemu.front()), seconds);
        printCpuDelta("hcsd", hcsdBefore, threadCpu(hcsd.pid()), seconds);
        printCpuDelta("bench", selfBefore, threadCpu(getpid()), seconds);
        printGuestCounters(guestCounters);
    }
    profileExec(system.get(), 40);
    terminate(system);
    return 0;
}

}  // namespace hcs_bench
