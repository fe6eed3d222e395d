// Two serial ports carry data both ways (a ComPort as the guest's /dev/ttyS1 and a VirtioSerial port as
// /dev/virtio-ports/<name>; the guest side through the process API), and every official sample document in
// tests/data/hcs-samples creates on real QEMU once its host paths point at test files — or is refused
// exactly where expected-unsupported.json (and this host's missing /dev/vhost-vsock) say it must be.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "support/hcs_test_support.h"
#include "support/process_support.h"

namespace hcs_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr DWORD c_ProcessTimeoutMs = 120'000;

// The host end of a port: a connection to the Unix socket QEMU listens on.
class HostEnd {
public:
    explicit HostEnd(const std::string& path)
    {
        fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
        for (int i = 0; i < 100; ++i) {
            if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return;
            std::this_thread::sleep_for(50ms);
        }
        ADD_FAILURE() << "cannot connect to " << path;
    }
    ~HostEnd() { close(fd_); }
    void write(const std::string& text) { ASSERT_EQ(::write(fd_, text.data(), text.size()), ssize_t(text.size())); }
    // Reads until `text` has arrived (bounded).
    bool waitFor(const std::string& text, std::chrono::milliseconds timeout)
    {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (received_.find(text) == std::string::npos) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left <= 0ms) return false;
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char buffer[4096];
            ssize_t n = read(fd_, buffer, sizeof buffer);
            if (n <= 0) return false;
            received_.append(buffer, static_cast<size_t>(n));
        }
        return true;
    }
    const std::string& received() const { return received_; }

private:
    int fd_ = -1;
    std::string received_;
};

// A guest process; its stdout is read to EOF by `output()`.
struct GuestShell {
    HCS_PROCESS process = nullptr;
    HCS_PROCESS_INFORMATION info{};
    GuestShell(HCS_SYSTEM system, const std::string& script)
    {
        json parameters{{"CommandArgs", {"sh", "-c", script}}, {"CreateStdOutPipe", true}};
        HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
        HRESULT hr = HcsCreateProcess(system, wide(parameters.dump()).c_str(), op, nullptr, &process);
        PWSTR document = nullptr;
        if (SUCCEEDED(hr)) hr = HcsWaitForOperationResultAndProcessInfo(op, c_ProcessTimeoutMs, &info, &document);
        std::string error = hcsctl::takeResultString(document);
        HcsCloseOperation(op);
        EXPECT_EQ(hr, S_OK) << describe(hr) << " " << error;
    }
    ~GuestShell()
    {
        if (info.StdOutput) close(fdOf(info.StdOutput));
        if (process) HcsCloseProcess(process);
    }
    std::string output()
    {
        if (!info.StdOutput) return {};
        std::string out = readAll(fdOf(info.StdOutput));
        close(fdOf(info.StdOutput));
        info.StdOutput = nullptr;
        return out;
    }
};

TEST(SerialPorts, AComPortAndAVirtioSerialPortCarryDataBothWays)
{
    const std::string dir = freshTestDirectory();
    json document = json::parse(kernelDirectVm(HCS_AGENT_INITRD).configuration);
    auto& vm = document["VirtualMachine"];
    vm["GuestConnection"] = json::object();
    const std::string comSocket = dir + "/com2.sock", portSocket = dir + "/port.sock";
    vm["Devices"]["ComPorts"]["1"] = {{"NamedPipe", comSocket}};
    vm["Devices"]["VirtioSerial"] = {{"Ports", {{"0", {{"Name", "org.test.data"}, {"NamedPipe", portSocket}}}}}};
    SystemHandle system;
    CallOutcome created = createSystem(testSystemId(), document.dump(), system);
    ASSERT_EQ(created.hr, S_OK) << describe(created.hr) << " " << created.document;
    HostEnd com(comSocket), port(portSocket);
    CallOutcome started = start(system.get());
    ASSERT_EQ(started.hr, S_OK) << describe(started.hr) << " " << started.document;

    // The guest holds each port open (fd 3) from before it writes until it has read the host's line.
    {
        GuestShell guest(system.get(), "exec 3<>/dev/ttyS1; stty raw -echo <&3; echo from-guest-com >&3; head -n1 <&3");
        ASSERT_TRUE(com.waitFor("from-guest-com", 60s)) << "received: " << com.received();
        com.write("to-guest-com\n");
        EXPECT_EQ(guest.output(), "to-guest-com\n");
    }
    {
        GuestShell guest(system.get(),
                         "exec 3<>/dev/virtio-ports/org.test.data; echo from-guest-port >&3; head -n1 <&3");
        ASSERT_TRUE(port.waitFor("from-guest-port", 60s)) << "received: " << port.received();
        port.write("to-guest-port\n");
        EXPECT_EQ(guest.output(), "to-guest-port\n");
    }
    EXPECT_EQ(terminate(system.get()).hr, S_OK);
}

