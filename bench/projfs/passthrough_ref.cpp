// passthrough_ref SOURCE MOUNTPOINT — the reference point for the ProjFS benchmarks: a plain
// passthrough FUSE file system (libfuse high-level API, read-only, default kernel caching, no
// FUSE passthrough) serving SOURCE at MOUNTPOINT in the foreground until SIGTERM/SIGINT.
#define FUSE_USE_VERSION 31
#include <fuse.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "hostcompute_version.h"

namespace {

std::string g_source;

std::string sourcePath(const char* path)
{
    return g_source + path;
}

int refGetattr(const char* path, struct stat* st, fuse_file_info*)
{
    return lstat(sourcePath(path).c_str(), st) == 0 ? 0 : -errno;
}

int refReaddir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info*, fuse_readdir_flags)
{
    DIR* dir = opendir(sourcePath(path).c_str());
    if (!dir) return -errno;
    while (dirent* entry = readdir(dir))
        fill(buf, entry->d_name, nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
    closedir(dir);
    return 0;
}

int refOpen(const char* path, fuse_file_info* fi)
{
    int fd = open(sourcePath(path).c_str(), fi->flags);
    if (fd < 0) return -errno;
    fi->fh = static_cast<uint64_t>(fd);
    fi->keep_cache = 1;
    return 0;
}

int refRead(const char*, char* buf, size_t size, off_t offset, fuse_file_info* fi)
{
    ssize_t n = pread(static_cast<int>(fi->fh), buf, size, offset);
    return n < 0 ? -errno : static_cast<int>(n);
}

int refRelease(const char*, fuse_file_info* fi)
{
    close(static_cast<int>(fi->fh));
    return 0;
}

void* refInit(fuse_conn_info*, fuse_config* config)
{
    config->kernel_cache = 1;
    config->entry_timeout = 3600;
    config->attr_timeout = 3600;
    return nullptr;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
        std::printf("passthrough_ref (hostcompute) %s\n", HOSTCOMPUTE_VERSION);
        return 0;
    }
    if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        std::printf(
            "usage: %s SOURCE MOUNTPOINT\nMounts a read-only libfuse high-level mirror of SOURCE (projfs_bench's "
            "reference) until unmounted.\n",
            argv[0]);
        return 0;
    }
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s SOURCE MOUNTPOINT\n", argv[0]);
        return 2;
    }
    g_source = argv[1];
    fuse_operations ops = {};
    ops.getattr = refGetattr;
    ops.readdir = refReaddir;
    ops.open = refOpen;
    ops.read = refRead;
    ops.release = refRelease;
    ops.init = refInit;
    char* args[] = {
        argv[0], argv[2], const_cast<char*>("-f"), const_cast<char*>("-o"), const_cast<char*>("ro,default_permissions"),
        nullptr};
    return fuse_main(5, args, &ops, nullptr);
}
