// SCM_RIGHTS over a socketpair: descriptors arrive with the first byte of their line, in order, and
// every failure mode (would block, lost sync, flood) is reported instead of leaking or mismatching.
#include "hcs/ipc/descriptor_passing.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <string>

namespace hc::hcs {
namespace {

struct SocketPair {
    UniqueFd a, b;
    SocketPair()
    {
        int fds[2];
        EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        a.reset(fds[0]);
        b.reset(fds[1]);
    }
};

struct Pipe {
    UniqueFd read, write;
    Pipe()
    {
        int fds[2];
        EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
        read.reset(fds[0]);
        write.reset(fds[1]);
    }
};

ino_t inodeOf(int fd)
{
    struct stat st {};
    EXPECT_EQ(fstat(fd, &st), 0);
    return st.st_ino;
}

TEST(DescriptorPassing, DescriptorsArriveInOrderWithTheirLineAndAreCloseOnExec)
{
    SocketPair sockets;
    Pipe p1, p2, p3;
    std::array<int, 3> fds{p1.read.get(), p2.write.get(), p3.read.get()};
    ASSERT_TRUE(sendAllWithDescriptors(sockets.a.get(), "{\"fds\":3}\n", fds));

    DescriptorQueue queue;
    char buffer[4];  // smaller than the line: the descriptors must still come with the first read
    auto n = receiveWithDescriptors(sockets.b.get(), buffer, queue);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(std::string(buffer, *n), "{\"fd");
    ASSERT_EQ(queue.size(), 3u);
    auto taken = queue.take(3);
    ASSERT_TRUE(taken);
    EXPECT_EQ(inodeOf((*taken)[0].get()), inodeOf(p1.read.get()));
    EXPECT_EQ(inodeOf((*taken)[1].get()), inodeOf(p2.write.get()));
    EXPECT_EQ(inodeOf((*taken)[2].get()), inodeOf(p3.read.get()));
    EXPECT_EQ(fcntl((*taken)[0].get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

    // The received write end really is the pipe's: bytes written there come out of p2's read end.
    ASSERT_EQ(write((*taken)[1].get(), "x", 1), 1);
    char c = 0;
    ASSERT_EQ(read(p2.read.get(), &c, 1), 1);
    EXPECT_EQ(c, 'x');

    n = receiveWithDescriptors(sockets.b.get(), buffer, queue);
    ASSERT_TRUE(n);
    EXPECT_EQ(queue.size(), 0u);  // the rest of the line carries none
}

TEST(DescriptorPassing, TakingMoreThanArrivedIsLostSyncAndTakesNothing)
{
    DescriptorQueue queue;
    Pipe p;
    ASSERT_TRUE(queue.push(std::move(p.read)));
    auto taken = queue.take(2);
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error().hr, E_FAIL);
    EXPECT_NE(taken.error().message.find("2 descriptors but 1 arrived"), std::string::npos);
    EXPECT_EQ(queue.size(), 1u);
}

TEST(DescriptorPassing, APeerFloodingUnclaimedDescriptorsIsAnErrorAndNothingLeaks)
{
    SocketPair sockets;
    Pipe p;
    DescriptorQueue queue(4);
    std::array<int, 3> fds{p.read.get(), p.read.get(), p.read.get()};
    char buffer[1];
    ASSERT_TRUE(sendWithDescriptors(sockets.a.get(), "a", fds));
    ASSERT_TRUE(receiveWithDescriptors(sockets.b.get(), buffer, queue));
    ASSERT_TRUE(sendWithDescriptors(sockets.a.get(), "b", fds));
    auto n = receiveWithDescriptors(sockets.b.get(), buffer, queue);
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().message.find("unclaimed"), std::string::npos);
    EXPECT_EQ(queue.size(), 4u);  // the fifth and sixth were closed, not leaked or queued
}

TEST(DescriptorPassing, AFullSocketWouldBlockAndSendsNoDescriptor)
{
    SocketPair sockets;
    int size = 4096;
    setsockopt(sockets.a.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    std::string chunk(65536, 'z');
    for (int i = 0; i < 1000; ++i) {
        auto n = sendWithDescriptors(sockets.a.get(), chunk, {});
        if (!n) {
            EXPECT_TRUE(wouldBlock(n.error())) << n.error().message;
            break;
        }
    }
    Pipe p;
    std::array<int, 1> fds{p.read.get()};
    auto n = sendWithDescriptors(sockets.a.get(), "line\n", fds);
    ASSERT_FALSE(n);
    EXPECT_TRUE(wouldBlock(n.error()));

    // Drain: no descriptor was queued by the failed send.
    ASSERT_EQ(fcntl(sockets.b.get(), F_SETFL, O_NONBLOCK), 0);
    DescriptorQueue queue;
    std::array<char, 65536> buffer;
    for (;;) {
        auto r = receiveWithDescriptors(sockets.b.get(), buffer, queue);
        if (!r) {
            EXPECT_TRUE(wouldBlock(r.error()));
            break;
        }
    }
    EXPECT_EQ(queue.size(), 0u);
}

TEST(DescriptorPassing, BadArgumentsAreRefused)
{
    SocketPair sockets;
    Pipe p;
    std::array<int, 1> one{p.read.get()};
    auto empty = sendWithDescriptors(sockets.a.get(), "", one);
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().hr, E_INVALIDARG);
    std::array<int, kMaxDescriptorsPerMessage + 1> tooMany{};
    tooMany.fill(p.read.get());
    auto many = sendWithDescriptors(sockets.a.get(), "x", tooMany);
    ASSERT_FALSE(many);
    EXPECT_EQ(many.error().hr, E_INVALIDARG);
    EXPECT_FALSE(sendWithDescriptors(-1, "x", {}));
}

TEST(DescriptorPassing, OrderlyEndOfStreamReadsZero)
{
    SocketPair sockets;
    sockets.a.reset();
    DescriptorQueue queue;
    char buffer[8];
    auto n = receiveWithDescriptors(sockets.b.get(), buffer, queue);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0u);
}

}  // namespace
}  // namespace hc::hcs
