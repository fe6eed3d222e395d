// File descriptors across hcsd's Unix socket (SCM_RIGHTS): the stdio ends of a guest process travel from
// hcsd to the client with the reply that names them (protocol/messages.h, "Descriptors").
//
// Rule both sides follow: the descriptors of a line ride on the sendmsg() that carries the line's FIRST
// byte, so a reader has them queued by the time the line is complete. The reader keeps what arrives in a
// DescriptorQueue, in arrival order, and a reply that says "fds": N takes the first N.
//
// Every received descriptor is close-on-exec (MSG_CMSG_CLOEXEC). Control data the kernel had to cut
// (MSG_CTRUNC: more descriptors than the buffer holds, or the receiver's descriptor limit) is an error:
// the stream can no longer be matched to its descriptors.
#pragma once

#include <cstddef>
#include <deque>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace hc::hcs {

// Most descriptors one sendmsg carries (and one recvmsg accepts). A line needs at most 3.
constexpr size_t kMaxDescriptorsPerMessage = 8;

// One nonblocking-friendly send: writes a prefix of `bytes` (at least one byte unless it fails) with `fds`
// attached. Returns how many bytes went out; EAGAIN comes back as an error with errno EAGAIN in the
// message-less form `Error{HRESULT_FROM_WIN32(ERROR_IO_PENDING)}` so callers can retry the SAME call
// (the descriptors were not sent). Never raises SIGPIPE. E_INVALIDARG for an empty `bytes` or more than
// kMaxDescriptorsPerMessage descriptors.
Result<size_t> sendWithDescriptors(int socket, std::string_view bytes, std::span<const int> fds, bool dontWait = true);

// Blocking: writes all of `bytes`, `fds` attached to the first chunk. EINTR-safe.
Status sendAllWithDescriptors(int socket, std::string_view bytes, std::span<const int> fds);

// Descriptors received but not yet claimed by a line, oldest first. Bounded: more than `limit` queued is
// a protocol error (a peer sending descriptors no line claims).
class DescriptorQueue {
public:
    explicit DescriptorQueue(size_t limit = 64) : limit_(limit) {}
    Status push(UniqueFd fd);
    size_t size() const { return fds_.size(); }
    // The first `count`; E_FAIL (lost sync) when fewer are queued, and then nothing is taken.
    Result<std::vector<UniqueFd>> take(size_t count);
    void clear() { fds_.clear(); }

private:
    std::deque<UniqueFd> fds_;
    size_t limit_;
};

// One recv into `buffer`; descriptors that came with it are pushed onto `queue`. Returns the byte count
// (0 = orderly EOF). Nothing to read yet (EAGAIN) comes back as an Error that wouldBlock() recognises.
Result<size_t> receiveWithDescriptors(int socket, std::span<char> buffer, DescriptorQueue& queue);

// True when the call failed only because it would block (retry when the socket is ready).
bool wouldBlock(const Error& error);

}  // namespace hc::hcs
