#include "sluice/rtp/VideoOrientation.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "sluice/rtp/RtpPacket.hpp"

using sluice::rtp::ByteView;
using sluice::rtp::ParseVideoOrientation;
using sluice::rtp::RtpPacket;
using sluice::rtp::VideoOrientation;
using sluice::rtp::VideoOrientationTracker;

namespace {

using Bytes = std::vector<uint8_t>;

// An RTP packet (PT 96, seq 1, ts 100, SSRC 0x1234) whose one-byte-form
// extension block carries `element` (already encoded: id/len byte and value),
// padded to a word, and a 2-byte payload.
Bytes PacketWith(const Bytes& element) {
  Bytes p = {0x90, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x12, 0x34};
  Bytes block = element;
  while (block.size() % 4 != 0)
    block.push_back(0x00);
  p.insert(p.end(), {0xBE, 0xDE, 0x00, static_cast<uint8_t>(block.size() / 4)});
  p.insert(p.end(), block.begin(), block.end());
  p.insert(p.end(), {0xAA, 0xBB});
  return p;
}

std::optional<VideoOrientation> FromPacket(const Bytes& bytes, uint8_t id) {
  const auto packet = RtpPacket::Parse(bytes.data(), bytes.size());
  REQUIRE(packet);
  return ParseVideoOrientation(packet->GetExtension(id));
}

} // namespace

TEST_CASE("VideoOrientation: every C/F/R1R0 combination from a one-byte element", "[rtp][cvo]") {
  for (uint8_t low = 0; low < 16; ++low) {
    // Element id 3, length 1 (L = 0), value 0000CFRR.
    const auto o = FromPacket(PacketWith({0x30, low}), 3);
    REQUIRE(o);
    CHECK(o->camera == ((low & 0x08) != 0));
    CHECK(o->flip == ((low & 0x04) != 0));
    CHECK(o->rotation == 90 * (low & 0x03));
  }
}

TEST_CASE("VideoOrientation: named values", "[rtp][cvo]") {
  SECTION("0x00: front camera, no flip, upright") {
    const auto o = FromPacket(PacketWith({0x30, 0x00}), 3);
    REQUIRE(o);
    CHECK(*o == VideoOrientation{false, false, 0});
  }
  SECTION("0x01: 90 degrees") {
    CHECK(FromPacket(PacketWith({0x30, 0x01}), 3)->rotation == 90);
  }
  SECTION("0x0E: back camera, flipped, 180 degrees") {
    CHECK(*FromPacket(PacketWith({0x30, 0x0E}), 3) == VideoOrientation{true, true, 180});
  }
  SECTION("0x07: front camera, flipped, 270 degrees") {
    CHECK(*FromPacket(PacketWith({0x30, 0x07}), 3) == VideoOrientation{false, true, 270});
  }
  SECTION("the reserved upper bits are ignored") {
    CHECK(*FromPacket(PacketWith({0x30, 0xF9}), 3) == VideoOrientation{true, false, 90});
  }
}

TEST_CASE("VideoOrientation: absent or malformed values give nothing", "[rtp][cvo]") {
  SECTION("no such element in the packet") {
    CHECK_FALSE(FromPacket(PacketWith({0x30, 0x01}), 4));
  }
  SECTION("a two-byte value") {
    CHECK_FALSE(FromPacket(PacketWith({0x31, 0x01, 0x02}), 3));
  }
  SECTION("a zero-length value (two-byte form)") {
    const Bytes p = {0x90, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00,
                     0x12, 0x34, 0x10, 0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00};
    const auto packet = RtpPacket::Parse(p.data(), p.size());
    REQUIRE(packet);
    const auto value = packet->GetExtension(3);
    REQUIRE(value);
    CHECK(value.size == 0);
    CHECK_FALSE(ParseVideoOrientation(value));
  }
  SECTION("a one-byte value in the two-byte form parses the same") {
    const Bytes p = {0x90, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00,
                     0x12, 0x34, 0x10, 0x00, 0x00, 0x01, 0x03, 0x01, 0x0B, 0x00};
    const auto packet = RtpPacket::Parse(p.data(), p.size());
    REQUIRE(packet);
    CHECK(*ParseVideoOrientation(packet->GetExtension(3)) == VideoOrientation{true, false, 270});
  }
  SECTION("an absent view") {
    CHECK_FALSE(ParseVideoOrientation(ByteView{}));
  }
}

TEST_CASE("VideoOrientationTracker: reports the first orientation and each change only",
          "[rtp][cvo]") {
  VideoOrientationTracker t;
  CHECK_FALSE(t.Known());
  const VideoOrientation upright{false, false, 0};
  const VideoOrientation turned{false, false, 90};
  const VideoOrientation back{true, false, 90};
  CHECK(t.Update(upright)); // the first one, even the default orientation
  CHECK(t.Known());
  CHECK_FALSE(t.Update(upright));
  CHECK_FALSE(t.Update(upright));
  CHECK(t.Update(turned));
  CHECK(t.Last() == turned);
  CHECK_FALSE(t.Update(turned));
  CHECK(t.Update(back)); // the camera alone changed
  CHECK(t.Update(turned));
  CHECK(t.Update(upright));
  CHECK(t.Last() == upright);
}
