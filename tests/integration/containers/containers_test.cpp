// Process-isolated containers end to end: hcsd as its own process, the real OCI runtime (runc), a
// busybox-static image layer built by the suite, the C API from this program (and hcsctl). Needs root
// (overlay mounts, namespaces, cgroups), like hcsd's containers themselves.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "support/child_process.h"
#include "support/hcs_test_support.h"
#include "support/process_support.h"
#include "support/test_process.h"

namespace hcs_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

void writeText(const std::string& path, const std::string& text)
{
    std::ofstream(path) << text;
}

// A read-only image layer: busybox-static and its applets, /etc/passwd; built once per suite.
std::string makeBusyboxLayer(const std::string& root)
{
    const std::string layer = root + "/layer-busybox";
    fs::create_directories(layer + "/bin");
    fs::create_directories(layer + "/etc");
    fs::create_directories(layer + "/tmp");
    fs::permissions(layer + "/tmp", fs::perms::all | fs::perms::sticky_bit);
    fs::copy_file("/bin/busybox", layer + "/bin/busybox");
    ProgramResult list = runProgram({"/bin/busybox", "--list"}, 30s);
    if (list.exitCode != 0) throw std::runtime_error("busybox --list failed: " + list.err);
    std::istringstream applets(list.out);
    for (std::string applet; std::getline(applets, applet);) {
        if (!applet.empty() && applet != "busybox") fs::create_symlink("busybox", layer + "/bin/" + applet);
    }
    writeText(layer + "/etc/passwd", "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n");
    writeText(layer + "/etc/group", "root:x:0:\nnogroup:x:65534:\n");
    writeText(layer + "/etc/marker", "from the image\n");
    return layer;
}

std::string sha256File(const std::string& path)
{
    ProgramResult sum = runProgram({"sha256sum", path}, 30s);
    if (sum.exitCode != 0) throw std::runtime_error("sha256sum failed: " + sum.err);
    return sum.out.substr(0, 64);
}

// Adds `text` to an OCI layout's blobs; returns its descriptor.
json addBlob(const std::string& layout, const std::string& file, const std::string& mediaType)
{
    std::string hex = sha256File(file);
    fs::create_directories(layout + "/blobs/sha256");
    fs::copy_file(file, layout + "/blobs/sha256/" + hex, fs::copy_options::overwrite_existing);
    return {{"mediaType", mediaType}, {"digest", "sha256:" + hex}, {"size", fs::file_size(file)}};
}

