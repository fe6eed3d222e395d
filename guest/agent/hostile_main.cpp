// hcs-guest-hostile MODE: a deliberately broken agent for the host's trust-boundary tests. It opens the
// agent's port like hcs-guest and then misbehaves:
//   garbage    random bytes, never a frame
//   oversized  a valid Hello, then a Stdout header announcing a 1 GiB payload
//   hang       a valid Hello, then reads everything and never answers
//   flood      a valid Hello, then the same Hello again and again, as fast as the port takes it
//   credit     a valid Hello, answers CreateProcess, then sends stdout beyond the granted window
//   silent     opens the port and never writes (createProcess must time out)
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "hcs/guest/control_messages.h"
#include "hcs/guest/guest_channel.h"
#include "hcs/guest/wire.h"

using namespace hc::hcs::guest;

namespace {

void writeAll(int fd, const std::string& data)
{
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = write(fd, data.data() + off, data.size() - off);
        if (n > 0) {
            off += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) return;
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, 100);
    }
}

std::string helloFrame()
{
    wire::Hello hello;
    hello.agentVersion = "hostile";
    hello.capabilities = {"exec"};
    hello.session = "hostile" + std::to_string(getpid());
    std::string frame;
    wire::appendFrame(frame, wire::FrameType::Hello, 0, wire::encode(hello));
    return frame;
}

// Waits until the host is connected (the port stops reporting HUP).
void waitForHost(int fd)
{
    for (;;) {
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, 100) > 0 && !(p.revents & POLLHUP) && (p.revents & POLLOUT)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

void drain(int fd)
{
    char buffer[4096];
    while (read(fd, buffer, sizeof buffer) > 0) {
    }
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: hcs-guest-hostile garbage|oversized|hang|flood|credit|silent [PORT]\n");
        return 2;
    }
    std::string mode = argv[1];
    std::string path = argc > 2 ? argv[2] : std::string("/dev/virtio-ports/") + kAgentPortName;
    signal(SIGPIPE, SIG_IGN);
    int fd = -1;
    while ((fd = open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) < 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::fprintf(stderr, "hcs-guest-hostile: mode %s on %s\n", mode.c_str(), path.c_str());
    waitForHost(fd);
    if (mode == "silent") {
        for (;;) {
            drain(fd);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    if (mode == "garbage") {
        std::string noise(4096, '\0');
        uint32_t x = 0x12345678;
        for (;;) {
            for (auto& c : noise) {
                x = x * 1103515245 + 12345;
                c = static_cast<char>(x >> 16);
            }
            writeAll(fd, noise);
            drain(fd);
        }
    }
    writeAll(fd, helloFrame());
    if (mode == "oversized") {
        std::string header(wire::kHeaderSize, '\0');
        wire::storeLe32(header.data(), wire::kMagic);
        header[4] = static_cast<char>(wire::FrameType::Stdout);
        wire::storeLe32(header.data() + 8, 1);
        wire::storeLe32(header.data() + 12, 1u << 30);
        writeAll(fd, header);
        for (;;) {
            writeAll(fd, std::string(65536, 'x'));
            drain(fd);
        }
    }
    if (mode == "flood") {
        std::string hello = helloFrame();
        for (;;) {
            writeAll(fd, hello);
            drain(fd);
        }
    }
    // hang and credit read frames; hang never answers, credit answers CreateProcess and overruns the window.
    wire::FrameDecoder decoder;
    char buffer[65536];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        poll(&p, 1, 1000);
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n <= 0) continue;
        decoder.append(buffer, static_cast<size_t>(n));
        wire::Frame frame;
        for (;;) {
            auto status = decoder.next(frame);
            if (status == wire::FrameDecoder::Status::NeedMore) break;
            if (status == wire::FrameDecoder::Status::Error) {  // requests sent before the port was open
                decoder.skipToMagic();
                continue;
            }
            if (mode == "hang") continue;
            if (frame.header.type == wire::FrameType::HelloRequest) writeAll(fd, helloFrame());
            if (frame.header.type != wire::FrameType::CreateProcess) continue;
            auto request = wire::decodeCreateProcess(frame.payload);
            if (!request) continue;
            std::string out;
            wire::Reply reply{request->req, 0, {}, 4242};
            wire::appendFrame(out, wire::FrameType::Reply, frame.header.id, wire::encode(reply));
            std::string chunk(wire::kMaxPayload, 'y');
            for (uint32_t sent = 0; sent < 2 * wire::kStreamWindow; sent += wire::kMaxPayload)
                wire::appendFrame(out, wire::FrameType::Stdout, frame.header.id, chunk);
            writeAll(fd, out);
        }
    }
}
