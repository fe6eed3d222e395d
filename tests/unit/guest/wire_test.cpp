// Framing and control messages: round trips, and a decoder that refuses what an untrusted agent may send.
#include <gtest/gtest.h>

#include "hcs/guest/control_messages.h"
#include "hcs/guest/wire.h"

namespace wire = hc::hcs::guest::wire;
using Status = wire::FrameDecoder::Status;

TEST(GuestWire, HeaderBytesAreLittleEndianAndDocumented)
{
    std::string out;
    wire::appendFrame(out, wire::FrameType::Stdout, 0x01020304, "hi");
    ASSERT_EQ(out.size(), wire::kHeaderSize + 2);
    const unsigned char expected[] = {'H', 'C', 'G', 'A', 17, 0, 0, 0, 4, 3, 2, 1, 2, 0, 0, 0, 'h', 'i'};
    EXPECT_EQ(out, std::string(reinterpret_cast<const char*>(expected), sizeof expected));
}

TEST(GuestWire, RoundTripByteByByte)
{
    std::string stream;
    wire::appendFrame(stream, wire::FrameType::Hello, 0, "{}");
    wire::appendFrame(stream, wire::FrameType::Stdin, 7, std::string(1000, 'x'));
    wire::appendFrame(stream, wire::FrameType::Stdout, 7, "");
    wire::FrameDecoder decoder;
    std::vector<wire::Frame> frames;
    wire::Frame frame;
    for (char c : stream) {
        decoder.append(&c, 1);
        Status s;
        while ((s = decoder.next(frame)) == Status::Frame)
            frames.push_back(frame);
        ASSERT_NE(s, Status::Error) << decoder.error();
    }
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(frames[0].header.type, wire::FrameType::Hello);
    EXPECT_EQ(frames[0].payload, "{}");
    EXPECT_EQ(frames[1].header.id, 7u);
    EXPECT_EQ(frames[1].payload.size(), 1000u);
    EXPECT_EQ(frames[2].header.type, wire::FrameType::Stdout);
    EXPECT_TRUE(frames[2].payload.empty());
    EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(GuestWire, TruncatedFrameWaitsForMore)
{
    std::string stream;
    wire::appendFrame(stream, wire::FrameType::Stdout, 1, "abcdef");
    wire::FrameDecoder decoder;
    decoder.append(stream.data(), stream.size() - 1);
    wire::Frame frame;
    EXPECT_EQ(decoder.next(frame), Status::NeedMore);
    decoder.append(stream.data() + stream.size() - 1, 1);
    EXPECT_EQ(decoder.next(frame), Status::Frame);
    EXPECT_EQ(frame.payload, "abcdef");
}

TEST(GuestWire, OversizedFrameIsAnErrorBeforeItsPayloadArrives)
{
    std::string header(wire::kHeaderSize, '\0');
    wire::storeLe32(header.data(), wire::kMagic);
    header[4] = static_cast<char>(wire::FrameType::Stdout);
    wire::storeLe32(header.data() + 12, 1u << 30);
    wire::FrameDecoder decoder;
    decoder.append(header.data(), header.size());
    wire::Frame frame;
    EXPECT_EQ(decoder.next(frame), Status::Error);
    EXPECT_NE(decoder.error().find("limit"), std::string::npos) << decoder.error();
    EXPECT_EQ(decoder.next(frame), Status::Error);  // stays in error
}

TEST(GuestWire, GarbageUnknownTypeAndFlagsAreErrors)
{
    wire::Frame frame;
    {
        wire::FrameDecoder decoder;
        std::string garbage(64, '\x5a');
        decoder.append(garbage.data(), garbage.size());
        EXPECT_EQ(decoder.next(frame), Status::Error);
        EXPECT_NE(decoder.error().find("magic"), std::string::npos);
    }
    {
        std::string out;
        wire::appendFrame(out, wire::FrameType::Stdout, 1, "");
        out[4] = 99;
        wire::FrameDecoder decoder;
        decoder.append(out.data(), out.size());
        EXPECT_EQ(decoder.next(frame), Status::Error);
        EXPECT_NE(decoder.error().find("unknown frame type 99"), std::string::npos);
    }
    {
        std::string out;
        wire::appendFrame(out, wire::FrameType::Stdout, 1, "");
        out[6] = 1;
        wire::FrameDecoder decoder;
        decoder.append(out.data(), out.size());
        EXPECT_EQ(decoder.next(frame), Status::Error);
        EXPECT_NE(decoder.error().find("flags"), std::string::npos);
    }
}

TEST(GuestWire, SkipToMagicResynchronizes)
{
    std::string stream = "junk-before-the-frame";
    wire::appendFrame(stream, wire::FrameType::Hello, 0, "{}");
    wire::FrameDecoder decoder;
    decoder.append(stream.data(), stream.size());
    wire::Frame frame;
    EXPECT_EQ(decoder.next(frame), Status::Error);
    EXPECT_EQ(decoder.skipToMagic(), 21u);
    EXPECT_EQ(decoder.next(frame), Status::Frame);
    EXPECT_EQ(frame.header.type, wire::FrameType::Hello);
}

TEST(GuestWire, CreditPayload)
{
    EXPECT_EQ(wire::decodeCredit(wire::encodeCredit(123456)), 123456u);
    EXPECT_FALSE(wire::decodeCredit("abc"));
    EXPECT_FALSE(wire::decodeCredit("abcde"));
}

TEST(GuestControlMessages, RoundTrips)
{
    wire::CreateProcessRequest create;
    create.req = 9;
    create.argv = {"/bin/sh", "-c", "echo \"hi\""};
    create.workingDirectory = "/tmp";
    create.environment = {{"PATH", "/bin"}, {"A", "b=c"}};
    create.user = "1000:1000";
    create.console = true;
    create.rows = 30;
    create.columns = 100;
    create.stdinPipe = true;
    create.stdoutPipe = true;
    auto decoded = wire::decodeCreateProcess(wire::encode(create));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(decoded->req, 9u);
    EXPECT_EQ(decoded->argv, create.argv);
    EXPECT_EQ(decoded->environment, create.environment);
    EXPECT_EQ(decoded->user, "1000:1000");
    EXPECT_TRUE(decoded->console);
    EXPECT_EQ(decoded->rows, 30);
    EXPECT_EQ(decoded->columns, 100);
    EXPECT_TRUE(decoded->stdinPipe);
    EXPECT_TRUE(decoded->stdoutPipe);
    EXPECT_FALSE(decoded->stderrPipe);

    wire::Hello hello{1, "0.1.0", {"exec", "pty"}, "abcd"};
    auto h = wire::decodeHello(wire::encode(hello));
    ASSERT_TRUE(h);
    EXPECT_EQ(h->capabilities, hello.capabilities);
    EXPECT_EQ(h->session, "abcd");

    wire::ExitedMessage exited{128 + 9, 9};
    auto e = wire::decodeExited(wire::encode(exited));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->exitCode, 137);
    EXPECT_EQ(e->signal, 9);
    auto plain = wire::decodeExited(wire::encode(wire::ExitedMessage{3, std::nullopt}));
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->signal);

    wire::Reply reply{5, static_cast<int32_t>(0x80070002), "not found", 0};
    auto r = wire::decodeReply(wire::encode(reply));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->hr, static_cast<int32_t>(0x80070002));
    EXPECT_EQ(r->message, "not found");
}