// An OCI image layout tarball: the busybox layer, then a layer that adds /etc/second and deletes
// /etc/marker (an OCI whiteout); its command prints $GREETING.
std::string makeImageTarball(const std::string& root, const std::string& busyboxLayer)
{
    const std::string layout = root + "/image-layout", work = root + "/image-work";
    fs::create_directories(layout);
    fs::create_directories(work + "/upper/etc");
    writeText(work + "/upper/etc/second", "second\n");
    writeText(work + "/upper/etc/.wh.marker", "");
    json layers = json::array();
    for (const std::string& dir : {busyboxLayer, work + "/upper"}) {
        const std::string tarball = work + "/layer" + std::to_string(layers.size()) + ".tar";
        ProgramResult tar = runProgram({"tar", "-C", dir, "-cf", tarball, "."}, 60s);
        if (tar.exitCode != 0) throw std::runtime_error("tar failed: " + tar.err);
        layers.push_back(addBlob(layout, tarball, "application/vnd.oci.image.layer.v1.tar"));
    }
    json config = {
        {"architecture", "amd64"},
        {"os", "linux"},
        {"config", {{"Env", {"PATH=/bin", "GREETING=hello"}}, {"Cmd", {"sh", "-c", "echo $GREETING from the image"}}}},
        {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}};
    writeText(work + "/config.json", config.dump());
    json manifest = {{"schemaVersion", 2},
                     {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                     {"config", addBlob(layout, work + "/config.json", "application/vnd.oci.image.config.v1+json")},
                     {"layers", layers}};
    writeText(work + "/manifest.json", manifest.dump());
    json index = {
        {"schemaVersion", 2},
        {"manifests", {addBlob(layout, work + "/manifest.json", "application/vnd.oci.image.manifest.v1+json")}}};
    writeText(layout + "/index.json", index.dump());
    writeText(layout + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    const std::string image = root + "/busybox-image.tar";
    ProgramResult tar = runProgram({"tar", "-C", layout, "-cf", image, "."}, 60s);
    if (tar.exitCode != 0) throw std::runtime_error("tar failed: " + tar.err);
    return image;
}

struct Mapping {
    std::string hostPath;
    std::string containerPath;
    bool readOnly = false;
};

// Runs `script` with sh -c to its end: {exit code, stdout}.
std::pair<int, std::string> run(HCS_SYSTEM system, const std::string& script)
{
    TestProcess p;
    createProcess(system, command({"sh", "-c", script}, false, true, false), p);
    EXPECT_EQ(p.hr, S_OK) << describe(p.hr) << " " << p.error;
    if (FAILED(p.hr)) return {-1, ""};
    std::string out = p.readStdOut();
    json status = p.waitForExit();
    return {status.value("ExitCode", -1), out};
}

std::string readText(const std::string& path)
{
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class Containers : public testing::Test {
protected:
    static void SetUpTestSuite()
    {
        ASSERT_EQ(geteuid(), 0u) << "process-isolated containers need root (hcsd mounts overlays, makes cgroups)";
        s_layer = makeBusyboxLayer(hcsd().root());
    }
    void TearDown() override
    {
        if (HasFailure()) std::cerr << "hcsd log:\n" << hcsd().log() << std::endl;
    }

    // A fresh scratch directory (and, by name, host directories) below the private hcsd's root.
    std::string directory(const std::string& name)
    {
        std::string path = hcsd().root() + "/" + testSystemId(name);
        fs::create_directories(path);
        return path;
    }

    json containerDocument(const std::vector<Mapping>& mappings = {}, json extra = json::object(),
                           bool terminateOnLastHandleClosed = true)
    {
        json container = {
            {"Storage",
             {{"Layers", json::array({{{"Id", "busybox"}, {"Path", s_layer}}})}, {"Path", directory("scratch")}}}};
        json mapped = json::array();
        for (const auto& m : mappings) {
            mapped.push_back({{"HostPath", m.hostPath}, {"ContainerPath", m.containerPath}, {"ReadOnly", m.readOnly}});
        }
        if (!mapped.empty()) container["MappedDirectories"] = mapped;
        container.update(extra);
        return {{"SchemaVersion", {{"Major", 2}, {"Minor", 1}}},
                {"Owner", "hcs-container-test"},
                {"ShouldTerminateOnLastHandleClosed", terminateOnLastHandleClosed},
                {"Container", container}};
    }

    // Creates and starts the container; fails the test when either fails.
    void startContainer(const std::string& id, const json& document, SystemHandle& system)
    {
        CallOutcome created = createSystem(id, document.dump(), system);
        ASSERT_EQ(created.hr, S_OK) << describe(created.hr) << " " << created.document;
        CallOutcome started = start(system.get());
        ASSERT_EQ(started.hr, S_OK) << describe(started.hr) << " " << started.document;
    }

    static std::string s_layer;
};

std::string Containers::s_layer;

TEST_F(Containers, EchoAndExitCodes)
{
    SystemHandle system;
    startContainer(testSystemId(), containerDocument({}, {{"HostName", "box1"}}), system);
    auto [code, out] = run(system.get(), "echo hello; hostname; cat /etc/marker; exit 7");
    EXPECT_EQ(code, 7);
    EXPECT_EQ(out, "hello\nbox1\nfrom the image\n");
    json props = properties(system.get());
    EXPECT_EQ(props["SystemType"], "Container");
    EXPECT_EQ(props["State"], "Running");
    // A signal's death is 128 + N, and says which signal.
    TestProcess killed;
    createProcess(system.get(), command({"sh", "-c", "kill -TERM $$"}), killed);
    ASSERT_EQ(killed.hr, S_OK) << killed.error;
    json status = killed.waitForExit();
    EXPECT_EQ(status["ExitCode"], 128 + SIGTERM) << status.dump();
    // A program the image does not have fails CreateProcess, it is not a process that exits 127.
    TestProcess missing;
    createProcess(system.get(), command({"no-such-program"}), missing);
    EXPECT_EQ(missing.hr, HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)) << describe(missing.hr) << " " << missing.error;
}

TEST_F(Containers, StdinToStdoutAndConsole)
{
    SystemHandle system;
    startContainer(testSystemId(), containerDocument(), system);
    TestProcess cat;
    createProcess(system.get(), command({"cat"}, true, true, true), cat);
    ASSERT_EQ(cat.hr, S_OK) << cat.error;
    const std::string text = "line one\nline two\n";
    ASSERT_EQ(write(fdOf(cat.info.StdInput), text.data(), text.size()), static_cast<ssize_t>(text.size()));
    cat.closeStdIn();
    EXPECT_EQ(cat.readStdOut(), text);
    EXPECT_EQ(cat.waitForExit()["ExitCode"], 0);

    json console = command({"sh", "-c", "tty; exit 4"}, false, true, false);
    console["EmulateConsole"] = true;
    TestProcess tty;
    createProcess(system.get(), console, tty);
    ASSERT_EQ(tty.hr, S_OK) << tty.error;
    EXPECT_NE(tty.readStdOut().find("/dev/pts/"), std::string::npos);
    EXPECT_EQ(tty.waitForExit()["ExitCode"], 4);
}

TEST_F(Containers, SignalAndOpenByPidFromAnotherClient)
{
    const std::string id = testSystemId();
    SystemHandle system;
    startContainer(id, containerDocument(), system);
    TestProcess sleeper;
    createProcess(system.get(), command({"sh", "-c", "read x; exit 5"}, true), sleeper);
    ASSERT_EQ(sleeper.hr, S_OK) << sleeper.error;
    ChildProcess::Options options;
    options.environment = {{"HCS_SOCKET", hcsd().socketPath()}};
    const std::string out = directory("waiter") + "/waiter.out";
    options.stdoutFile = out;
    ChildProcess waiter = ChildProcess::spawn(
        {buildDirectory() + "/tests/integration/hcs/hcs_it_process_waiter", id, std::to_string(sleeper.info.ProcessId)},
        options);
    for (int i = 0; i < 3000 && readText(out).find("opened") == std::string::npos; ++i)
        std::this_thread::sleep_for(10ms);
    ASSERT_NE(readText(out).find("opened"), std::string::npos) << readText(out);
    ASSERT_EQ(write(fdOf(sleeper.info.StdInput), "go\n", 3), 3);
    auto status = waiter.wait(60s);
    ASSERT_TRUE(status);
    EXPECT_EQ(WEXITSTATUS(*status), 0) << readText(out);
    EXPECT_EQ(json::parse(readText(out).substr(readText(out).find('{')))["ExitCode"], 5);

    TestProcess signalled;
    createProcess(system.get(), command({"sleep", "1000"}), signalled);
    ASSERT_EQ(signalled.hr, S_OK) << signalled.error;
    HCS_OPERATION op = HcsCreateOperation(nullptr, nullptr);
    ASSERT_EQ(HcsSignalProcess(signalled.process, op, LR"({"Signal":15})"), S_OK);
    PWSTR result = nullptr;
    EXPECT_EQ(HcsWaitForOperationResult(op, c_ProcessTimeoutMs, &result), S_OK) << hcsctl::takeResultString(result);
    HcsCloseOperation(op);
    EXPECT_EQ(signalled.waitForExit()["ExitCode"], 128 + SIGTERM);
}

TEST_F(Containers, MappedDirectoriesHonourReadOnlyAndShowWrites)
{
    const std::string ro = directory("ro"), rw = directory("rw");
    writeText(ro + "/given", "read me\n");
    SystemHandle system;
    startContainer(testSystemId(), containerDocument({{ro, "/ro", true}, {rw, "/data/rw", false}}), system);
    auto [readCode, readOut] = run(system.get(), "cat /ro/given");
    EXPECT_EQ(readCode, 0);
    EXPECT_EQ(readOut, "read me\n");
    auto [writeCode, writeOut] = run(system.get(), "echo nope > /ro/new 2>/dev/null && echo wrote; rm /ro/given");
    EXPECT_NE(writeCode, 0);
    EXPECT_EQ(writeOut, "");
    EXPECT_FALSE(fs::exists(ro + "/new"));
    EXPECT_EQ(readText(ro + "/given"), "read me\n");
    auto [rwCode, rwOut] = run(system.get(), "echo from the container > /data/rw/out; mkdir /data/rw/sub");
    EXPECT_EQ(rwCode, 0);
    EXPECT_EQ(readText(rw + "/out"), "from the container\n");
    EXPECT_TRUE(fs::is_directory(rw + "/sub"));
    // The container's own writes land in the scratch layer, never in the image layer.
    auto [scratchCode, scratchOut] = run(system.get(), "echo changed > /etc/marker; cat /etc/marker");
    EXPECT_EQ(scratchCode, 0);
    EXPECT_EQ(scratchOut, "changed\n");
    EXPECT_EQ(readText(s_layer + "/etc/marker"), "from the image\n");
}

TEST_F(Containers, SymlinkInMappedDirectoryCannotReachOutside)
{
    const std::string secretDir = directory("secret"), shared = directory("shared");
    writeText(secretDir + "/secret", "host secret\n");
    fs::create_symlink(secretDir + "/secret", shared + "/absolute");
    std::string relative = "../../../../../../../../.." + secretDir + "/secret";
    fs::create_symlink(relative, shared + "/relative");
    SystemHandle system;
    startContainer(testSystemId(), containerDocument({{shared, "/shared", false}}), system);
    auto [code, out] =
        run(system.get(), "cat /shared/absolute /shared/relative 2>/dev/null; echo x > /shared/absolute; true");
    EXPECT_EQ(code, 0);
    EXPECT_EQ(out.find("host secret"), std::string::npos) << out;
    EXPECT_EQ(readText(secretDir + "/secret"), "host secret\n");  // nor written through
    // hcsd's own state (and socket) cannot be mapped in.
    SystemHandle refused;
    CallOutcome created =
        createSystem(testSystemId("private"), containerDocument({{hcsd().root(), "/hcsd", true}}).dump(), refused);
    EXPECT_EQ(created.hr, E_ACCESSDENIED) << describe(created.hr) << " " << created.document;
    EXPECT_NE(created.document.find("MappedDirectories[0].HostPath"), std::string::npos) << created.document;
}

TEST_F(Containers, MemoryLimitKillsProcessOverIt)
{
    SystemHandle system;
    startContainer(testSystemId(), containerDocument({}, {{"Memory", {{"SizeInMB", 32}}}}), system);
    // dd allocates its block size: 128 MiB does not fit in 32 MB.
    TestProcess hog;
    createProcess(system.get(), command({"dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=4"}), hog);
    ASSERT_EQ(hog.hr, S_OK) << hog.error;
    json status = hog.waitForExit();
    EXPECT_EQ(status["ExitCode"], 128 + SIGKILL) << status.dump();
    json stats = properties(system.get(), R"({"PropertyTypes":["Statistics"]})");
    EXPECT_GE(stats["Statistics"]["Memory"].value("OomKillCount", 0), 1) << stats.dump();
    // The container itself lives on: a small process still runs.
    EXPECT_EQ(run(system.get(), "echo alive").second, "alive\n");
}

TEST_F(Containers, PauseStopsCountingProcessAndResumeContinues)
{
    const std::string shared = directory("counter");
    SystemHandle system;
    startContainer(testSystemId(), containerDocument({{shared, "/c", false}}), system);
    TestProcess counter;
    createProcess(system.get(),
                  command({"sh", "-c",
                           "i=0; while true; do i=$((i+1)); echo $i > /c/n.tmp; mv /c/n.tmp /c/n; "
                           "sleep 0.02; done"},
                          false, false, false),
                  counter);
    ASSERT_EQ(counter.hr, S_OK) << counter.error;
    auto value = [&] { return std::atol(readText(shared + "/n").c_str()); };
    for (int i = 0; i < 2000 && value() < 3; ++i)
        std::this_thread::sleep_for(10ms);
    ASSERT_GE(value(), 3);
    CallOutcome paused = pause(system.get());
    ASSERT_EQ(paused.hr, S_OK) << paused.document;
    EXPECT_EQ(properties(system.get())["State"], "Paused");
    long frozen = value();
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(value(), frozen);
    CallOutcome resumed = resume(system.get());
    ASSERT_EQ(resumed.hr, S_OK) << resumed.document;
    for (int i = 0; i < 2000 && value() <= frozen + 2; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_GT(value(), frozen + 2);
}

TEST_F(Containers, TerminateEndsEveryProcess)
{
    SystemHandle system;
    startContainer(testSystemId(), containerDocument(), system);
    json props = properties(system.get());
    const std::string containerId = "hcs-" + props["RuntimeId"].get<std::string>();
    ExitRecorder exits;
    std::vector<std::unique_ptr<TestProcess>> sleepers;
    for (int i = 0; i < 3; ++i) {
        sleepers.push_back(std::make_unique<TestProcess>());
        createProcess(system.get(), command({"sleep", "1000"}), *sleepers.back());
        ASSERT_EQ(sleepers.back()->hr, S_OK) << sleepers.back()->error;
        ASSERT_EQ(HcsSetProcessCallback(sleepers.back()->process, HcsEventOptionNone, &exits, ExitRecorder::callback),
                  S_OK);
    }
    // A background process the agent did not start, too.
    EXPECT_EQ(run(system.get(), "sleep 1000 >/dev/null 2>&1 &").first, 0);
    EXPECT_EQ(properties(system.get(), R"({"PropertyTypes":["ProcessList"]})")["ProcessList"].size(), 3u);
    CallOutcome terminated = terminate(system.get());
    ASSERT_EQ(terminated.hr, S_OK) << terminated.document;
    EXPECT_TRUE(exits.waitFor(3, 30s));
    EXPECT_EQ(properties(system.get())["State"], "Stopped");
    // Nothing of the container is left: its cgroup (so no process), its root file system mount.
    EXPECT_FALSE(fs::exists("/sys/fs/cgroup/pids/hostcompute/" + containerId) ||
                 fs::exists("/sys/fs/cgroup/hostcompute/" + containerId));
    EXPECT_EQ(readText("/proc/self/mountinfo").find(containerId), std::string::npos);
}

TEST_F(Containers, HcsctlRunImageTarball)
{
    const std::string image = makeImageTarball(directory("image"), s_layer);
    const std::string cache = directory("cache");
    auto hcsctl = [&](std::vector<std::string> args) {
        std::vector<std::string> argv = {buildDirectory() + "/tools/hcsctl/hcsctl"};
        argv.insert(argv.end(), args.begin(), args.end());
        ChildProcess::Options options;
        options.environment = {{"HCS_SOCKET", hcsd().socketPath()}};
        return runProgram(argv, 120s, options);
    };
    ProgramResult first = hcsctl({"run", "--cache", cache, image});
    EXPECT_EQ(first.exitCode, 0) << first.err;
    EXPECT_EQ(first.out, "hello from the image\n");
    ProgramResult second = hcsctl({"run", "--cache", cache, "--name", testSystemId("named"), image, "--", "sh", "-c",
                                   "cat /etc/second; test -e /etc/marker || echo whited out; exit 6"});
    EXPECT_EQ(second.exitCode, 6) << second.err;
    EXPECT_EQ(second.out, "second\nwhited out\n");
    // Two content-addressed layers, made once and reused; no container or scratch layer is left.
    size_t layers = 0;
    for (const auto& entry : fs::directory_iterator(cache + "/layers")) {
        EXPECT_EQ(entry.path().filename().string().rfind("sha256-", 0), 0u) << entry.path();
        ++layers;
    }
    EXPECT_EQ(layers, 2u);
    EXPECT_TRUE(fs::is_empty(cache + "/containers"));
    ProgramResult list = hcsctl({"--compact", "list", R"({"Owners":["hcsctl run"]})"});
    EXPECT_EQ(list.exitCode, 0) << list.err;
    EXPECT_EQ(list.out, "[]\n");
    // The layer under the whiteout is untouched.
    EXPECT_EQ(readText(s_layer + "/etc/marker"), "from the image\n");
}

TEST_F(Containers, HcsdKilledWithTwoContainersRunningReadoptsBoth)
{
    const std::string first = testSystemId("1"), second = testSystemId("2");
    {
        SystemHandle a, b;
        startContainer(first, containerDocument({}, json::object(), false), a);
        startContainer(second, containerDocument({}, json::object(), false), b);
        TestProcess stuck;
        createProcess(b.get(), command({"sleep", "1000"}), stuck);
        ASSERT_EQ(stuck.hr, S_OK) << stuck.error;
        hcsd().kill(SIGKILL);
        ASSERT_TRUE(hcsd().process().wait(10s));
    }
    hcsd().restart();
    for (const std::string& id : {first, second}) {
        SystemHandle system;
        CallOutcome opened = hcsctl::openSystem(wide(id), system);
        ASSERT_EQ(opened.hr, S_OK) << id << ": " << describe(opened.hr) << "\n" << hcsd().log();
        EXPECT_EQ(properties(system.get())["State"], "Running");
        auto [code, out] = run(system.get(), "echo still here");
        EXPECT_EQ(code, 0);
        EXPECT_EQ(out, "still here\n");
        // The process the previous hcsd started died with its connection (as in a VM): none is left.
        auto [psCode, sleepers] = run(system.get(), "ps -o args | grep -c '^sleep 1000'");
        EXPECT_EQ(sleepers, "0\n");
        CallOutcome terminated = terminate(system.get());
        EXPECT_EQ(terminated.hr, S_OK) << terminated.document;
    }
}

}  // namespace
}  // namespace hcs_test
