#include "sluice/rtp/RtpWriter.hpp"

#include <cstring>

namespace sluice::rtp {

namespace {

constexpr size_t kOsnSize = 2;

// Which outgoing ids are already used, without touching the heap.
class IdSet {
public:
  bool Test(uint8_t id) const { return (words_[id >> 6] >> (id & 63)) & 1; }
  void Insert(uint8_t id) { words_[id >> 6] |= uint64_t{1} << (id & 63); }

private:
  uint64_t words_[4] = {};
};

// The fixed-header values that differ between a plain send and an RTX send.
struct HeaderFields {
  uint32_t ssrc;
  uint16_t sequenceNumber;
  uint8_t payloadType;
};

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void Put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

size_t Fail(WriteError* why, WriteError reason) {
  if (why)
    *why = reason;
  return 0;
}

bool ExtrasValid(const RtpRewrite& rw) {
  if (rw.extraCount != 0 && rw.extra == nullptr)
    return false;
  IdSet seen;
  for (size_t i = 0; i < rw.extraCount; ++i) {
    const HeaderExtension& e = rw.extra[i];
    if (e.id == 0 || seen.Test(e.id) || e.value.size > 255 ||
        (e.value.size != 0 && e.value.data == nullptr))
      return false;
    seen.Insert(e.id);
  }
  return true;
}

// Calls fn(id, value) for every element that goes out, in output order:
// mapped incoming elements (first occurrence of each outgoing id, ids taken by
// an extra skipped), then the extras. Called twice (plan, then write); it is
// deterministic, so both passes see the same sequence.
template <typename Fn> void ForEachOutgoing(const RtpPacket& in, const RtpRewrite& rw, Fn&& fn) {
  IdSet taken;
  for (size_t i = 0; i < rw.extraCount; ++i)
    taken.Insert(rw.extra[i].id);
  if (rw.idMap) {
    ExtensionIterator it = in.Extensions();
    HeaderExtension ext;
    while (it.Next(&ext)) {
      const uint8_t outId = rw.idMap->Get(ext.id);
      if (outId == 0 || taken.Test(outId))
        continue;
      taken.Insert(outId);
      fn(outId, ext.value);
    }
  }
  for (size_t i = 0; i < rw.extraCount; ++i)
    fn(rw.extra[i].id, rw.extra[i].value);
}

struct ExtensionPlan {
  bool oneByte = true;
  size_t elements = 0;
  size_t bodySize = 0; // element bytes before rounding up to 32 bits
  // Whole block on the wire: profile/length word + body padded to 4 bytes.
  size_t BlockSize() const { return elements == 0 ? 0 : 4 + ((bodySize + 3) & ~size_t{3}); }
};

ExtensionPlan PlanExtensions(const RtpPacket& in, const RtpRewrite& rw) {
  ExtensionPlan plan;
  size_t oneByteSize = 0;
  size_t twoByteSize = 0;
  ForEachOutgoing(in, rw, [&](uint8_t id, ByteView value) {
    ++plan.elements;
    // One-byte form: ids 1..14, values 1..16 bytes (RFC 8285 §4.2).
    if (id > 14 || value.size == 0 || value.size > 16)
      plan.oneByte = false;
    oneByteSize += 1 + value.size;
    twoByteSize += 2 + value.size;
  });
  plan.bodySize = plan.oneByte ? oneByteSize : twoByteSize;
  return plan;
}

// Writes the extension block planned above at `out` (exactly BlockSize()).
void WriteExtensions(const RtpPacket& in, const RtpRewrite& rw, const ExtensionPlan& plan,
                     uint8_t* out) {
  const size_t block = plan.BlockSize();
  Put16(out, plan.oneByte ? RtpPacket::kOneByteProfile : RtpPacket::kTwoByteProfile);
  Put16(out + 2, static_cast<uint16_t>((block - 4) / 4));
  size_t pos = 4;
  ForEachOutgoing(in, rw, [&](uint8_t id, ByteView value) {
    if (plan.oneByte) {
      out[pos++] = static_cast<uint8_t>(id << 4 | (value.size - 1));
    } else {
      out[pos++] = id;
      out[pos++] = static_cast<uint8_t>(value.size);
    }
    if (value.size != 0)
      std::memcpy(out + pos, value.data, value.size);
    pos += value.size;
  });
  // Trailing zero bytes are padding in both forms.
  std::memset(out + pos, 0, block - pos);
}

// Writes the RTP header for one consumer; `tail` more bytes (OSN, payload) must
// also fit in `cap`, so a too-small buffer is rejected before any byte is written.
size_t WriteHeaderImpl(const RtpPacket& in, const RtpRewrite& rw, const HeaderFields& f,
                       size_t tail, uint8_t* out, size_t cap, WriteError* why) {
  if (f.payloadType > 127)
    return Fail(why, WriteError::BadPayloadType);
  if (!ExtrasValid(rw))
    return Fail(why, WriteError::BadExtension);
  const ExtensionPlan plan = PlanExtensions(in, rw);
  if (plan.BlockSize() > 4 + 4 * size_t{0xFFFF}) // length field counts 32-bit words
    return Fail(why, WriteError::BadExtension);
  const size_t csrcBytes = 4 * in.CsrcCount();
  const size_t header = RtpPacket::kFixedHeaderSize + csrcBytes + plan.BlockSize();
  if (header + tail > RtpPacket::kMaxPacketSize)
    return Fail(why, WriteError::TooLong);
  if (out == nullptr || cap < header || cap - header < tail)
    return Fail(why, WriteError::BufferTooSmall);

  bool marker = in.Marker();
  if (rw.marker == MarkerRewrite::Set)
    marker = true;
  else if (rw.marker == MarkerRewrite::Clear)
    marker = false;

  // V=2, P=0 (padding is dropped), X if any element goes out, CC copied.
  out[0] = static_cast<uint8_t>(0x80 | (plan.elements ? 0x10 : 0) | in.CsrcCount());
  out[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | f.payloadType);
  Put16(out + 2, f.sequenceNumber);
  Put32(out + 4, rw.timestamp);
  Put32(out + 8, f.ssrc);
  if (csrcBytes != 0)
    std::memcpy(out + RtpPacket::kFixedHeaderSize, in.Csrcs().data, csrcBytes);
  if (plan.elements)
    WriteExtensions(in, rw, plan, out + RtpPacket::kFixedHeaderSize + csrcBytes);
  return header;
}

} // namespace

ExtensionIdMap ExtensionIdMap::Identity() {
  ExtensionIdMap map;
  for (size_t id = 0; id < 256; ++id)
    map.map_[id] = static_cast<uint8_t>(id);
  return map;
}

size_t RtpWriter::WriteHeader(const RtpPacket& in, const RtpRewrite& rw, uint8_t* out, size_t cap,
                              WriteError* why) {
  const HeaderFields f{rw.ssrc, rw.sequenceNumber, rw.payloadType};
  return WriteHeaderImpl(in, rw, f, 0, out, cap, why);
}

size_t RtpWriter::Write(const RtpPacket& in, const RtpRewrite& rw, uint8_t* out, size_t cap,
                        WriteError* why) {
  const HeaderFields f{rw.ssrc, rw.sequenceNumber, rw.payloadType};
  const size_t payload = in.PayloadSize();
  const size_t header = WriteHeaderImpl(in, rw, f, payload, out, cap, why);
  if (header == 0)
    return 0;
  if (payload != 0)
    std::memcpy(out + header, in.Payload(), payload);
  return header + payload;
}

size_t RtpWriter::WriteRtxHeader(const RtpPacket& in, const RtpRewrite& rw, const RtxRewrite& rtx,
                                 uint8_t* out, size_t cap, WriteError* why) {
  const HeaderFields f{rtx.ssrc, rtx.sequenceNumber, rtx.payloadType};
  const size_t header = WriteHeaderImpl(in, rw, f, kOsnSize, out, cap, why);
  if (header == 0)
    return 0;
  Put16(out + header, rw.sequenceNumber);
  return header + kOsnSize;
}

// RFC 4588 §4:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                         RTP Header                            |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |            OSN                |                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
//   |                  Original RTP Packet Payload                  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// The RTX timestamp is the original's; SSRC, PT and sequence number belong to
// the retransmission stream.
size_t RtpWriter::WriteRtx(const RtpPacket& in, const RtpRewrite& rw, const RtxRewrite& rtx,
                           uint8_t* out, size_t cap, WriteError* why) {
  const HeaderFields f{rtx.ssrc, rtx.sequenceNumber, rtx.payloadType};
  const size_t payload = in.PayloadSize();
  const size_t header = WriteHeaderImpl(in, rw, f, kOsnSize + payload, out, cap, why);
  if (header == 0)
    return 0;
  Put16(out + header, rw.sequenceNumber);
  if (payload != 0)
    std::memcpy(out + header + kOsnSize, in.Payload(), payload);
  return header + kOsnSize + payload;
}

std::optional<RtxPayload> RtpWriter::ParseRtx(const RtpPacket& rtx) {
  if (rtx.PayloadSize() < kOsnSize)
    return std::nullopt;
  RtxPayload result;
  result.originalSequenceNumber = RtpPacket::Read16(rtx.Payload());
  result.payload = {rtx.Payload() + kOsnSize, rtx.PayloadSize() - kOsnSize};
  return result;
}

size_t RtpWriter::RtxDecapsulate(const RtpPacket& rtx, uint32_t mediaSsrc, uint8_t mediaPayloadType,
                                 uint8_t* out, size_t cap, WriteError* why) {
  const std::optional<RtxPayload> rtxPayload = ParseRtx(rtx);
  if (!rtxPayload)
    return Fail(why, WriteError::MissingOsn);
  if (mediaPayloadType > 127)
    return Fail(why, WriteError::BadPayloadType);
  const size_t header = rtx.HeaderSize();
  const size_t payload = rtxPayload->payload.size;
  if (out == nullptr || cap < header || cap - header < payload)
    return Fail(why, WriteError::BufferTooSmall);
  std::memcpy(out, rtx.Data(), header);
  out[0] &= static_cast<uint8_t>(~0x20); // padding is not copied
  out[1] = static_cast<uint8_t>((out[1] & 0x80) | mediaPayloadType);
  Put16(out + 2, rtxPayload->originalSequenceNumber);
  Put32(out + 8, mediaSsrc);
  if (payload != 0)
    std::memcpy(out + header, rtxPayload->payload.data, payload);
  return header + payload;
}

} // namespace sluice::rtp
