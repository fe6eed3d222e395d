#include "run_image.h"

#include <sys/random.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "hcs_session.h"
#include "image_store.h"

namespace hcsctl {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int c_UsageExit = 2;

std::string randomId()
{
    unsigned char bytes[6] = {};
    if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) return "run-0";
    char hex[13];
    for (int i = 0; i < 6; ++i)
        std::snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
    return std::string("run-") + hex;
}

int fail(const std::string& what, HRESULT hr, const std::string& document)
{
    std::string message = errorMessageOf(document);
    std::cerr << "hcsctl: " << what << ": " << describeHresult(hr) << (message.empty() ? "" : ": ") << message
              << std::endl;
    return exitCodeFor(hr);
}

}  // namespace

bool parseRunArguments(const std::vector<std::string>& args, RunRequest& request, std::string& error)
{
    // hcsctl run's own options come first; exec's (-i -t -e -w -u) are parsed by parseExecArguments.
    std::vector<std::string> execArgs;
    size_t i = 0;
    auto value = [&](const std::string& name) -> const std::string* {
        if (i + 1 >= args.size()) {
            error = name + " needs a value";
            return nullptr;
        }
        return &args[++i];
    };
    for (; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--isolation") {
            const std::string* v = value(a);
            if (!v) return false;
            if (*v != "process" && *v != "hyperv") {
                error = "--isolation is process or hyperv, not \"" + *v + "\"";
                return false;
            }
            request.isolation = *v;
        } else if (a == "--name" || a == "--cache" || a == "--hostname") {
            const std::string* v = value(a);
            if (!v) return false;
            (a == "--name" ? request.id : a == "--cache" ? request.cache : request.hostName) = *v;
        } else if (a == "-m" || a == "--memory") {
            const std::string* v = value(a);
            if (!v) return false;
            char* end = nullptr;
            request.memoryMB = std::strtoull(v->c_str(), &end, 10);
            if (!end || *end || request.memoryMB == 0) {
                error = a + " takes a size in MB";
                return false;
            }
        } else if (a == "-v" || a == "--volume") {
            const std::string* v = value(a);
            if (!v) return false;
            request.volumes.push_back(*v);
        } else if (a == "--keep") {
            request.keep = true;
        } else if (a == "--net=host" || a == "--network=host") {
            request.hostNetwork = true;
        } else if (a == "-i" || a == "-t" || a == "-it" || a == "-ti") {
            execArgs.push_back(a);
        } else if (a == "-e" || a == "-w" || a == "-u") {
            const std::string* v = value(a);
            if (!v) return false;
            execArgs.push_back(a);
            execArgs.push_back(*v);
        } else if (!a.empty() && a[0] == '-') {
            error = "unknown option " + a;
            return false;
        } else {
            break;
        }
    }
    if (i >= args.size()) {
        error = "run needs an image tarball";
        return false;
    }
    request.image = args[i++];
    if (i < args.size() && args[i] == "--") ++i;
    std::vector<std::string> command(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
    // parseExecArguments wants SYSTEM [options] -- CMD: the system is filled in later.
    execArgs.insert(execArgs.begin(), "container");
    execArgs.push_back("--");
    execArgs.insert(execArgs.end(), command.begin(), command.end());
    if (command.empty()) execArgs.push_back("sh");  // a placeholder: the image's command replaces it
    if (!parseExecArguments(execArgs, request.exec, error)) return false;
    if (command.empty()) request.exec.command.clear();
    if (request.isolation == "hyperv") {
        error = "--isolation hyperv is not implemented yet (hypervisor-isolated containers)";
        return false;
    }
    return true;
}

