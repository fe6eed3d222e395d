// A stand-in for hcsd that the client library's autostart runs (HCSD_PATH) in the launcher tests: it
// records what it inherited, then behaves like hcsd's two halves — the foreground half exits 0 once the
// daemon half listens — or fails as $FAKE_HCSD_EXIT says. The daemon half writes its pid next to the
// socket and stays until the test kills it (or 60 s pass).
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv)
{
    std::string socketPath;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--socket") == 0) socketPath = argv[i + 1];
    }
    if (socketPath.empty()) return 2;
    if (const char* code = std::getenv("FAKE_HCSD_EXIT")) return std::atoi(code);

    // "<fd> <target>" for every descriptor held at exec (the listing's own descriptor excluded).
    std::string inherited;
    DIR* fds = opendir("/proc/self/fd");
    if (fds == nullptr) return 3;
    while (dirent* entry = readdir(fds)) {
        if (entry->d_name[0] == '.' || std::atoi(entry->d_name) == dirfd(fds)) continue;
        char target[4096] = {};
        std::string link = std::string("/proc/self/fd/") + entry->d_name;
        if (readlink(link.c_str(), target, sizeof target - 1) < 0) continue;
        inherited += std::string(entry->d_name) + " " + target + "\n";
    }
    closedir(fds);
    FILE* out = std::fopen((socketPath + ".inherited").c_str(), "we");
    if (out == nullptr) return 4;
    std::fputs(inherited.c_str(), out);
    std::fclose(out);

    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) return 5;
    pid_t daemon = fork();
    if (daemon < 0) return 6;
    if (daemon > 0) {
        close(ready[1]);
        char ok = 0;
        return read(ready[0], &ok, 1) == 1 ? 0 : 7;
    }
    close(ready[0]);
    setsid();
    alarm(60);  // never outlives a test that forgot it
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socketPath.c_str());
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 8) != 0) _exit(8);
    FILE* pidFile = std::fopen((socketPath + ".pid").c_str(), "we");
    if (pidFile == nullptr) _exit(9);
    std::fprintf(pidFile, "%d\n", static_cast<int>(getpid()));
    std::fclose(pidFile);
    char ok = 0;
    if (write(ready[1], &ok, 1) != 1) _exit(10);
    close(ready[1]);
    for (;;)
        pause();
}
