// Proves the per-packet RTP path makes no allocator calls: parse,
// GetExtension, per-consumer rewrite, RTX build and decapsulation, unwrap.
// Linked with AllocCounter.cpp, which counts every operator new.
#include "AllocCounter.hpp"
#include "sluice/rtp/RtpWriter.hpp"
#include "sluice/rtp/SeqMath.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <vector>

using namespace sluice::rtp;

namespace {

// A mix of shapes: one-byte and two-byte extensions, CSRCs, padding.
std::vector<std::vector<uint8_t>> MakePackets() {
  std::vector<std::vector<uint8_t>> packets;
  // clang-format off
  packets.push_back({0xB1, 0xE0, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x11, 0x22, 0x33, 0x44,
                     0xAA, 0xBB, 0xCC, 0xDD, 0xBE, 0xDE, 0x00, 0x03, 0x10, 0x42, 0x00, 0x22,
                     0x01, 0x02, 0x03, 0x51, 0xAA, 0xBB, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04,
                     0x05, 0x00, 0x00, 0x03});
  // clang-format on
  // clang-format off
  packets.push_back({0x90, 0x6F, 0xFF, 0xFF, 0, 0, 0, 1, 1, 2, 3, 4, 0x10, 0x00, 0x00, 0x03,
                     0x01, 0x00, 0x00, 0x20, 0x03, 0xA1, 0xA2, 0xA3, 0x05, 0x01, 0x77, 0x00,
                     0xCA, 0xFE});
  // clang-format on
  // clang-format off
  std::vector<uint8_t> big = {0x90, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
                              0xBE, 0xDE, 0x00, 0x01, 0x12, 0x01, 0x02, 0x03};
  // clang-format on
  big.resize(1200, 0x5A); // a typical video payload size
  packets.push_back(big);
  return packets;
}

} // namespace

TEST_CASE("RTP per-packet path makes zero allocations after warm-up", "[rtp][alloc]") {
  const auto packets = MakePackets();
  ExtensionIdMap map = ExtensionIdMap::Identity();
  map.Set(2, 0);
  const uint8_t mid[] = {'v', 'i', 'd', 'e', 'o'};
  uint8_t absSendTime[3] = {};
  const HeaderExtension extra[] = {{4, {mid, sizeof(mid)}}, {3, {absSendTime, 3}}};
  RtpRewrite rw;
  rw.ssrc = 0x01020304;
  rw.payloadType = 100;
  rw.idMap = &map;
  rw.extra = extra;
  rw.extraCount = 2;
  const RtxRewrite rtx{0x0A0B0C0D, 101, 0};
  std::array<uint8_t, 1500> out{};
  std::array<uint8_t, 1500> rtxOut{};
  std::array<uint8_t, 1500> back{};
  SeqUnwrapper seqs;
  TsUnwrapper stamps;

  constexpr int kPackets = 100000;
  uint64_t failures = 0;
  uint64_t extensionBytes = 0;
  uint64_t bytesOut = 0;
  uint32_t sent = 0; // packets through the path, across warm-up and measurement
  auto run = [&](int count) {
    for (int k = 0; k < count; ++k) {
      const uint32_t i = sent++;
      const auto& raw = packets[static_cast<size_t>(i) % packets.size()];
      ParseError why;
      const auto pkt = RtpPacket::Parse(raw.data(), raw.size(), &why);
      if (!pkt) {
        ++failures;
        continue;
      }
      extensionBytes += pkt->GetExtension(1).size + pkt->GetExtension(5).size;
      seqs.Unwrap(static_cast<uint16_t>(i));
      stamps.Unwrap(i * 3000u);
      rw.sequenceNumber = static_cast<uint16_t>(i);
      rw.timestamp = i * 3000u;
      absSendTime[2] = static_cast<uint8_t>(i);
      const size_t n = RtpWriter::Write(*pkt, rw, out.data(), out.size());
      const size_t r = RtpWriter::WriteRtx(*pkt, rw, rtx, rtxOut.data(), rtxOut.size());
      const auto rtxPkt = RtpPacket::Parse(rtxOut.data(), r);
      const size_t b = rtxPkt ? RtpWriter::RtxDecapsulate(*rtxPkt, rw.ssrc, rw.payloadType,
                                                          back.data(), back.size())
                              : 0;
      if (n == 0 || r != n + 2 || b != n)
        ++failures;
      bytesOut += n + r;
    }
  };

  run(1000); // warm-up (nothing to warm, but the rule is "after warm-up")
  failures = 0;
  sluice::test::AllocScope scope;
  run(kPackets);
  const uint64_t allocations = scope.Count();

  CHECK(allocations == 0);
  CHECK(failures == 0);
  CHECK(extensionBytes > 0);
  CHECK(bytesOut > uint64_t{kPackets} * 30);
  CHECK(seqs.Last().value_or(0) == kPackets + 1000 - 1);                   // unwrapped past 65535
  CHECK(stamps.Last().value_or(0) == int64_t{kPackets + 1000 - 1} * 3000); // past 2^32
}
