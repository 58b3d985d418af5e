#include "sluice/rtp/RtpWriter.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

using sluice::rtp::ByteView;
using sluice::rtp::ExtensionForm;
using sluice::rtp::ExtensionIdMap;
using sluice::rtp::HeaderExtension;
using sluice::rtp::MarkerRewrite;
using sluice::rtp::RtpPacket;
using sluice::rtp::RtpRewrite;
using sluice::rtp::RtpWriter;
using sluice::rtp::RtxRewrite;
using sluice::rtp::WriteError;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes ToVector(ByteView v) {
  return Bytes(v.data, v.data + v.size);
}

// The view points into `data`, which must outlive it.
RtpPacket MustParse(const uint8_t* data, size_t len) {
  auto pkt = RtpPacket::Parse(data, len);
  REQUIRE(pkt.has_value());
  return *pkt;
}
RtpPacket MustParse(const Bytes& b) {
  return MustParse(b.data(), b.size());
}

// V=2 P=1 X=1 CC=1, M=1 PT=96, one-byte ids 1, 2, 5; payload 01..05; 3 padding.
// clang-format off
const Bytes kIn = {
    0xB1, 0xE0, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x11, 0x22, 0x33, 0x44,
    0xAA, 0xBB, 0xCC, 0xDD,                               // CSRC
    0xBE, 0xDE, 0x00, 0x03,                               // one-byte, 3 words
    0x10, 0x42, 0x00, 0x22, 0x01, 0x02, 0x03,             // id1 [42], pad, id2 [01 02 03]
    0x51, 0xAA, 0xBB, 0x00, 0x00,                         // id5 [AA BB], pad
    0x01, 0x02, 0x03, 0x04, 0x05,                         // payload
    0x00, 0x00, 0x03,                                     // padding
};
// clang-format on

// A consumer's rewrite: new SSRC/seq/ts/PT, ids 1 -> 3, 2 -> dropped, 5 -> 5.
struct Consumer {
  ExtensionIdMap map;
  RtpRewrite rw;
  Consumer() {
    map.Set(1, 3);
    map.Set(5, 5);
    rw.ssrc = 0x55667788;
    rw.sequenceNumber = 0xFFFE;
    rw.timestamp = 0x01020304;
    rw.payloadType = 100;
    rw.idMap = &map;
  }
};

} // namespace

TEST_CASE("RtpWriter: rewrite, remap extensions, drop padding, exact bytes", "[rtp][writer]") {
  const Bytes stored = kIn;
  const RtpPacket in = MustParse(stored);
  Consumer c;
  uint8_t out[256];
  const size_t n = RtpWriter::Write(in, c.rw, out, sizeof(out));
  // clang-format off
  const Bytes want = {
      0x91, 0xE4, 0xFF, 0xFE, 0x01, 0x02, 0x03, 0x04, 0x55, 0x66, 0x77, 0x88, // P clear, M kept
      0xAA, 0xBB, 0xCC, 0xDD,                                                 // CSRC copied
      0xBE, 0xDE, 0x00, 0x02,                                                 // 2 words
      0x30, 0x42, 0x51, 0xAA, 0xBB, 0x00, 0x00, 0x00,                         // id3 [42], id5
      0x01, 0x02, 0x03, 0x04, 0x05,                                           // payload
  };
  // clang-format on
  REQUIRE(n == want.size());
  CHECK(Bytes(out, out + n) == want);
  CHECK(stored == kIn); // the stored bytes are never touched

  const RtpPacket got = MustParse(out, n);
  CHECK(got.Ssrc() == 0x55667788);
  CHECK(got.SequenceNumber() == 0xFFFE);
  CHECK(got.Timestamp() == 0x01020304);
  CHECK(got.PayloadType() == 100);
  CHECK(got.Marker());
  CHECK(got.PaddingSize() == 0);
  CHECK(got.Csrc(0) == 0xAABBCCDD);
  CHECK(ToVector(got.GetExtension(3)) == Bytes{0x42});
  CHECK(ToVector(got.GetExtension(5)) == Bytes{0xAA, 0xBB});
  CHECK_FALSE(got.GetExtension(1));
  CHECK_FALSE(got.GetExtension(2));
  CHECK(ToVector({got.Payload(), got.PayloadSize()}) == Bytes{1, 2, 3, 4, 5});
}

