#include "sluice/rtcp/RtcpWriter.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using namespace sluice::rtcp;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes Written(const CompoundWriter& w) {
  return Bytes(w.Data(), w.Data() + w.Size());
}

// The one packet in `b`, a view that lives as long as `b`.
RtcpPacket First(const Bytes& b) {
  const auto pkt = RtcpPacket::Parse(b.data(), b.size());
  REQUIRE(pkt.has_value());
  REQUIRE(pkt->Size() == b.size());
  return *pkt;
}

// The one packet the writer holds.
RtcpPacket First(const CompoundWriter& w) {
  const auto pkt = RtcpPacket::Parse(w.Data(), w.Size());
  REQUIRE(pkt.has_value());
  REQUIRE(pkt->Size() == w.Size());
  return *pkt;
}

std::vector<uint16_t> NackSeqs(const Bytes& b) {
  const auto nack = GenericNack::Parse(First(b));
  REQUIRE(nack.has_value());
  std::vector<uint16_t> out;
  NackSeqIterator it = nack->Seqs();
  uint16_t seq = 0;
  while (it.Next(&seq))
    out.push_back(seq);
  return out;
}

std::vector<uint16_t> WriteNack(const std::vector<uint16_t>& seqs, Bytes* bytes = nullptr) {
  std::array<uint8_t, 4096> buf{};
  CompoundWriter w(buf.data(), buf.size());
  const size_t n = w.AddNack(1, 2, seqs.data(), seqs.size());
  REQUIRE(n > 0);
  REQUIRE(n == w.Size());
  const Bytes out = Written(w);
  if (bytes)
    *bytes = out;
  return NackSeqs(out);
}

// The same bytes as kSrSdes in TestRtcpPacket.cpp.
// clang-format off
const Bytes kSrSdes = {
    0x81, 0xC8, 0x00, 0x0C,   // V=2 RC=1 PT=200 length 12
    0x11, 0x22, 0x33, 0x44,   // SSRC of sender
    0xE9, 0x3C, 0x8A, 0x00,   // NTP seconds
    0x80, 0x00, 0x00, 0x00,   // NTP fraction
    0x00, 0x01, 0xE2, 0x40,   // RTP timestamp
    0x00, 0x00, 0x03, 0xE8,   // packet count
    0x00, 0x0F, 0x42, 0x40,   // octet count
    0xAA, 0xBB, 0xCC, 0xDD,   // SSRC_1
    0x40, 0xFF, 0xFF, 0xFE,   // fraction lost | cumulative lost -2
    0x00, 0x01, 0x00, 0x05,   // extended highest seq
    0x00, 0x00, 0x00, 0x20,   // jitter
    0x3C, 0x8A, 0x80, 0x00,   // LSR
    0x00, 0x01, 0x00, 0x00,   // DLSR
    0x81, 0xCA, 0x00, 0x03,   // V=2 SC=1 PT=202 length 3
    0x11, 0x22, 0x33, 0x44,
    0x01, 0x03, 'a',  'b',
    'c',  0x00, 0x00, 0x00,
};
// clang-format on

ReportBlock SampleBlock() {
  ReportBlock rb;
  rb.ssrc = 0xAABBCCDD;
  rb.fractionLost = 64;
  rb.cumulativeLost = -2;
  rb.extendedHighestSeq = 65541;
  rb.jitter = 32;
  rb.lsr = 0x3C8A8000;
  rb.dlsr = 0x00010000;
  return rb;
}

} // namespace

