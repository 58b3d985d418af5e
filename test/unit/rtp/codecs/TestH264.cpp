// H264 (RFC 6184): single NAL, STAP-A, FU-A from byte literals; truncations;
// and the Frame Marking extension (RFC 9626).
#include "CodecTestUtil.hpp"
#include "sluice/rtp/codecs/H264.hpp"

#include <catch2/catch.hpp>

using namespace sluice::rtp::codecs;
using sluice::rtp::codecs::test::Bytes;
using sluice::rtp::codecs::test::Exact;

namespace {

std::optional<H264Info> Parse(const Bytes& b) {
  const Exact e(b);
  return ParseH264(e.data(), e.size());
}

} // namespace

TEST_CASE("H264: single NAL unit packets", "[rtp][codecs][h264]") {
  auto i = Parse({0x65, 0x88});
  REQUIRE(i);
  CHECK(i->packet == H264Packet::Single);
  CHECK(i->nalType == 5);
  CHECK(i->hasIdr);
  CHECK(i->keyFrame);
  i = Parse({0x67, 0x42});
  CHECK(i->hasSps);
  CHECK(i->keyFrame);
  i = Parse({0x68, 0xCE});
  CHECK(i->hasPps);
  CHECK_FALSE(i->keyFrame);
  i = Parse({0x41, 0x9A});
  CHECK(i->nalType == 1);
  CHECK_FALSE(i->keyFrame);
  CHECK_FALSE(Parse({}));
  CHECK_FALSE(Parse({0x00}));                // type 0
  for (uint8_t t : {25, 26, 27, 29, 30, 31}) // STAP-B, MTAPs, FU-B, reserved
    CHECK_FALSE(Parse({static_cast<uint8_t>(0x60 | t), 0x00, 0x01, 0x65}));
}

TEST_CASE("H264: STAP-A with several NAL units", "[rtp][codecs][h264]") {
  const Bytes b = {0x78, 0x00, 0x04, 0x67, 0x42, 0xC0, 0x1F, 0x00,
                   0x02, 0x68, 0xCE, 0x00, 0x03, 0x65, 0x88, 0x84}; // SPS, PPS, IDR
  const auto i = Parse(b);
  REQUIRE(i);
  CHECK(i->packet == H264Packet::StapA);
  CHECK(i->nalCount == 3);
  CHECK(i->nalType == 7);
  CHECK(i->hasSps);
  CHECK(i->hasPps);
  CHECK(i->hasIdr);
  CHECK(i->keyFrame);
  // Every prefix is malformed (ends inside a size or a unit) except the
  // ones that end exactly after a unit.
  for (size_t n = 0; n < b.size(); ++n) {
    INFO("prefix " << n);
    const Exact e(b, n);
    const auto p = ParseH264(e.data(), e.size());
    const bool unitBoundary = n == 7 || n == 11;
    CHECK(p.has_value() == unitBoundary);
  }
  const auto nonKey = Parse({0x78, 0x00, 0x02, 0x68, 0xCE, 0x00, 0x02, 0x41, 0x9A});
  REQUIRE(nonKey);
  CHECK(nonKey->nalCount == 2);
  CHECK_FALSE(nonKey->keyFrame);
  CHECK_FALSE(Parse({0x78, 0x00, 0x00, 0x65}));       // zero-size unit
  CHECK_FALSE(Parse({0x78, 0x00, 0x01, 0x65, 0x00})); // trailing byte
}

TEST_CASE("H264: FU-A start, middle, end", "[rtp][codecs][h264]") {
  auto s = Parse({0x7C, 0x85, 0x88});
  REQUIRE(s);
  CHECK(s->packet == H264Packet::FuA);
  CHECK(s->fuStart);
  CHECK_FALSE(s->fuEnd);
  CHECK(s->nalType == 5);
  CHECK(s->keyFrame);
  auto m = Parse({0x7C, 0x05, 0x88});
  REQUIRE(m);
  CHECK_FALSE(m->fuStart);
  CHECK_FALSE(m->fuEnd);
  CHECK(m->nalType == 5);
  CHECK_FALSE(m->keyFrame); // only the start fragment starts the IDR
  auto e = Parse({0x7C, 0x45, 0x88});
  REQUIRE(e);
  CHECK(e->fuEnd);
  CHECK_FALSE(e->keyFrame);
  CHECK_FALSE(Parse({0x7C})); // no FU header
}

TEST_CASE("H264: frame marking short and scalable forms", "[rtp][codecs][h264][framemarking]") {
  const uint8_t shortForm[] = {0xAA}; // S I B, TID 2
  auto fm = ParseFrameMarking(shortForm, 1);
  REQUIRE(fm);
  CHECK(fm->start);
  CHECK_FALSE(fm->end);
  CHECK(fm->independent);
  CHECK_FALSE(fm->discardable);
  CHECK(fm->baseLayerSync);
  CHECK(fm->tid == 2);
  CHECK_FALSE(fm->hasLid);
  const uint8_t longForm[] = {0x51, 0x03, 0x9C}; // E D, TID 1, LID 3, TL0PICIDX 0x9C
  fm = ParseFrameMarking(longForm, 3);
  REQUIRE(fm);
  CHECK(fm->end);
  CHECK(fm->discardable);
  CHECK(fm->tid == 1);
  CHECK(fm->lid == 3);
  CHECK(fm->tl0PicIdx == 0x9C);
  CHECK_FALSE(ParseFrameMarking(longForm, 0));
  const uint8_t four[] = {0, 0, 0, 0};
  CHECK_FALSE(ParseFrameMarking(four, 4));
  uint8_t out[3];
  REQUIRE(WriteFrameMarking(*fm, out, 3) == 3);
  CHECK(Bytes(out, out + 3) == Bytes(longForm, longForm + 3));
  CHECK(WriteFrameMarking(*fm, out, 2) == 0);
}
