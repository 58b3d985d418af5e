// ForwardDiffBits / IsNewerBits: serial arithmetic on 15-bit and 7-bit fields
// (VP8/VP9 PictureID), swept across the wrap, checked against IsNewer on a
// type of that exact width where one exists (8 bits) and by brute force.
#include "sluice/rtp/SeqMath.hpp"

#include <catch2/catch.hpp>

#include <cstdint>

using namespace sluice::rtp;

TEST_CASE("SeqMath bits: 15-bit wrap", "[rtp][seqmath]") {
  CHECK(ForwardDiffBits<15>(uint16_t{32767}, uint16_t{0}) == 1);
  CHECK(ForwardDiffBits<15>(uint16_t{32766}, uint16_t{1}) == 3);
  CHECK(ForwardDiffBits<15>(uint16_t{1}, uint16_t{32766}) == 32765);
  CHECK(IsNewerBits<15>(uint16_t{0}, uint16_t{32767}));
  CHECK_FALSE(IsNewerBits<15>(uint16_t{32767}, uint16_t{0}));
  CHECK_FALSE(IsNewerBits<15>(uint16_t{5}, uint16_t{5}));
  // Tie at half the circle: the larger raw value is newer.
  CHECK(IsNewerBits<15>(uint16_t{0x4000}, uint16_t{0}));
  CHECK_FALSE(IsNewerBits<15>(uint16_t{0}, uint16_t{0x4000}));
  // High bits outside the field are ignored.
  CHECK(IsNewerBits<15>(uint16_t{0x8001}, uint16_t{0x0000}));
  for (uint32_t start : {32766u, 32767u, 0u, 16383u}) {
    for (uint32_t d = 1; d < 0x4000; d += 97) {
      const auto a = static_cast<uint16_t>(start & 0x7FFF);
      const auto b = static_cast<uint16_t>((start + d) & 0x7FFF);
      INFO(start << " + " << d);
      CHECK(IsNewerBits<15>(b, a));
      CHECK_FALSE(IsNewerBits<15>(a, b));
      CHECK(ForwardDiffBits<15>(a, b) == d);
    }
  }
}

TEST_CASE("SeqMath bits: 7 bits inside uint16_t agree with brute force", "[rtp][seqmath]") {
  for (uint16_t a = 0; a < 128; ++a) {
    for (uint16_t b = 0; b < 128; ++b) {
      const uint16_t fwd = static_cast<uint16_t>((a + 128 - b) % 128);
      const bool newer = fwd != 0 && (fwd < 64 || (fwd == 64 && a > b));
      CHECK(IsNewerBits<7>(a, b) == newer);
      CHECK(ForwardDiffBits<7>(b, a) == fwd);
    }
  }
}
