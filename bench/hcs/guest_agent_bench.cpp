#include "guest_agent_bench.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
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

// The agent guest's initrd with the qemu-ga overlay appended (the kernel unpacks both archives).
std::string makeBenchInitrd(const std::string& directory)
{
    const char* fromEnvironment = std::getenv("HCS_AGENT_INITRD");
    std::string agentInitrd =
        fromEnvironment != nullptr ? fromEnvironment : hcs_test::buildDirectory() + "/guest/initrd-agent.gz";
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
    GuestProcess stream(system, {{"CommandArgs", {"head", "-c", std::to_string(kStreamBytes), "/dev/zero"}},
                                 {"CreateStdOutPipe", true}});
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
        json status = qemuGaRun(agent, "/bin/head", {"-c", std::to_string(kQemuGaChunkBytes), "/dev/zero"}, true);
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
        "64 MiB of stdout, median of 3 alternating runs: hcs-guest pipe vs qemu-ga captured output "
        "(4 x 16 MiB, base64)\n");
    printComparison("throughput", median(ourStreams), median(referenceStreams), "MB/s");
    return 0;
}

}  // namespace hcs_bench