TEST(GuestControlMessages, ErrorsNameTheField)
{
    auto missing = wire::decodeReply(R"({"hr":0})");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("Reply.req"), std::string::npos) << missing.error().message;
    auto wrongType = wire::decodeCreateProcess(R"({"req":1,"argv":"ls"})");
    ASSERT_FALSE(wrongType);
    EXPECT_NE(wrongType.error().message.find("CreateProcess.argv"), std::string::npos);
    auto range = wire::decodeResize(R"({"req":1,"rows":70000,"columns":1})");
    ASSERT_FALSE(range);
    EXPECT_NE(range.error().message.find("Resize.rows"), std::string::npos);
    auto env = wire::decodeCreateProcess(R"({"req":1,"argv":["a"],"environment":[["A"]]})");
    ASSERT_FALSE(env);
    EXPECT_NE(env.error().message.find("CreateProcess.environment"), std::string::npos);
    EXPECT_FALSE(wire::decodeHello("not json"));
    EXPECT_FALSE(wire::decodeHello("[1,2]"));
    EXPECT_FALSE(wire::decodeHello(R"({"protocolVersion":1,"agentVersion":"x","capabilities":[],"session":""})"));
}

TEST(GuestControlMessages, OptionalFieldsOfANewerPeerAreIgnored)
{
    // docs/guest-agent.md: optional fields may be added within a protocol version; an older decoder
    // reads what it knows.
    auto signal = wire::decodeSignal(R"({"req":1,"signal":9,"reason":"user pressed Ctrl-C"})");
    ASSERT_TRUE(signal) << signal.error().message;
    EXPECT_EQ(signal->signal, 9);
}

TEST(GuestControlMessages, DeepNestingIsRefusedBeforeParsing)
{
    std::string deep(60000, '[');
    auto r = wire::decodeReply(deep);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("deeper than the limit"), std::string::npos);
    // Brackets inside strings do not count.
    auto ok = wire::decodeReply(R"({"req":1,"hr":0,"message":"[[[[[[[[[[{{{{{{"})");
    EXPECT_TRUE(ok);
}

TEST(GuestWire, SkipToMagicMovesPastABadFrameThatStartsWithTheMagic)
{
    std::string stream;
    wire::appendFrame(stream, wire::FrameType::Stdout, 1, "");
    stream[4] = 99;  // valid magic, unknown type
    wire::appendFrame(stream, wire::FrameType::Hello, 0, "{}");
    wire::FrameDecoder decoder;
    decoder.append(stream.data(), stream.size());
    wire::Frame frame;
    int rounds = 0;
    while (decoder.next(frame) == Status::Error && rounds++ < 5)
        EXPECT_GT(decoder.skipToMagic(), 0u);
    EXPECT_EQ(frame.header.type, wire::FrameType::Hello);
    EXPECT_EQ(rounds, 1);
}