// Every string of the document that is a /srv/... path becomes a test file of the kind its field needs.
void pointAtTestFiles(json& value, const std::string& key, const std::string& dir)
{
    if (value.is_object()) {
        for (auto& [k, v] : value.items())
            pointAtTestFiles(v, k, dir);
        return;
    }
    if (value.is_array()) {
        for (auto& v : value)
            pointAtTestFiles(v, key, dir);
        return;
    }
    if (!value.is_string()) return;
    std::string text = value.get<std::string>();
    if (text.rfind("/srv/", 0) == 0) {
        std::string path = dir + text.substr(4);
        fs::create_directories(fs::path(path).parent_path());
        if (key == "KernelFilePath") {
            fs::copy_file(TestGuest::locate().kernel, path, fs::copy_options::overwrite_existing);
        } else if (key == "InitRdPath") {
            fs::copy_file(TestGuest::locate().initrdPoweroff, path, fs::copy_options::overwrite_existing);
        } else if (key == "GuestStateFilePath") {
            fs::remove(path);
            EXPECT_EQ(HcsCreateEmptyGuestStateFile(wide(path).c_str()), S_OK);
        } else if (key == "Path" && fs::path(path).has_extension()) {  // a disk image or an ISO
            std::string ext = fs::path(path).extension();
            std::string format = ext == ".vhdx" ? "vhdx" : ext == ".vhd" ? "vpc" : ext == ".qcow2" ? "qcow2" : "raw";
            std::string command = "qemu-img create -q -f " + format + " '" + path + "' 16M";
            EXPECT_EQ(std::system(command.c_str()), 0) << command;
        } else if (key == "Path") {  // a Plan9 share
            fs::create_directories(path);
        }
        value = path;
    } else if (key == "NamedPipe" && text.rfind("\\\\.\\pipe\\", 0) == 0) {
        // A socket in hcsd's private root: no collision with other runs, and short enough for sun_path.
        value = hcsd().root() + "/" + text.substr(9) + ".sock";
    }
}

TEST(Samples, EveryOfficialSampleCreatesOrIsRefusedWhereExpected)
{
    const std::string samples = std::string(HCS_TEST_SOURCE_DIR) + "/tests/data/hcs-samples";
    json expected = json::parse(std::ifstream(samples + "/expected-unsupported.json"));
    const bool hostHasVsock = access("/dev/vhost-vsock", F_OK) == 0;
    size_t tried = 0;
    for (const auto& entry : fs::directory_iterator(samples)) {
        const std::string name = entry.path().filename();
        if (entry.path().extension() != ".json" || name == "expected-unsupported.json") continue;
        SCOPED_TRACE(name);
        ++tried;
        ASSERT_TRUE(expected.contains(name)) << "expected-unsupported.json does not list " << name;
        const std::string dir = freshTestDirectory() + "/" + entry.path().stem().string();
        json document = json::parse(std::ifstream(entry.path()));
        pointAtTestFiles(document, "", dir);
        document["ShouldTerminateOnLastHandleClosed"] = true;
        SystemHandle system;
        CallOutcome created = createSystem(testSystemId(entry.path().stem()), document.dump(), system);
        const auto& refused = expected[name];
        const bool wantsVsock = document["VirtualMachine"]["Devices"].contains("HvSocket");
        if (!refused.empty()) {
            EXPECT_EQ(created.hr, E_NOTIMPL) << created.document;
            EXPECT_NE(created.document.find(refused[0].get<std::string>()), std::string::npos) << created.document;
        } else if (wantsVsock && !hostHasVsock) {
            EXPECT_EQ(created.hr, E_NOTIMPL) << created.document;
            EXPECT_NE(created.document.find("VirtualMachine.Devices.HvSocket"), std::string::npos);
            // Without the one device this host lacks, the document creates.
            document["VirtualMachine"]["Devices"].erase("HvSocket");
            SystemHandle again;
            CallOutcome retried =
                createSystem(testSystemId(entry.path().stem().string() + "-novsock"), document.dump(), again);
            EXPECT_EQ(retried.hr, S_OK) << describe(retried.hr) << " " << retried.document;
            if (SUCCEEDED(retried.hr)) {
                EXPECT_EQ(terminate(again.get()).hr, S_OK);
            }
        } else {
            EXPECT_EQ(created.hr, S_OK) << describe(created.hr) << " " << created.document;
            if (SUCCEEDED(created.hr)) {
                EXPECT_EQ(terminate(system.get()).hr, S_OK);
            }
        }
    }
    EXPECT_GE(tried, 5u);
}

}  // namespace
}  // namespace hcs_test
