// libFuzzer target: RtpPacket::Parse on arbitrary bytes, then a round trip
// through the per-consumer writer and RTX. Any field that does not come back
// as expected aborts (that is the finding), as does any out-of-bounds read
// under ASan.
#include "sluice/rtp/RtpWriter.hpp"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace sluice::rtp;

namespace {

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "FuzzRtpPacket: check failed: %s (line %d)\n", #cond, __LINE__);        \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

bool SameBytes(ByteView a, ByteView b) {
  return a.size == b.size && (a.size == 0 || std::memcmp(a.data, b.data, a.size) == 0);
}

// Output buffers big enough for any input (<= 64 KiB) plus extensions.
std::array<uint8_t, 1 << 18> gOut;
std::array<uint8_t, 1 << 18> gRtx;
std::array<uint8_t, 1 << 18> gBack;

// Checks the parsed view against its own bytes and bounds.
void CheckView(const RtpPacket& p, size_t size) {
  FUZZ_CHECK(p.Size() == size);
  FUZZ_CHECK(p.HeaderSize() + p.PayloadSize() + p.PaddingSize() == size);
  FUZZ_CHECK(p.HeaderSize() >= 12 + 4 * p.CsrcCount());
  ExtensionIterator it = p.Extensions();
  HeaderExtension e;
  while (it.Next(&e)) {
    FUZZ_CHECK(e.id != 0);
    FUZZ_CHECK(e.value.data >= p.Data() && e.value.data + e.value.size <= p.Data() + size);
  }
}

// What the consumer should see for each outgoing id: the extra with that id,
// else the first incoming element mapped to it.
void ExpectedExtensions(const RtpPacket& in, const RtpRewrite& rw, std::array<ByteView, 256>* want,
                        size_t* count) {
  want->fill(ByteView{});
  *count = 0;
  for (size_t i = 0; i < rw.extraCount; ++i) {
    (*want)[rw.extra[i].id] = rw.extra[i].value;
    ++*count;
  }
  ExtensionIterator it = in.Extensions();
  HeaderExtension e;
  while (it.Next(&e)) {
    const uint8_t out = rw.idMap->Get(e.id);
    if (out != 0 && !(*want)[out]) {
      (*want)[out] = e.value;
      ++*count;
    }
  }
}

void CheckRewritten(const RtpPacket& in, const RtpPacket& got, const RtpRewrite& rw) {
  FUZZ_CHECK(got.Timestamp() == rw.timestamp);
  FUZZ_CHECK(got.PaddingSize() == 0);
  FUZZ_CHECK(got.CsrcCount() == in.CsrcCount());
  FUZZ_CHECK(SameBytes(got.Csrcs(), in.Csrcs()));
  const bool marker =
      rw.marker == MarkerRewrite::Keep ? in.Marker() : rw.marker == MarkerRewrite::Set;
  FUZZ_CHECK(got.Marker() == marker);

  std::array<ByteView, 256> want;
  size_t count = 0;
  ExpectedExtensions(in, rw, &want, &count);
  std::array<bool, 256> seen{};
  size_t gotCount = 0;
  ExtensionIterator it = got.Extensions();
  HeaderExtension e;
  while (it.Next(&e)) {
    FUZZ_CHECK(!seen[e.id]);
    seen[e.id] = true;
    ++gotCount;
    FUZZ_CHECK(static_cast<bool>(want[e.id]));
    FUZZ_CHECK(SameBytes(e.value, want[e.id]));
  }
  FUZZ_CHECK(gotCount == count);
  // One-byte form exactly when every element fits it (RFC 8285 §4.2).
  bool oneByte = true;
  for (size_t id = 0; id < want.size(); ++id) {
    if (want[id] && (id > 14 || want[id].size == 0 || want[id].size > 16))
      oneByte = false;
  }
  const ExtensionForm form = count == 0 ? ExtensionForm::None
                             : oneByte  ? ExtensionForm::OneByte
                                        : ExtensionForm::TwoByte;
  FUZZ_CHECK(got.ExtForm() == form);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ParseError why = ParseError::TooShort;
  const std::optional<RtpPacket> in = RtpPacket::Parse(data, size, &why);
  if (!in) {
    FUZZ_CHECK(static_cast<size_t>(why) < kParseErrorCount);
    return 0;
  }
  CheckView(*in, size);

  // Rewrite parameters derived from the packet so the fuzzer explores them.
  const uint8_t seed = size > 12 ? data[size - 1] : 0;
  ExtensionIdMap map;
  for (unsigned id = 1; id < 256; ++id) {
    if ((id + seed) % 3 != 0)
      map.Set(static_cast<uint8_t>(id), static_cast<uint8_t>((id * 7 + seed) % 255 + 1));
  }
  const uint8_t midValue[] = {'m', static_cast<uint8_t>('0' + seed % 10)};
  const HeaderExtension extra[] = {{static_cast<uint8_t>(seed % 20 + 1), {midValue, 2}}};
  RtpRewrite rw;
  rw.ssrc = ~in->Ssrc();
  rw.sequenceNumber = static_cast<uint16_t>(in->SequenceNumber() + 1000);
  rw.timestamp = in->Timestamp() ^ 0x5A5A5A5Au;
  rw.payloadType = static_cast<uint8_t>((in->PayloadType() + 1) & 0x7F);
  rw.marker = static_cast<MarkerRewrite>(seed % 3);
  rw.idMap = &map;
  rw.extra = extra;
  rw.extraCount = seed & 1;

  WriteError err = WriteError::BadExtension;
  const size_t n = RtpWriter::Write(*in, rw, gOut.data(), gOut.size(), &err);
  if (n == 0) {
    // Only possible when the re-encoded extensions push it past 64 KiB.
    FUZZ_CHECK(err == WriteError::TooLong);
    FUZZ_CHECK(size > 60000);
    return 0;
  }
  FUZZ_CHECK(RtpWriter::Write(*in, rw, gOut.data(), n - 1, &err) == 0);
  FUZZ_CHECK(err == WriteError::BufferTooSmall);
  const std::optional<RtpPacket> out = RtpPacket::Parse(gOut.data(), n, &why);
  FUZZ_CHECK(out.has_value());
  FUZZ_CHECK(out->Ssrc() == rw.ssrc);
  FUZZ_CHECK(out->SequenceNumber() == rw.sequenceNumber);
  FUZZ_CHECK(out->PayloadType() == rw.payloadType);
  FUZZ_CHECK(SameBytes({out->Payload(), out->PayloadSize()}, {in->Payload(), in->PayloadSize()}));
  CheckRewritten(*in, *out, rw);

  // RFC 4588: RTX stream fields, OSN = the consumer's sequence number.
  const RtxRewrite rtx{rw.ssrc + 1, static_cast<uint8_t>((rw.payloadType + 1) & 0x7F),
                       static_cast<uint16_t>(rw.sequenceNumber * 3)};
  const size_t r = RtpWriter::WriteRtx(*in, rw, rtx, gRtx.data(), gRtx.size(), &err);
  if (n + 2 > RtpPacket::kMaxPacketSize) {
    FUZZ_CHECK(r == 0 && err == WriteError::TooLong);
    return 0;
  }
  FUZZ_CHECK(r == n + 2);
  const std::optional<RtpPacket> rtxPkt = RtpPacket::Parse(gRtx.data(), r, &why);
  FUZZ_CHECK(rtxPkt.has_value());
  FUZZ_CHECK(rtxPkt->Ssrc() == rtx.ssrc);
  FUZZ_CHECK(rtxPkt->SequenceNumber() == rtx.sequenceNumber);
  FUZZ_CHECK(rtxPkt->PayloadType() == rtx.payloadType);
  CheckRewritten(*in, *rtxPkt, rw);
  const std::optional<RtxPayload> osn = RtpWriter::ParseRtx(*rtxPkt);
  FUZZ_CHECK(osn.has_value());
  FUZZ_CHECK(osn->originalSequenceNumber == rw.sequenceNumber);
  FUZZ_CHECK(SameBytes(osn->payload, {in->Payload(), in->PayloadSize()}));

  // Decapsulating the RTX packet gives back exactly the consumer's media packet.
  const size_t b =
      RtpWriter::RtxDecapsulate(*rtxPkt, rw.ssrc, rw.payloadType, gBack.data(), gBack.size());
  FUZZ_CHECK(b == n);
  FUZZ_CHECK(std::memcmp(gBack.data(), gOut.data(), n) == 0);
  return 0;
}
