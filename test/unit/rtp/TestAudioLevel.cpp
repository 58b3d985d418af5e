#include "sluice/rtp/AudioLevel.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "sluice/rtp/RtpPacket.hpp"

using sluice::rtp::AudioLevel;
using sluice::rtp::ByteView;
using sluice::rtp::ParseAudioLevel;
using sluice::rtp::RtpPacket;

namespace {

using Bytes = std::vector<uint8_t>;

// An RTP packet (PT 111, seq 1, ts 100, SSRC 0x1234) with an extension block
// of `profile` (0xBEDE one-byte, 0x1000 two-byte form) holding `elements`
// padded to a word, and a 2-byte payload.
Bytes PacketWith(uint16_t profile, const Bytes& elements) {
  Bytes p = {0x90, 0x6f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x12, 0x34};
  Bytes block = elements;
  while (block.size() % 4 != 0)
    block.push_back(0x00);
  p.insert(p.end(), {static_cast<uint8_t>(profile >> 8), static_cast<uint8_t>(profile), 0x00,
                     static_cast<uint8_t>(block.size() / 4)});
  p.insert(p.end(), block.begin(), block.end());
  p.insert(p.end(), {0xAA, 0xBB});
  return p;
}

std::optional<AudioLevel> FromPacket(const Bytes& bytes, uint8_t id) {
  const auto packet = RtpPacket::Parse(bytes.data(), bytes.size());
  REQUIRE(packet);
  return ParseAudioLevel(packet->GetExtension(id));
}

} // namespace

TEST_CASE("audio level: one-byte form, level and voice bit", "[rtp][audiolevel]") {
  // id 1, length 1: V=1, level 30 (-30 dBov).
  const auto l = FromPacket(PacketWith(0xBEDE, {0x10, 0x80 | 30}), 1);
  REQUIRE(l);
  CHECK(l->dbov == 30);
  CHECK(l->voice);
  const auto quiet = FromPacket(PacketWith(0xBEDE, {0x10, 127}), 1);
  REQUIRE(quiet);
  CHECK(quiet->dbov == 127);
  CHECK_FALSE(quiet->voice);
}

TEST_CASE("audio level: two-byte form, after another element, padded value", "[rtp][audiolevel]") {
  // id 3 (2 bytes of other data), then id 10 with a 2-byte value: V=0, level 45.
  const auto l = FromPacket(PacketWith(0x1000, {3, 2, 0xAB, 0xCD, 10, 2, 45, 0x00}), 10);
  REQUIRE(l);
  CHECK(l->dbov == 45);
  CHECK_FALSE(l->voice);
}

TEST_CASE("audio level: absent, other id, empty value", "[rtp][audiolevel]") {
  CHECK_FALSE(FromPacket(PacketWith(0xBEDE, {0x10, 30}), 2));
  CHECK_FALSE(FromPacket(PacketWith(0xBEDE, {0x10, 30}), 0));
  // Two-byte form allows a zero-length element: no level in it.
  CHECK_FALSE(FromPacket(PacketWith(0x1000, {5, 0}), 5));
  CHECK_FALSE(ParseAudioLevel(ByteView{}));
}
