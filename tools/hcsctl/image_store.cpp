#include "image_store.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

extern char** environ;

namespace hcsctl {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* c_WhiteoutPrefix = ".wh.";
constexpr const char* c_OpaqueMarker = ".wh..wh..opq";

// Runs a helper program (tar, sha256sum) with stdout captured; false with `error` on failure.
bool runTool(const std::vector<std::string>& argv, std::string& out, std::string& error)
{
    int pipeFds[2];
    if (pipe2(pipeFds, O_CLOEXEC) != 0) {
        error = std::string("pipe: ") + std::strerror(errno);
        return false;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(pipeFds[1]);
    if (spawned != 0) {
        close(pipeFds[0]);
        error = argv[0] + ": " + std::strerror(spawned);
        return false;
    }
    char buffer[4096];
    ssize_t n;
    while ((n = read(pipeFds[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0) out.append(buffer, static_cast<size_t>(n));
    }
    close(pipeFds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        error = argv[0] + " failed (" + argv.back() + ")";
        return false;
    }
    return true;
}

bool readJson(const std::string& path, json& value, std::string& error)
{
    std::ifstream in(path);
    if (!in) {
        error = "the image has no " + fs::path(path).filename().string();
        return false;
    }
    value = json::parse(in, nullptr, false);
    if (value.is_discarded()) {
        error = path + " is not JSON";
        return false;
    }
    return true;
}

// "sha256:<hex>" -> blobs/sha256/<hex> inside an OCI layout; "" when malformed.
std::string blobPath(const std::string& root, const std::string& digest)
{
    auto colon = digest.find(':');
    if (colon == std::string::npos || digest.find('/') != std::string::npos || digest.find("..") != std::string::npos) {
        return {};
    }
    return root + "/blobs/" + digest.substr(0, colon) + "/" + digest.substr(colon + 1);
}

bool sha256Of(const std::string& path, std::string& hex, std::string& error)
{
    std::string out;
    if (!runTool({"sha256sum", path}, out, error)) return false;
    hex = out.substr(0, out.find(' '));
    if (hex.size() != 64) {
        error = "sha256sum gave no digest for " + path;
        return false;
    }
    return true;
}

// OCI whiteouts -> overlayfs whiteouts, in place.
bool convertWhiteouts(const std::string& directory, std::string& error)
{
    std::vector<fs::path> whiteouts;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(directory, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (name.rfind(c_WhiteoutPrefix, 0) == 0) whiteouts.push_back(it->path());
    }
    if (ec) {
        error = "cannot walk " + directory + ": " + ec.message();
        return false;
    }
    for (const auto& path : whiteouts) {
        std::string name = path.filename().string();
        fs::remove(path, ec);
        if (name == c_OpaqueMarker) {
            if (setxattr(path.parent_path().c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
                error = "cannot mark " + path.parent_path().string() + " opaque: " + std::strerror(errno);
                return false;
            }
            continue;
        }
        fs::path hidden = path.parent_path() / name.substr(std::strlen(c_WhiteoutPrefix));
        fs::remove_all(hidden, ec);
        if (mknod(hidden.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
            error = "cannot make the whiteout " + hidden.string() + ": " + std::strerror(errno);
            return false;
        }
    }
    return true;
}

// The layer directory for `blob` (a tar, maybe compressed), extracted unless the cache has it.
bool layerDirectory(const std::string& blob, const std::string& expectedHex, const std::string& cache,
                    std::string& directory, std::string& error)
{
    std::string hex;
    if (!sha256Of(blob, hex, error)) return false;
    if (!expectedHex.empty() && hex != expectedHex) {
        error = "layer " + blob + " does not match its digest sha256:" + expectedHex;
        return false;
    }
    directory = cache + "/layers/sha256-" + hex;
    if (fs::is_directory(directory)) return true;
    std::string work = cache + "/layers/.extract-XXXXXX";
    if (!mkdtemp(work.data())) {
        error = "mkdtemp in " + cache + "/layers: " + std::strerror(errno);
        return false;
    }
    std::string ignored;
    if (!runTool({"tar", "-x", "--numeric-owner", "-f", blob, "-C", work}, ignored, error) ||
        !convertWhiteouts(work, error)) {
        fs::remove_all(work);
        return false;
    }
    chmod(work.c_str(), 0755);
    if (rename(work.c_str(), directory.c_str()) != 0) {
        fs::remove_all(work);
        if (fs::is_directory(directory)) return true;  // another unpack made it meanwhile
        error = "cannot rename the layer into " + directory + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

std::vector<std::string> stringsOf(const json& config, const char* name)
{
    std::vector<std::string> list;
    if (config.contains(name) && config[name].is_array()) {
        for (const auto& item : config[name])
            if (item.is_string()) list.push_back(item.get<std::string>());
    }
    return list;
}

ImageConfig configOf(const json& document)
{
    ImageConfig c;
    const json& config = document.contains("config") && document["config"].is_object() ? document["config"] : document;
    c.entrypoint = stringsOf(config, "Entrypoint");
    c.cmd = stringsOf(config, "Cmd");
    c.env = stringsOf(config, "Env");
    if (config.contains("WorkingDir") && config["WorkingDir"].is_string()) c.workingDir = config["WorkingDir"];
    if (config.contains("User") && config["User"].is_string()) c.user = config["User"];
    return c;
}

bool unpackOci(const std::string& root, const std::string& cache, UnpackedImage& image, std::string& error)
{
    json index;
    if (!readJson(root + "/index.json", index, error)) return false;
    if (!index.contains("manifests") || !index["manifests"].is_array() || index["manifests"].empty()) {
        error = "index.json lists no manifest";
        return false;
    }
    json manifest;
    if (!readJson(blobPath(root, index["manifests"][0].value("digest", "")), manifest, error)) return false;
    if (manifest.contains("manifests") && manifest["manifests"].is_array() && !manifest["manifests"].empty()) {
        std::string digest = manifest["manifests"][0].value("digest", "");  // an image index: its first image
        if (!readJson(blobPath(root, digest), manifest, error)) return false;
    }
    json config;
    if (!manifest.contains("config") ||
        !readJson(blobPath(root, manifest["config"].value("digest", "")), config, error)) {
        if (error.empty()) error = "the manifest has no config";
        return false;
    }
    image.config = configOf(config);
    if (!manifest.contains("layers") || !manifest["layers"].is_array()) {
        error = "the manifest has no layers";
        return false;
    }
    for (const auto& layer : manifest["layers"]) {
        std::string digest = layer.value("digest", "");
        std::string path = blobPath(root, digest);
        if (path.empty() || digest.rfind("sha256:", 0) != 0) {
            error = "layer digest \"" + digest + "\" is not sha256:<hex>";
            return false;
        }
        std::string directory;
        if (!layerDirectory(path, digest.substr(7), cache, directory, error)) return false;
        image.layers.push_back(directory);
    }
    return true;
}

bool unpackDockerArchive(const std::string& root, const std::string& cache, UnpackedImage& image, std::string& error)
{
    json manifest;
    if (!readJson(root + "/manifest.json", manifest, error)) return false;
    if (!manifest.is_array() || manifest.empty() || !manifest[0].is_object()) {
        error = "manifest.json lists no image";
        return false;
    }
    auto inside = [&](const json& value) -> std::string {
        std::string relative = value.is_string() ? value.get<std::string>() : "";
        if (relative.empty() || relative[0] == '/' || relative.find("..") != std::string::npos) return {};
        return root + "/" + relative;
    };
    json config;
    std::string configPath = inside(manifest[0].value("Config", json()));
    if (configPath.empty() || !readJson(configPath, config, error)) {
        if (error.empty()) error = "manifest.json names no Config";
        return false;
    }
    image.config = configOf(config);
    for (const auto& layer : manifest[0].value("Layers", json::array())) {
        std::string path = inside(layer);
        if (path.empty()) {
            error = "manifest.json names a layer outside the archive";
            return false;
        }
        std::string directory;
        if (!layerDirectory(path, "", cache, directory, error)) return false;
        image.layers.push_back(directory);
    }
    return true;
}

}  // namespace

std::string defaultImageCache()
{
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/hostcompute";
    if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/hostcompute";
    return "/var/tmp/hostcompute-" + std::to_string(getuid());
}

bool unpackImage(const std::string& tarball, const std::string& cache, UnpackedImage& image, std::string& error)
{
    std::error_code ec;
    fs::create_directories(cache + "/layers", ec);
    if (ec) {
        error = "cannot create " + cache + "/layers: " + ec.message();
        return false;
    }
    std::string work = cache + "/tmp-XXXXXX";
    if (!mkdtemp(work.data())) {
        error = "mkdtemp in " + cache + ": " + std::strerror(errno);
        return false;
    }
    std::string ignored;
    bool ok = runTool({"tar", "-x", "-f", tarball, "-C", work}, ignored, error);
    if (ok) {
        if (fs::exists(work + "/index.json")) {
            ok = unpackOci(work, cache, image, error);
        } else if (fs::exists(work + "/manifest.json")) {
            ok = unpackDockerArchive(work, cache, image, error);
        } else {
            error = tarball + " is neither an OCI image layout (index.json) nor a docker archive (manifest.json)";
            ok = false;
        }
    }
    fs::remove_all(work, ec);
    if (ok && image.layers.empty()) {
        error = "the image has no layers";
        ok = false;
    }
    return ok;
}

}  // namespace hcsctl
