#include "projfs/fuse/init_negotiation.h"

#include "base/log.h"

#include <fcntl.h>
#include <linux/fuse.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace hc::projfs {
namespace {

// FUSE_PASSTHROUGH is bit 37 of the 64-bit INIT flags, i.e. bit 5 of flags2 (Linux 6.9 UAPI).
constexpr uint32_t kPassthroughFlags2 = 1u << 5;

// The INIT reply's leading fields as kernels since 6.9 read them (Debian 12's <linux/fuse.h> predates
// max_stack_depth). libfuse 3.14 sends 64 bytes, so these are within its reply.
struct InitOut {
    uint32_t major, minor, maxReadahead, flags;
    uint16_t maxBackground, congestionThreshold;
    uint32_t maxWrite, timeGran;
    uint16_t maxPages, mapAlignment;
    uint32_t flags2, maxStackDepth;
};
static_assert(sizeof(InitOut) == 40);

// Runs libfuse's handling of `request` with the session's descriptor number temporarily pointing at a
// pipe, so the reply lands in `reply` instead of going to the kernel. Only the loop thread touches the
// descriptor at this point (no request can be read before INIT is answered).
bool captureReply(fuse_session* session, const fuse_buf& request, std::string& reply)
{
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC | O_NONBLOCK) != 0) return false;
    const int deviceFd = fuse_session_fd(session);
    const int saved = ::fcntl(deviceFd, F_DUPFD_CLOEXEC, 0);
    bool swapped = saved >= 0 && ::dup3(pipeFds[1], deviceFd, O_CLOEXEC) >= 0;
    if (swapped) fuse_session_process_buf(session, &request);
    if (swapped && ::dup3(saved, deviceFd, O_CLOEXEC) < 0) {
        // Cannot happen with valid descriptors; without /dev/fuse the session is unusable anyway.
        HC_LOG(Error, "projfs", std::string("cannot restore the FUSE descriptor: ") + std::strerror(errno));
    }
    if (saved >= 0) ::close(saved);
    ::close(pipeFds[1]);
    char chunk[4096];
    ssize_t n;
    while ((n = ::read(pipeFds[0], chunk, sizeof chunk)) > 0)
        reply.append(chunk, static_cast<size_t>(n));
    ::close(pipeFds[0]);
    return swapped;
}

}  // namespace

InitOutcome negotiateInit(fuse_session* session, bool wantPassthrough)
{
    fuse_buf request{};
    int received;
    do {
        received = fuse_session_receive_buf(session, &request);
    } while (received == -EINTR && !fuse_session_exited(session));
    if (received <= 0 || (request.flags & FUSE_BUF_IS_FD) != 0) {
        std::free(request.mem);
        return {};
    }
    const auto* header = static_cast<const fuse_in_header*>(request.mem);
    bool isInit =
        static_cast<size_t>(received) >= sizeof(fuse_in_header) + offsetof(fuse_init_in, flags) + sizeof(uint32_t) &&
        header->opcode == FUSE_INIT;
    if (!isInit) {
        fuse_session_process_buf(session, &request);
        std::free(request.mem);
        return {};
    }
    const auto* in = reinterpret_cast<const fuse_init_in*>(header + 1);
    const bool offeredParallel = (in->flags & FUSE_PARALLEL_DIROPS) != 0;
    const bool hasFlags2 = (in->flags & FUSE_INIT_EXT) != 0 &&
                           static_cast<size_t>(received) >= sizeof(fuse_in_header) + sizeof(fuse_init_in);
    const bool offeredPassthrough = hasFlags2 && (in->flags2 & kPassthroughFlags2) != 0;

    std::string reply;
    bool captured = captureReply(session, request, reply);
    std::free(request.mem);
    if (!captured) {
        HC_LOG(Warn, "projfs", "cannot capture the FUSE INIT reply; directory operations stay serialized");
        return {};
    }
    InitOutcome outcome;
    const auto* out = reinterpret_cast<const fuse_out_header*>(reply.data());
    auto* init = reinterpret_cast<InitOut*>(reply.data() + sizeof(fuse_out_header));
    const bool answered = out->error == 0 && reply.size() >= sizeof(fuse_out_header) + sizeof(InitOut);
    if (answered && offeredParallel) {
        init->flags |= FUSE_PARALLEL_DIROPS;
        outcome.parallelDirops = true;
    }
    // The kernel ignores flags2 unless FUSE_INIT_EXT is set (libfuse sets it when the kernel did), and
    // refuses passthrough together with the writeback cache (never asked for here).
    if (answered && wantPassthrough && offeredPassthrough && (init->flags & FUSE_INIT_EXT) != 0 &&
        (init->flags & FUSE_WRITEBACK_CACHE) == 0) {
        init->flags2 |= kPassthroughFlags2;
        init->maxStackDepth = 1;  // backing files sit on a plain file system; nothing may stack below us
        outcome.passthrough = true;
    }
    if (::write(fuse_session_fd(session), reply.data(), reply.size()) != static_cast<ssize_t>(reply.size())) {
        HC_LOG(Error, "projfs", std::string("cannot send the FUSE INIT reply: ") + std::strerror(errno));
        fuse_session_exit(session);
        return {};
    }
    HC_LOG(Debug, "projfs",
           std::string("FUSE INIT: parallel directory operations ") + (outcome.parallelDirops ? "on" : "off") +
               ", passthrough " + (outcome.passthrough ? "on" : "off"));
    return outcome;
}

}  // namespace hc::projfs