TEST_CASE("RtpWriter: marker keep / set / clear", "[rtp][writer]") {
  const RtpPacket in = MustParse(kIn); // M=1
  Consumer c;
  uint8_t out[256];
  c.rw.marker = MarkerRewrite::Clear;
  REQUIRE(RtpWriter::Write(in, c.rw, out, sizeof(out)) > 0);
  CHECK(out[1] == 100);
  c.rw.marker = MarkerRewrite::Set;
  REQUIRE(RtpWriter::Write(in, c.rw, out, sizeof(out)) > 0);
  CHECK(out[1] == (0x80 | 100));

  const Bytes noMarker = {0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xEE};
  const RtpPacket plain = MustParse(noMarker);
  c.rw.marker = MarkerRewrite::Keep;
  REQUIRE(RtpWriter::Write(plain, c.rw, out, sizeof(out)) == 13);
  CHECK(out[1] == 100);
  c.rw.marker = MarkerRewrite::Set;
  REQUIRE(RtpWriter::Write(plain, c.rw, out, sizeof(out)) == 13);
  CHECK(out[1] == (0x80 | 100));
}

TEST_CASE("RtpWriter: no extension going out clears X", "[rtp][writer]") {
  const RtpPacket in = MustParse(kIn);
  Consumer c;
  c.rw.idMap = nullptr; // drop all
  uint8_t out[256];
  const size_t n = RtpWriter::Write(in, c.rw, out, sizeof(out));
  REQUIRE(n == 16 + 5);
  CHECK(out[0] == 0x81); // V=2, CC=1, no P, no X
  const RtpPacket got = MustParse(out, n);
  CHECK(got.ExtForm() == ExtensionForm::None);
  CHECK(ToVector({got.Payload(), got.PayloadSize()}) == Bytes{1, 2, 3, 4, 5});

  ExtensionIdMap none; // default map drops too
  c.rw.idMap = &none;
  CHECK(RtpWriter::Write(in, c.rw, out, sizeof(out)) == 16 + 5);
}

TEST_CASE("RtpWriter: extra extensions (MID, abs-send-time) and override", "[rtp][writer]") {
  const RtpPacket in = MustParse(kIn);
  Consumer c;
  const uint8_t mid[] = {'a', 'u', 'd', 'i', 'o', '0'};
  const uint8_t absSendTime[] = {0x12, 0x34, 0x56};
  const HeaderExtension extra[] = {{4, {mid, sizeof(mid)}}, {5, {absSendTime, 3}}};
  c.rw.extra = extra;
  c.rw.extraCount = 2;
  uint8_t out[256];
  const size_t n = RtpWriter::Write(in, c.rw, out, sizeof(out));
  // clang-format off
  const Bytes wantHeaderExt = {
      0xBE, 0xDE, 0x00, 0x04,                               // 4 words
      0x30, 0x42,                                           // mapped id1 -> 3
      0x45, 'a', 'u', 'd', 'i', 'o', '0',                   // MID, id 4 (len 6)
      0x52, 0x12, 0x34, 0x56,                               // id 5 replaced by the extra
      0x00, 0x00, 0x00,                                     // pad to 16
  };
  // clang-format on
  REQUIRE(n == 16 + wantHeaderExt.size() + 5);
  CHECK(Bytes(out + 16, out + 16 + wantHeaderExt.size()) == wantHeaderExt);
  const RtpPacket got = MustParse(out, n);
  CHECK(ToVector(got.GetExtension(4)) == Bytes(mid, mid + 6));
  CHECK(ToVector(got.GetExtension(5)) == Bytes{0x12, 0x34, 0x56});
  CHECK(ToVector(got.GetExtension(3)) == Bytes{0x42});
}