TEST_CASE("RtcpWriter: SR + SDES CNAME, byte for byte", "[rtcp][writer]") {
  std::array<uint8_t, 256> buf{};
  CompoundWriter w(buf.data(), buf.size());
  SenderInfo info;
  info.ntp = {0xE93C8A00, 0x80000000};
  info.rtpTimestamp = 123456;
  info.packetCount = 1000;
  info.octetCount = 1000000;
  const ReportBlock rb = SampleBlock();
  CHECK(w.AddSenderReport(0x11223344, info, &rb, 1) == 52);
  CHECK(w.AddSdesCname(0x11223344, "abc", 3) == 16);
  CHECK(Written(w) == kSrSdes);

  // Re-parse: the compound iterates cleanly and the fields come back.
  CompoundIterator it(w.Data(), w.Size());
  RtcpPacket pkt;
  REQUIRE(it.Next(&pkt));
  const auto sr = SenderReport::Parse(pkt);
  REQUIRE(sr.has_value());
  CHECK(sr->Report(0).cumulativeLost == -2);
  REQUIRE(it.Next(&pkt));
  REQUIRE(Sdes::Parse(pkt).has_value());
  CHECK_FALSE(it.Next(&pkt));
  CHECK_FALSE(it.Error().has_value());
}

TEST_CASE("RtcpWriter: RR, report block clamping, 31 blocks", "[rtcp][writer]") {
  std::array<uint8_t, 1024> buf{};
  CompoundWriter w(buf.data(), buf.size());
  CHECK(w.AddReceiverReport(0x01020304, nullptr, 0) == 8);
  CHECK(Written(w) == Bytes{0x80, 0xC9, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04});

  w.Reset();
  ReportBlock blocks[32];
  for (size_t i = 0; i < 32; ++i) {
    blocks[i] = SampleBlock();
    blocks[i].ssrc = static_cast<uint32_t>(i);
  }
  blocks[0].cumulativeLost = 10000000;  // clamps to 2^23 - 1
  blocks[1].cumulativeLost = -10000000; // clamps to -2^23
  CHECK(w.AddReceiverReport(7, blocks, 32) == 0);
  CHECK(w.Size() == 0);
  CHECK(w.AddReceiverReport(7, blocks, 31) == 8 + 31 * 24);
  CHECK(buf[0] == 0x9F); // V=2, RC=31
  CHECK(Bytes(buf.begin() + 12, buf.begin() + 16) == Bytes{0x40, 0x7F, 0xFF, 0xFF});
  CHECK(Bytes(buf.begin() + 36, buf.begin() + 40) == Bytes{0x40, 0x80, 0x00, 0x00});
  const auto rr = ReceiverReport::Parse(First(w));
  REQUIRE(rr.has_value());
  REQUIRE(rr->ReportCount() == 31);
  CHECK(rr->Report(0).cumulativeLost == 0x7FFFFF);
  CHECK(rr->Report(1).cumulativeLost == -0x800000);
  CHECK(rr->Report(30).ssrc == 30);
  CHECK(rr->Report(30).lsr == 0x3C8A8000);

  SenderInfo info;
  CHECK(w.AddSenderReport(1, info, blocks, 32) == 0);
}

TEST_CASE("RtcpWriter: SDES CNAME pads with 1..4 null octets", "[rtcp][writer]") {
  std::array<uint8_t, 512> buf{};
  CompoundWriter w(buf.data(), buf.size());
  // 6 bytes: items end on a word boundary, so a whole word of nulls follows.
  CHECK(w.AddSdesCname(5, "abcdef", 6) == 20);
  // clang-format off
  CHECK(Written(w) == Bytes{0x81, 0xCA, 0x00, 0x04, 0x00, 0x00, 0x00, 0x05,
                            0x01, 0x06, 'a', 'b', 'c', 'd', 'e', 'f',
                            0x00, 0x00, 0x00, 0x00});
  // clang-format on
  for (size_t len = 1; len <= 255; ++len) {
    w.Reset();
    const std::string cname(len, 'x');
    const size_t n = w.AddSdesCname(9, cname.data(), len);
    REQUIRE(n == w.Size());
    CHECK(n % 4 == 0);
    CHECK(n >= 4 + 4 + 2 + len + 1);
    CHECK(n <= 4 + 4 + 2 + len + 4);
    const auto sdes = Sdes::Parse(First(w));
    REQUIRE(sdes.has_value());
    const ByteView got = sdes->Cname(9);
    CHECK(std::string(reinterpret_cast<const char*>(got.data), got.size) == cname);
  }
  w.Reset();
  const std::string tooLong(256, 'x');
  CHECK(w.AddSdesCname(9, tooLong.data(), 256) == 0);
  CHECK(w.AddSdesCname(9, "", 0) == 0);
  CHECK(w.Size() == 0);
}