std::string containerDocumentFor(const RunRequest& request, const std::vector<std::string>& layers,
                                 const std::string& scratch, std::string& error)
{
    json layerList = json::array();
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) {  // Layers[0] is the top-most
        layerList.push_back({{"Id", fs::path(*it).filename().string()}, {"Path", *it}});
    }
    json container = {{"Storage", {{"Layers", layerList}, {"Path", scratch}}}};
    json mapped = json::array();
    for (const auto& volume : request.volumes) {
        auto first = volume.find(':');
        if (first == std::string::npos) {
            error = "-v " + volume + ": expected HOST:CONTAINER[:ro]";
            return {};
        }
        std::string host = volume.substr(0, first), rest = volume.substr(first + 1);
        bool readOnly = false;
        if (auto second = rest.find(':'); second != std::string::npos) {
            if (rest.substr(second + 1) != "ro" && rest.substr(second + 1) != "rw") {
                error = "-v " + volume + ": the mode is ro or rw";
                return {};
            }
            readOnly = rest.substr(second + 1) == "ro";
            rest = rest.substr(0, second);
        }
        std::error_code ec;
        fs::path absolute = fs::absolute(host, ec);
        mapped.push_back({{"HostPath", absolute.string()}, {"ContainerPath", rest}, {"ReadOnly", readOnly}});
    }
    if (!mapped.empty()) container["MappedDirectories"] = mapped;
    if (request.memoryMB) container["Memory"] = {{"SizeInMB", request.memoryMB}};
    if (!request.hostName.empty()) container["HostName"] = request.hostName;
    if (request.hostNetwork) container["Networking"] = {{"Namespace", "host"}};
    return json{{"SchemaVersion", {{"Major", 2}, {"Minor", 1}}},
                {"Owner", "hcsctl run"},
                {"ShouldTerminateOnLastHandleClosed", !request.keep},
                {"Container", container}}
        .dump();
}

int runImage(const Options& options, RunRequest request)
{
    if (request.cache.empty()) request.cache = defaultImageCache();
    if (request.id.empty()) request.id = randomId();
    UnpackedImage image;
    std::string error;
    if (!unpackImage(request.image, request.cache, image, error)) {
        std::cerr << "hcsctl: run: " << error << std::endl;
        return 1;
    }
    ExecRequest& exec = request.exec;
    exec.system = request.id;
    if (exec.command.empty()) {
        exec.command = image.config.entrypoint;
        exec.command.insert(exec.command.end(), image.config.cmd.begin(), image.config.cmd.end());
        if (exec.command.empty()) {
            std::cerr << "hcsctl: run: the image names no command; give one after --" << std::endl;
            return c_UsageExit;
        }
    } else if (!image.config.entrypoint.empty()) {
        exec.command.insert(exec.command.begin(), image.config.entrypoint.begin(), image.config.entrypoint.end());
    }
    for (const auto& variable : image.config.env) {
        auto eq = variable.find('=');
        if (eq != std::string::npos) exec.environment.emplace(variable.substr(0, eq), variable.substr(eq + 1));
    }
    if (exec.workingDirectory.empty()) exec.workingDirectory = image.config.workingDir;
    if (exec.user.empty()) exec.user = image.config.user;

    const std::string scratch = request.cache + "/containers/" + request.id;
    std::error_code ec;
    fs::create_directories(scratch, ec);
    if (ec) {
        std::cerr << "hcsctl: run: cannot create " << scratch << ": " << ec.message() << std::endl;
        return 1;
    }
    auto removeScratch = [&] {
        if (!request.keep) fs::remove_all(scratch, ec);
    };
    std::string document = containerDocumentFor(request, image.layers, scratch, error);
    if (document.empty()) {
        removeScratch();
        std::cerr << "hcsctl: run: " << error << std::endl;
        return c_UsageExit;
    }
    auto wideId = hc::fromUtf8(request.id);
    auto wideDocument = hc::fromUtf8(document);
    if (!wideId || !wideDocument) {
        removeScratch();
        std::cerr << "hcsctl: run: the name or a path is not valid UTF-8" << std::endl;
        return c_UsageExit;
    }
    int code = 0;
    {
        // Held for the whole run: without --keep the container goes when this handle closes.
        SystemHandle system;
        CallOutcome created = runOperation(options.timeoutMs, [&](HCS_OPERATION operation) {
            return HcsCreateComputeSystem(wideId->c_str(), wideDocument->c_str(), operation, nullptr, system.put());
        });
        if (FAILED(created.hr)) {
            removeScratch();
            return fail("run: create " + request.id, created.hr, created.document);
        }
        CallOutcome started = runOperation(options.timeoutMs, [&](HCS_OPERATION operation) {
            return HcsStartComputeSystem(system.get(), operation, nullptr);
        });
        if (FAILED(started.hr)) {
            code = fail("run: start " + request.id, started.hr, started.document);
        } else {
            code = execProcess(options, exec);
        }
        if (!request.keep) {
            CallOutcome terminated = runOperation(options.timeoutMs, [&](HCS_OPERATION operation) {
                return HcsTerminateComputeSystem(system.get(), operation, nullptr);
            });
            (void)terminated;  // it may have stopped by itself already
        }
    }
    removeScratch();
    return code;
}

}  // namespace hcsctl
