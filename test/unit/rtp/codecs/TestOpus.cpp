// Opus framing (RFC 6716 §3.2, R1-R7) and the DTX rule (see Opus.hpp).
#include "CodecTestUtil.hpp"
#include "sluice/rtp/codecs/Opus.hpp"

#include <catch2/catch.hpp>

using namespace sluice::rtp::codecs;
using sluice::rtp::codecs::test::Bytes;
using sluice::rtp::codecs::test::Exact;

namespace {

std::optional<OpusInfo> Parse(const Bytes& b) {
  const Exact e(b);
  return ParseOpus(e.data(), e.size());
}
bool Dtx(const Bytes& b) {
  const Exact e(b);
  return IsOpusDtx(e.data(), e.size());
}

constexpr uint8_t kCelt20 = 0xF8; // config 31 (CELT FB 20 ms), mono, code 0

} // namespace

TEST_CASE("Opus: TOC byte", "[rtp][codecs][opus]") {
  const auto i = Parse({0x7C, 0x01, 0x02}); // config 15 (hybrid FB 20 ms), stereo, code 0
  REQUIRE(i);
  CHECK(i->config == 15);
  CHECK(i->stereo);
  CHECK(i->code == 0);
  CHECK(i->frameCount == 1);
  CHECK(i->frameDurationTenthsMs == 200);
  CHECK(i->largestFrame == 2);
  CHECK_FALSE(i->dtx);
  CHECK(Parse({0x18})->frameDurationTenthsMs == 600); // SILK 60 ms (config 3)
  CHECK(Parse({0x80})->frameDurationTenthsMs == 25);  // CELT 2.5 ms (config 16)
  CHECK_FALSE(Parse({}));                             // R1
}

TEST_CASE("Opus: DTX packets", "[rtp][codecs][opus][dtx]") {
  CHECK(Dtx({kCelt20}));                            // TOC only: one 0-byte frame
  CHECK(Dtx({kCelt20, 0x00}));                      // code 0, one 1-byte frame
  CHECK_FALSE(Dtx({kCelt20, 0x00, 0x00}));          // a 2-byte frame is audio
  CHECK(Dtx({0xF9}));                               // code 1, two 0-byte frames
  CHECK(Dtx({0xF9, 0x01, 0x02}));                   // code 1, two 1-byte frames
  CHECK_FALSE(Dtx({0xF9, 0x01}));                   // code 1 with an odd remainder: invalid (R3)
  CHECK(Dtx({0xFA, 0x00}));                         // code 2, both frames empty
  CHECK(Dtx({0xFA, 0x01, 0x09, 0x09}));             // code 2, 1 + 1
  CHECK_FALSE(Dtx({0xFA, 0x01, 0x09, 0x09, 0x09})); // 1 + 2
  CHECK(Dtx({0xFB, 0x03}));                         // code 3, CBR, 3 empty frames
  CHECK(Dtx({0xFB, 0x43, 0x02, 0x00, 0x00}));       // code 3, padding 2, 3 empty frames
  CHECK_FALSE(Dtx({0xFB, 0x00}));                   // M = 0: invalid (R5)
}

TEST_CASE("Opus: code 2 and 3 framing limits", "[rtp][codecs][opus]") {
  // Code 2: two-byte length 252 + 4*1 = 256 > what is there.
  CHECK_FALSE(Parse({0xFA, 0xFC, 0x01, 0x00}));
  Bytes two = {0xFA, 0xFC, 0x00};
  two.resize(3 + 252 + 10, 0x55);
  const auto t = Parse(two);
  REQUIRE(t);
  CHECK(t->largestFrame == 252);
  // Code 3 VBR: M=3, lengths 1 and 2, last frame gets the rest (3 bytes).
  const auto v = Parse({0xFB, 0x83, 0x01, 0x02, 1, 2, 2, 3, 3, 3});
  REQUIRE(v);
  CHECK(v->frameCount == 3);
  CHECK(v->largestFrame == 3);
  CHECK_FALSE(Parse({0xFB, 0x83, 0x05, 0x02, 1, 2})); // lengths exceed the packet (R7)
  // CBR remainder must divide by M (R6).
  CHECK_FALSE(Parse({0xFB, 0x02, 1, 2, 3}));
  // 120 ms limit: CELT 20 ms x 6 is fine, x 7 is not (R5).
  CHECK(Parse({0xFB, 0x06}));
  CHECK_FALSE(Parse({0xFB, 0x07}));
  // Padding of 254 + 1 more than available.
  CHECK_FALSE(Parse({0xFB, 0x41, 0xFF, 0x01}));
  // Truncations of a padded VBR packet never parse past the end.
  const Bytes p = {0xFB, 0xC2, 0x01, 0x02, 7, 8, 8, 0};
  for (size_t n = 0; n <= p.size(); ++n) {
    const Exact e(p, n);
    (void)ParseOpus(e.data(), e.size());
  }
  CHECK(Parse(p));
}