TEST_CASE("RtcpWriter: BYE", "[rtcp][writer]") {
  std::array<uint8_t, 256> buf{};
  CompoundWriter w(buf.data(), buf.size());
  const uint32_t ssrcs[] = {1, 0xFFFFFFFF};
  CHECK(w.AddBye(ssrcs, 2) == 12);
  CHECK(Written(w) ==
        Bytes{0x82, 0xCB, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF});
  const auto bye = Bye::Parse(First(w));
  REQUIRE(bye.has_value());
  CHECK(bye->Ssrc(1) == 0xFFFFFFFF);
  CHECK_FALSE(bye->Reason());
  CHECK(w.AddBye(ssrcs, 0) == 0);
  uint32_t many[32] = {};
  CHECK(w.AddBye(many, 32) == 0);
}

TEST_CASE("RtcpWriter: NACK packing and wraparound", "[rtcp][writer][nack]") {
  Bytes b;
  SECTION("65530..2 fits one entry across the wrap") {
    const std::vector<uint16_t> seqs = {65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2};
    CHECK(WriteNack(seqs, &b) == seqs);
    // clang-format off
    CHECK(b == Bytes{0x81, 0xCD, 0x00, 0x03,
                     0x00, 0x00, 0x00, 0x01,
                     0x00, 0x00, 0x00, 0x02,
                     0xFF, 0xFA, 0x00, 0xFF});
    // clang-format on
  }
  SECTION("PID + 16 is the last number an entry covers") {
    const std::vector<uint16_t> seqs = {100, 101, 116, 117, 200};
    CHECK(WriteNack(seqs, &b) == seqs);
    // clang-format off
    CHECK(b == Bytes{0x81, 0xCD, 0x00, 0x05,
                     0x00, 0x00, 0x00, 0x01,
                     0x00, 0x00, 0x00, 0x02,
                     0x00, 0x64, 0x80, 0x01,   // 100: 101, 116
                     0x00, 0x75, 0x00, 0x00,   // 117
                     0x00, 0xC8, 0x00, 0x00}); // 200
    // clang-format on
  }
  SECTION("wrap exactly at the 16th bit") {
    const std::vector<uint16_t> seqs = {65535, 15, 16};
    CHECK(WriteNack(seqs, &b) == seqs);
    CHECK(Bytes(b.begin() + 12, b.end()) == Bytes{0xFF, 0xFF, 0x80, 0x00, 0x00, 0x10, 0x00, 0x00});
  }
  SECTION("duplicates of the PID are dropped, out-of-order numbers still covered") {
    CHECK(WriteNack({7, 7, 8, 8}) == std::vector<uint16_t>{7, 8});
    CHECK(WriteNack({10, 5}) == std::vector<uint16_t>{10, 5});
    CHECK(CompoundWriter::NackPairCount(std::vector<uint16_t>{10, 5, 6}.data(), 3) == 2);
  }
  SECTION("sweep start points near the wrap") {
    for (uint32_t start = 65500; start < 65536 + 40; start += 3) {
      std::vector<uint16_t> seqs;
      for (uint32_t i = 0; i < 120; ++i) {
        if (i % 7 == 0 || i % 11 == 3 || (i > 50 && i < 60))
          seqs.push_back(static_cast<uint16_t>(start + i));
      }
      CHECK(WriteNack(seqs) == seqs);
    }
  }
  SECTION("nothing to write") {
    std::array<uint8_t, 64> buf{};
    CompoundWriter w(buf.data(), buf.size());
    CHECK(w.AddNack(1, 2, nullptr, 0) == 0);
    const uint16_t one = 5;
    CHECK(w.AddNack(1, 2, &one, 0) == 0);
    CHECK(w.Size() == 0);
  }
}

