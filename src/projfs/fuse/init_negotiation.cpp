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

bool processInitWithParallelDirops(fuse_session* session)
{
    fuse_buf request{};
    int received;
    do {
        received = fuse_session_receive_buf(session, &request);
    } while (received == -EINTR && !fuse_session_exited(session));
    if (received <= 0 || (request.flags & FUSE_BUF_IS_FD) != 0) {
        std::free(request.mem);
        return false;
    }
    const auto* header = static_cast<const fuse_in_header*>(request.mem);
    bool isInit = static_cast<size_t>(received) >= sizeof(fuse_in_header) + offsetof(fuse_init_in, flags) + sizeof(uint32_t) &&
                  header->opcode == FUSE_INIT;
    if (!isInit) {
        fuse_session_process_buf(session, &request);
        std::free(request.mem);
        return false;
    }
    const auto* in = reinterpret_cast<const fuse_init_in*>(header + 1);
    const bool offered = (in->flags & FUSE_PARALLEL_DIROPS) != 0;

    std::string reply;
    bool captured = captureReply(session, request, reply);
    std::free(request.mem);
    if (!captured) {
        HC_LOG(Warn, "projfs", "cannot capture the FUSE INIT reply; directory operations stay serialized");
        return false;
    }
    auto* out = reinterpret_cast<fuse_out_header*>(reply.data());
    const size_t flagsEnd = sizeof(fuse_out_header) + offsetof(fuse_init_out, flags) + sizeof(uint32_t);
    bool patched = false;
    if (offered && reply.size() >= flagsEnd && out->error == 0) {
        auto* init = reinterpret_cast<fuse_init_out*>(reply.data() + sizeof(fuse_out_header));
        init->flags |= FUSE_PARALLEL_DIROPS;
        patched = true;
    }
    if (::write(fuse_session_fd(session), reply.data(), reply.size()) != static_cast<ssize_t>(reply.size())) {
        HC_LOG(Error, "projfs", std::string("cannot send the FUSE INIT reply: ") + std::strerror(errno));
        fuse_session_exit(session);
        return false;
    }
    HC_LOG(Debug, "projfs", patched ? "FUSE INIT: parallel directory operations on"
                                    : "FUSE INIT: the kernel does not offer parallel directory operations");
    return patched;
}

}  // namespace hc::projfs