TEST_CASE("RtpWriter: two-byte form when an id > 14, a value > 16 or empty", "[rtp][writer]") {
  const RtpPacket in = MustParse(kIn);
  uint8_t out[512];

  SECTION("id above 14") {
    Consumer c;
    c.map.Set(1, 200);
    const size_t n = RtpWriter::Write(in, c.rw, out, sizeof(out));
    // clang-format off
    const Bytes wantExt = {0x10, 0x00, 0x00, 0x02,              // two-byte, 2 words
                           200, 0x01, 0x42, 0x05, 0x02, 0xAA, 0xBB, 0x00};
    // clang-format on
    REQUIRE(n == 16 + wantExt.size() + 5);
    CHECK(Bytes(out + 16, out + 16 + wantExt.size()) == wantExt);
    const RtpPacket got = MustParse(out, n);
    CHECK(got.ExtForm() == ExtensionForm::TwoByte);
    CHECK(ToVector(got.GetExtension(200)) == Bytes{0x42});
    CHECK(ToVector(got.GetExtension(5)) == Bytes{0xAA, 0xBB});
  }
  SECTION("value longer than 16 bytes") {
    Consumer c;
    uint8_t big[40];
    for (size_t i = 0; i < sizeof(big); ++i)
      big[i] = static_cast<uint8_t>(i);
    const HeaderExtension extra[] = {{7, {big, sizeof(big)}}};
    c.rw.extra = extra;
    c.rw.extraCount = 1;
    const size_t n = RtpWriter::Write(in, c.rw, out, sizeof(out));
    REQUIRE(n > 0);
    const RtpPacket got = MustParse(out, n);
    CHECK(got.ExtForm() == ExtensionForm::TwoByte);
    CHECK(ToVector(got.GetExtension(7)) == Bytes(big, big + sizeof(big)));
    CHECK(ToVector(got.GetExtension(3)) == Bytes{0x42});
    CHECK(ToVector({got.Payload(), got.PayloadSize()}) == Bytes{1, 2, 3, 4, 5});
  }
  SECTION("empty value") {
    Consumer c;
    const HeaderExtension extra[] = {{9, {out, 0}}};
    c.rw.extra = extra;
    c.rw.extraCount = 1;
    const size_t n = RtpWriter::Write(in, c.rw, out + 256, 256);
    REQUIRE(n > 0);
    const RtpPacket got = MustParse(out + 256, n);
    CHECK(got.ExtForm() == ExtensionForm::TwoByte);
    const ByteView e = got.GetExtension(9);
    CHECK(static_cast<bool>(e));
    CHECK(e.size == 0);
  }
}

TEST_CASE("RtpWriter: two-byte input to one-byte output, opaque input dropped", "[rtp][writer]") {
  // clang-format off
  const Bytes twoByte = {0x90, 0x6F, 0xFF, 0xFF, 0, 0, 0, 1, 1, 2, 3, 4,
                         0x10, 0x00, 0x00, 0x02, 0x20, 0x03, 0xA1, 0xA2, 0xA3, 0x03, 0x00, 0x00,
                         0xCA, 0xFE};
  // clang-format on
  const RtpPacket in = MustParse(twoByte);
  ExtensionIdMap map;
  map.Set(32, 2); // id 32 -> 2 fits the one-byte form; id 3 (empty) dropped
  RtpRewrite rw;
  rw.ssrc = 9;
  rw.payloadType = 111;
  rw.idMap = &map;
  uint8_t out[64];
  size_t n = RtpWriter::Write(in, rw, out, sizeof(out));
  // clang-format off
  const Bytes want = {0x90, 0x6F, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 9,
                      0xBE, 0xDE, 0x00, 0x01, 0x22, 0xA1, 0xA2, 0xA3, 0xCA, 0xFE};
  // clang-format on
  CHECK(Bytes(out, out + n) == want);

  // clang-format off
  const Bytes opaque = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                        0x12, 0x34, 0x00, 0x01, 0x10, 0x11, 0xFF, 0xFF, 0x42};
  // clang-format on
  const ExtensionIdMap identity = ExtensionIdMap::Identity();
  rw.idMap = &identity;
  n = RtpWriter::Write(MustParse(opaque), rw, out, sizeof(out));
  REQUIRE(n == 13);
  CHECK(out[0] == 0x80);
  CHECK(out[12] == 0x42);
}

TEST_CASE("RtpWriter: duplicate outgoing ids keep the first element", "[rtp][writer]") {
  const RtpPacket in = MustParse(kIn);
  Consumer c;
  c.map.Set(2, 3); // ids 1 and 2 both map to 3: id 1 comes first on the wire
  uint8_t out[256];
  const size_t n = RtpWriter::Write(in, c.rw, out, sizeof(out));
  const RtpPacket got = MustParse(out, n);
  CHECK(ToVector(got.GetExtension(3)) == Bytes{0x42});
  size_t count = 0;
  auto it = got.Extensions();
  HeaderExtension e;
  while (it.Next(&e))
    count += e.id == 3;
  CHECK(count == 1);
}