TEST_CASE("RtcpWriter: PLI, FIR and REMB bytes", "[rtcp][writer]") {
  std::array<uint8_t, 256> buf{};
  CompoundWriter w(buf.data(), buf.size());

  CHECK(w.AddPli(1, 2) == 12);
  CHECK(Written(w) == Bytes{0x81, 0xCE, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2});
  REQUIRE(Pli::Parse(First(w)).has_value());

  w.Reset();
  const FirEntry entries[] = {{10, 7}, {0xFFFFFFFF, 255}};
  CHECK(w.AddFir(1, entries, 2) == 28);
  // clang-format off
  CHECK(Written(w) == Bytes{0x84, 0xCE, 0x00, 0x06,
                            0x00, 0x00, 0x00, 0x01,
                            0x00, 0x00, 0x00, 0x00,
                            0x00, 0x00, 0x00, 0x0A, 0x07, 0x00, 0x00, 0x00,
                            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00});
  // clang-format on
  const auto fir = Fir::Parse(First(w));
  REQUIRE(fir.has_value());
  CHECK(fir->Entry(1).seqNr == 255);
  CHECK(w.AddFir(1, entries, 0) == 0);

  w.Reset();
  const uint32_t ssrcs[] = {10, 11};
  CHECK(w.AddRemb(1, 1000000, ssrcs, 2) == 28);
  // clang-format off
  CHECK(Written(w) == Bytes{0x8F, 0xCE, 0x00, 0x06,
                            0x00, 0x00, 0x00, 0x01,
                            0x00, 0x00, 0x00, 0x00,
                            'R',  'E',  'M',  'B',
                            0x02, 0x0B, 0xD0, 0x90,
                            0x00, 0x00, 0x00, 0x0A,
                            0x00, 0x00, 0x00, 0x0B});
  // clang-format on
  const auto remb = Remb::Parse(First(w));
  REQUIRE(remb.has_value());
  CHECK(remb->Bitrate() == 1000000);
  CHECK(remb->Ssrc(1) == 11);
}

TEST_CASE("RtcpWriter: REMB rounds the bitrate down to 18 bits of mantissa", "[rtcp][writer]") {
  std::array<uint8_t, 64> buf{};
  auto roundTrip = [&buf](uint64_t bitrate) {
    CompoundWriter w(buf.data(), buf.size());
    REQUIRE(w.AddRemb(1, bitrate, nullptr, 0) == 20);
    return Remb::Parse(First(w))->Bitrate();
  };
  CHECK(roundTrip(0) == 0);
  CHECK(roundTrip(262143) == 262143); // exp 0
  CHECK(buf[17] == 0x03);
  CHECK(roundTrip(262144) == 262144); // exp 1, mantissa 2^17
  CHECK(buf[17] == 0x06);
  CHECK(roundTrip(262145) == 262144);   // odd value loses its low bit
  CHECK(roundTrip(5000001) == 5000000); // exp 5
  CHECK(roundTrip(UINT64_MAX) == (uint64_t{0x3FFFF} << 46));
  CHECK(buf[17] == 0xBB); // exp 46
  for (uint64_t v = 1; v < (uint64_t{1} << 62); v = v * 3 + 1) {
    const uint64_t got = roundTrip(v);
    CHECK(got <= v);
    CHECK(v - got < (v >> 17) + 1); // relative error below 2^-17
  }
  CompoundWriter w(buf.data(), buf.size());
  uint32_t many[256] = {};
  CHECK(w.AddRemb(1, 1, many, 256) == 0);
}

