#include "hcs/ipc/descriptor_passing.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "base/hresult.h"

namespace hc::hcs {
namespace {

constexpr HRESULT kWouldBlock = HRESULT_FROM_WIN32(ERROR_IO_PENDING);

// Room for kMaxDescriptorsPerMessage descriptors, aligned as cmsghdr requires.
union ControlBuffer {
    char bytes[CMSG_SPACE(sizeof(int) * kMaxDescriptorsPerMessage)];
    cmsghdr align;
};

}  // namespace

bool wouldBlock(const Error& error)
{
    return error.hr == kWouldBlock;
}

Result<size_t> sendWithDescriptors(int socket, std::string_view bytes, std::span<const int> fds, bool dontWait)
{
    if (bytes.empty()) return makeError(E_INVALIDARG, "descriptors need at least one byte to ride on");
    if (fds.size() > kMaxDescriptorsPerMessage) {
        return makeError(E_INVALIDARG, "at most " + std::to_string(kMaxDescriptorsPerMessage) +
                                           " descriptors per message, not " + std::to_string(fds.size()));
    }
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ControlBuffer control{};
    if (!fds.empty()) {
        msg.msg_control = control.bytes;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr* header = CMSG_FIRSTHDR(&msg);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
    }
    const int flags = MSG_NOSIGNAL | (dontWait ? MSG_DONTWAIT : 0);
    for (;;) {
        ssize_t n = ::sendmsg(socket, &msg, flags);
        if (n >= 0) return static_cast<size_t>(n);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return makeError(kWouldBlock, "socket full");
        return lastErrnoError("sendmsg");
    }
}

Status sendAllWithDescriptors(int socket, std::string_view bytes, std::span<const int> fds)
{
    size_t sent = 0;
    while (sent < bytes.size()) {
        // Descriptors go with the first chunk only; later chunks are plain bytes.
        auto n = sendWithDescriptors(socket, bytes.substr(sent), sent == 0 ? fds : std::span<const int>{}, false);
        if (!n) return n.error();
        sent += *n;
    }
    return {};
}

Status DescriptorQueue::push(UniqueFd fd)
{
    if (fds_.size() >= limit_) {
        return makeError(E_FAIL, "peer sent more than " + std::to_string(limit_) + " unclaimed descriptors");
    }
    fds_.push_back(std::move(fd));
    return {};
}

Result<std::vector<UniqueFd>> DescriptorQueue::take(size_t count)
{
    if (fds_.size() < count) {
        return makeError(E_FAIL, "a line names " + std::to_string(count) + " descriptors but " +
                                     std::to_string(fds_.size()) + " arrived");
    }
    std::vector<UniqueFd> taken;
    taken.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        taken.push_back(std::move(fds_.front()));
        fds_.pop_front();
    }
    return taken;
}

Result<size_t> receiveWithDescriptors(int socket, std::span<char> buffer, DescriptorQueue& queue)
{
    iovec iov{buffer.data(), buffer.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ControlBuffer control{};
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof control.bytes;
    ssize_t n;
    for (;;) {
        n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
        if (n >= 0) break;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return makeError(kWouldBlock, "nothing to read");
        return lastErrnoError("recvmsg");
    }
    // Take ownership of everything that arrived before judging it, so nothing leaks on an error.
    Status status;
    for (cmsghdr* header = CMSG_FIRSTHDR(&msg); header != nullptr; header = CMSG_NXTHDR(&msg, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof fd);
            UniqueFd owned(fd);
            if (status) status = queue.push(std::move(owned));
        }
    }
    if ((msg.msg_flags & MSG_CTRUNC) != 0 && status) {
        status = makeError(E_FAIL, "descriptors were cut off in transit (too many, or the descriptor limit)");
    }
    if (!status) return status.error();
    return static_cast<size_t>(n);
}

}  // namespace hc::hcs