TEST_CASE("RtpWriter: errors leave the buffer untouched", "[rtp][writer]") {
  const RtpPacket in = MustParse(kIn);
  Consumer c;
  uint8_t ref[256];
  const size_t full = RtpWriter::Write(in, c.rw, ref, sizeof(ref));
  REQUIRE(full == 33);
  for (size_t cap = 0; cap < full; ++cap) {
    uint8_t out[64];
    std::memset(out, 0xAA, sizeof(out));
    WriteError why = WriteError::BadExtension;
    REQUIRE(RtpWriter::Write(in, c.rw, out, cap, &why) == 0);
    CHECK(why == WriteError::BufferTooSmall);
    for (uint8_t b : out)
      REQUIRE(b == 0xAA);
  }
  uint8_t exact[33];
  CHECK(RtpWriter::Write(in, c.rw, exact, sizeof(exact)) == full);
  CHECK(std::memcmp(exact, ref, full) == 0);

  WriteError why = WriteError::BufferTooSmall;
  c.rw.payloadType = 128;
  CHECK(RtpWriter::Write(in, c.rw, ref, sizeof(ref), &why) == 0);
  CHECK(why == WriteError::BadPayloadType);
  c.rw.payloadType = 100;

  const uint8_t v[] = {1};
  const HeaderExtension zeroId[] = {{0, {v, 1}}};
  const HeaderExtension dup[] = {{4, {v, 1}}, {4, {v, 1}}};
  uint8_t huge[256] = {};
  const HeaderExtension tooLong[] = {{4, {huge, 256}}};
  for (const HeaderExtension* extra : {zeroId, dup, tooLong}) {
    c.rw.extra = extra;
    c.rw.extraCount = extra == dup ? 2 : 1;
    why = WriteError::BufferTooSmall;
    CHECK(RtpWriter::Write(in, c.rw, ref, sizeof(ref), &why) == 0);
    CHECK(why == WriteError::BadExtension);
  }
}