TEST_CASE("RtcpWriter: never writes a partial packet", "[rtcp][writer]") {
  std::array<uint8_t, 128> buf;
  const uint16_t seqs[] = {1, 40, 80};
  const FirEntry fir = {3, 4};
  const uint32_t ssrc = 9;
  const ReportBlock rb = SampleBlock();
  // Each writer call against capacities 0..size: 0 and no byte touched below
  // size, then exactly `size` bytes at size.
  auto check = [&buf](size_t size, auto add) {
    for (size_t cap = 0; cap <= size; ++cap) {
      buf.fill(0xEE);
      CompoundWriter w(buf.data(), cap);
      const size_t n = add(w);
      if (cap < size) {
        CHECK(n == 0);
        CHECK(w.Size() == 0);
        for (uint8_t byte : buf)
          REQUIRE(byte == 0xEE);
      } else {
        CHECK(n == size);
        CHECK(w.Size() == size);
        CHECK(w.Remaining() == 0);
      }
    }
  };
  check(52, [&](CompoundWriter& w) { return w.AddSenderReport(1, SenderInfo{}, &rb, 1); });
  check(32, [&](CompoundWriter& w) { return w.AddReceiverReport(1, &rb, 1); });
  check(16, [&](CompoundWriter& w) { return w.AddSdesCname(1, "abc", 3); });
  check(8, [&](CompoundWriter& w) { return w.AddBye(&ssrc, 1); });
  check(24, [&](CompoundWriter& w) { return w.AddNack(1, 2, seqs, 3); });
  check(12, [&](CompoundWriter& w) { return w.AddPli(1, 2); });
  check(20, [&](CompoundWriter& w) { return w.AddFir(1, &fir, 1); });
  check(24, [&](CompoundWriter& w) { return w.AddRemb(1, 1, &ssrc, 1); });

  // A full buffer keeps what it has: the earlier packets stay a valid compound.
  CompoundWriter w(buf.data(), 20);
  CHECK(w.AddPli(1, 2) == 12);
  CHECK(w.AddPli(1, 2) == 0);
  CHECK(w.Size() == 12);
  CHECK(w.AddRemb(1, 1, nullptr, 0) == 0);
  CHECK(w.AddBye(&ssrc, 1) == 8);
  CHECK(w.Remaining() == 0);
}

TEST_CASE("RtcpWriter: reduced-size and full compounds re-parse", "[rtcp][writer]") {
  std::array<uint8_t, 512> buf{};
  CompoundWriter w(buf.data(), buf.size());
  const uint16_t seqs[] = {65535, 0, 3};
  const uint32_t ssrc = 0x10;
  CHECK(w.AddReceiverReport(0x20, nullptr, 0) > 0);
  CHECK(w.AddSdesCname(0x20, "me", 2) > 0);
  CHECK(w.AddNack(0x20, ssrc, seqs, 3) > 0);
  CHECK(w.AddPli(0x20, ssrc) > 0);
  CHECK(w.AddRemb(0x20, 300000, &ssrc, 1) > 0);
  CHECK(w.AddBye(&ssrc, 1) > 0);
  CompoundIterator it(w.Data(), w.Size());
  RtcpPacket pkt;
  std::vector<uint8_t> types;
  while (it.Next(&pkt))
    types.push_back(pkt.Type());
  CHECK_FALSE(it.Error().has_value());
  CHECK(types == std::vector<uint8_t>{201, 202, 205, 206, 206, 203});
}

TEST_CASE("RtcpWriter: SR from wall clock", "[rtcp][writer][ntp]") {
  std::array<uint8_t, 64> buf{};
  CompoundWriter w(buf.data(), buf.size());
  SenderInfo info;
  info.ntp = NtpFromUnixMs(1700000000250);
  CHECK(w.AddSenderReport(1, info, nullptr, 0) == 28);
  const auto sr = SenderReport::Parse(First(w));
  REQUIRE(sr.has_value());
  CHECK(sr->NtpSeconds() == 1700000000u + 2208988800u);
  CHECK(sr->NtpFraction() == 0x40000000u);
  // What a receiver puts in LSR for this SR.
  CHECK(NtpTime{sr->NtpSeconds(), sr->NtpFraction()}.Compact() == info.ntp.Compact());
}
