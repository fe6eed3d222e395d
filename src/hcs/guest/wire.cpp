#include "hcs/guest/wire.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace hc::hcs::guest::wire {

namespace {

void storeLe16(char* p, uint16_t v)
{
    p[0] = static_cast<char>(v & 0xff);
    p[1] = static_cast<char>(v >> 8);
}

uint16_t loadLe16(const char* p)
{
    return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | (static_cast<uint8_t>(p[1]) << 8));
}

}  // namespace

void storeLe32(char* p, uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t loadLe32(const char* p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
    return v;
}

bool isKnownFrameType(uint16_t type)
{
    return (type >= 1 && type <= 8) || (type >= 16 && type <= 18) || (type >= 32 && type <= 34);
}

const char* frameTypeName(FrameType type)
{
    switch (type) {
        case FrameType::HelloRequest:
            return "HelloRequest";
        case FrameType::Hello:
            return "Hello";
        case FrameType::CreateProcess:
            return "CreateProcess";
        case FrameType::Signal:
            return "Signal";
        case FrameType::Resize:
            return "Resize";
        case FrameType::CloseStdin:
            return "CloseStdin";
        case FrameType::Reply:
            return "Reply";
        case FrameType::Exited:
            return "Exited";
        case FrameType::Stdin:
            return "Stdin";
        case FrameType::Stdout:
            return "Stdout";
        case FrameType::Stderr:
            return "Stderr";
        case FrameType::StdinCredit:
            return "StdinCredit";
        case FrameType::StdoutCredit:
            return "StdoutCredit";
        case FrameType::StderrCredit:
            return "StderrCredit";
    }
    return "unknown";
}

void storeHeader(char* out, FrameType type, uint32_t id, uint32_t length)
{
    storeLe32(out, kMagic);
    storeLe16(out + 4, static_cast<uint16_t>(type));
    storeLe16(out + 6, 0);
    storeLe32(out + 8, id);
    storeLe32(out + 12, length);
}

void appendFrame(std::string& out, FrameType type, uint32_t id, std::string_view payload)
{
    char header[kHeaderSize];
    storeHeader(header, type, id, static_cast<uint32_t>(payload.size()));
    out.append(header, kHeaderSize);
    out.append(payload);
}

std::string encodeCredit(uint32_t bytes)
{
    std::string payload(4, '\0');
    storeLe32(payload.data(), bytes);
    return payload;
}

std::optional<uint32_t> decodeCredit(std::string_view payload)
{
    if (payload.size() != 4) return std::nullopt;
    return loadLe32(payload.data());
}

void FrameDecoder::append(const char* data, size_t size)
{
    // Compact lazily: keep the copy cost proportional to what was consumed.
    if (offset_ > 0 && offset_ >= buffer_.size() / 2) {
        buffer_.erase(0, offset_);
        offset_ = 0;
    }
    buffer_.append(data, size);
}

FrameDecoder::Status FrameDecoder::next(Frame& frame)
{
    if (!error_.empty()) return Status::Error;
    size_t available = buffer_.size() - offset_;
    if (available < kHeaderSize) return Status::NeedMore;
    const char* p = buffer_.data() + offset_;
    uint32_t magic = loadLe32(p);
    uint16_t type = loadLe16(p + 4);
    uint16_t flags = loadLe16(p + 6);
    uint32_t id = loadLe32(p + 8);
    uint32_t length = loadLe32(p + 12);
    if (magic != kMagic) {
        char hex[16];
        std::snprintf(hex, sizeof hex, "%08x", magic);
        error_ = std::string("bad frame magic 0x") + hex + " (not a guest-agent frame)";
        return Status::Error;
    }
    if (!isKnownFrameType(type)) {
        error_ = "unknown frame type " + std::to_string(type);
        return Status::Error;
    }
    if (flags != 0) {
        error_ = "frame flags " + std::to_string(flags) + " are reserved and must be 0";
        return Status::Error;
    }
    if (length > maxPayload_) {
        error_ = std::string("frame ") + frameTypeName(static_cast<FrameType>(type)) + " announces " +
                 std::to_string(length) + " payload bytes, more than the limit of " + std::to_string(maxPayload_);
        return Status::Error;
    }
    if (available < kHeaderSize + length) return Status::NeedMore;
    frame.header = FrameHeader{static_cast<FrameType>(type), flags, id, length};
    frame.payload.assign(p + kHeaderSize, length);
    offset_ += kHeaderSize + length;
    return Status::Frame;
}

size_t FrameDecoder::skipToMagic()
{
    char magic[4];
    storeLe32(magic, kMagic);
    // The frame at offset_ is bad (that is why we are here): look for the next magic after its first byte.
    std::string_view rest(buffer_.data() + offset_, buffer_.size() - offset_);
    size_t at = rest.empty() ? std::string_view::npos : rest.find(std::string_view(magic, 4), 1);
    // Keep a possible partial magic at the end.
    size_t skip =
        at == std::string_view::npos ? (rest.size() > 3 ? rest.size() - 3 : std::min<size_t>(rest.size(), 1)) : at;
    offset_ += skip;
    error_.clear();
    return skip;
}

void FrameDecoder::reset()
{
    buffer_.clear();
    offset_ = 0;
    error_.clear();
}

}  // namespace hc::hcs::guest::wire