TEST_CASE("RtpWriter: refuses results over 65535 bytes", "[rtp][writer]") {
  Bytes big(RtpPacket::kMaxPacketSize, 0x77);
  const Bytes header = {0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
  std::copy(header.begin(), header.end(), big.begin());
  const RtpPacket in = MustParse(big);
  std::vector<uint8_t> out(2 * RtpPacket::kMaxPacketSize);
  RtpRewrite rw;
  // Plain rewrite: same size, fits. RTX adds the 2-byte OSN: too long.
  CHECK(RtpWriter::Write(in, rw, out.data(), out.size()) == RtpPacket::kMaxPacketSize);
  WriteError why = WriteError::BufferTooSmall;
  CHECK(RtpWriter::WriteRtx(in, rw, RtxRewrite{}, out.data(), out.size(), &why) == 0);
  CHECK(why == WriteError::TooLong);
  // An added extension does not fit either.
  const uint8_t mid[] = {'0'};
  const HeaderExtension extra[] = {{1, {mid, 1}}};
  rw.extra = extra;
  rw.extraCount = 1;
  why = WriteError::BufferTooSmall;
  CHECK(RtpWriter::Write(in, rw, out.data(), out.size(), &why) == 0);
  CHECK(why == WriteError::TooLong);
}

TEST_CASE("RtpWriter: WriteHeader is the prefix of Write", "[rtp][writer]") {
  const RtpPacket in = MustParse(kIn);
  Consumer c;
  uint8_t full[256];
  uint8_t header[256];
  const size_t n = RtpWriter::Write(in, c.rw, full, sizeof(full));
  const size_t h = RtpWriter::WriteHeader(in, c.rw, header, sizeof(header));
  REQUIRE(h == n - in.PayloadSize());
  CHECK(std::memcmp(full, header, h) == 0);
  CHECK(RtpWriter::WriteHeader(in, c.rw, header, h - 1) == 0);
}

TEST_CASE("RtpWriter: RTX round trip (RFC 4588)", "[rtp][writer][rtx]") {
  const Bytes stored = kIn;
  const RtpPacket in = MustParse(stored);
  Consumer c; // sent the original as seq 0xFFFE
  const RtxRewrite rtx{0x99AABBCC, 101, 7};
  uint8_t out[256];
  const size_t n = RtpWriter::WriteRtx(in, c.rw, rtx, out, sizeof(out));
  REQUIRE(n == 28 + 2 + 5);
  CHECK(stored == kIn);

  const RtpPacket got = MustParse(out, n);
  CHECK(got.Ssrc() == 0x99AABBCC);
  CHECK(got.PayloadType() == 101);
  CHECK(got.SequenceNumber() == 7);
  CHECK(got.Timestamp() == 0x01020304); // the consumer's (rewritten) timestamp
  CHECK(got.Marker());
  CHECK(got.Csrc(0) == 0xAABBCCDD);
  CHECK(ToVector(got.GetExtension(3)) == Bytes{0x42});
  CHECK(ToVector({got.Payload(), got.PayloadSize()}) == Bytes{0xFF, 0xFE, 1, 2, 3, 4, 5});

  const auto rtxPayload = RtpWriter::ParseRtx(got);
  REQUIRE(rtxPayload.has_value());
  CHECK(rtxPayload->originalSequenceNumber == 0xFFFE);
  CHECK(ToVector(rtxPayload->payload) == Bytes{1, 2, 3, 4, 5});

  // Decapsulating gives back exactly what Write() sends for this consumer.
  uint8_t media[256];
  uint8_t back[256];
  const size_t m = RtpWriter::Write(in, c.rw, media, sizeof(media));
  const size_t b = RtpWriter::RtxDecapsulate(got, c.rw.ssrc, c.rw.payloadType, back, sizeof(back));
  REQUIRE(b == m);
  CHECK(std::memcmp(back, media, m) == 0);

  uint8_t header[256];
  const size_t h = RtpWriter::WriteRtxHeader(in, c.rw, rtx, header, sizeof(header));
  REQUIRE(h == n - in.PayloadSize());
  CHECK(std::memcmp(header, out, h) == 0);
  WriteError why = WriteError::BadExtension;
  CHECK(RtpWriter::WriteRtx(in, c.rw, rtx, out, n - 1, &why) == 0);
  CHECK(why == WriteError::BufferTooSmall);
}

TEST_CASE("RtpWriter: RTX decapsulation of a received packet", "[rtp][writer][rtx]") {
  // RTX with padding and an opaque extension: both kept/dropped as documented.
  // clang-format off
  const Bytes rtxBytes = {0xB0, 0xE1, 0x00, 0x09, 0, 0, 0x30, 0x39, 0x0A, 0x0B, 0x0C, 0x0D,
                          0x12, 0x34, 0x00, 0x01, 0xDE, 0xAD, 0xBE, 0xEF, // opaque block
                          0xAB, 0xCD, 0x61, 0x62, 0x00, 0x02};            // OSN, "ab", 2 pad
  // clang-format on
  const RtpPacket rtx = MustParse(rtxBytes);
  const auto p = RtpWriter::ParseRtx(rtx);
  REQUIRE(p.has_value());
  CHECK(p->originalSequenceNumber == 0xABCD);
  CHECK(ToVector(p->payload) == Bytes{0x61, 0x62});

  uint8_t out[64];
  const size_t n = RtpWriter::RtxDecapsulate(rtx, 0x01020304, 96, out, sizeof(out));
  // clang-format off
  const Bytes want = {0x90, 0xE0, 0xAB, 0xCD, 0, 0, 0x30, 0x39, 0x01, 0x02, 0x03, 0x04,
                      0x12, 0x34, 0x00, 0x01, 0xDE, 0xAD, 0xBE, 0xEF, 0x61, 0x62};
  // clang-format on
  CHECK(Bytes(out, out + n) == want);

  WriteError why = WriteError::BadExtension;
  CHECK(RtpWriter::RtxDecapsulate(rtx, 1, 96, out, want.size() - 1, &why) == 0);
  CHECK(why == WriteError::BufferTooSmall);
  CHECK(RtpWriter::RtxDecapsulate(rtx, 1, 200, out, sizeof(out), &why) == 0);
  CHECK(why == WriteError::BadPayloadType);

  // A padding-only RTX packet (bandwidth probe) has no OSN.
  const Bytes probe = {0xA0, 0x61, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 4};
  const Bytes oneByte = {0x80, 0x61, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x42};
  for (const Bytes& b : {probe, oneByte}) {
    const RtpPacket pkt = MustParse(b);
    CHECK_FALSE(RtpWriter::ParseRtx(pkt).has_value());
    CHECK(RtpWriter::RtxDecapsulate(pkt, 1, 96, out, sizeof(out), &why) == 0);
    CHECK(why == WriteError::MissingOsn);
  }
}
