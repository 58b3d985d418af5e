// The codec units make no allocator calls: parse, rewrite, write per packet
// for VP8, VP9 (with SS), H264 (STAP-A) and Opus. Linked with AllocCounter.cpp.
#include "AllocCounter.hpp"
#include "sluice/rtp/codecs/H264.hpp"
#include "sluice/rtp/codecs/Opus.hpp"
#include "sluice/rtp/codecs/Vp8.hpp"
#include "sluice/rtp/codecs/Vp9.hpp"

#include <catch2/catch.hpp>

#include <cstdint>

using namespace sluice::rtp::codecs;

TEST_CASE("codecs: parse, rewrite and write make zero allocations", "[rtp][codecs][alloc]") {
  uint8_t vp8[] = {0x90, 0xE0, 0x80, 0x00, 0x00, 0x40, 0x10, 0x00};
  const uint8_t vp9[] = {0xAA, 0x80, 0x01, 0x00, 0x09, 0x58, 0x01, 0x40, 0x00, 0xB4, 0x02, 0x80,
                         0x01, 0x68, 0x05, 0x00, 0x02, 0xD0, 0x02, 0x04, 0x02, 0x34, 0x01, 0x42};
  const uint8_t h264[] = {0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x03, 0x65, 0x88, 0x84};
  const uint8_t opus[] = {0xFB, 0x83, 0x01, 0x02, 1, 2, 2, 3, 3, 3};
  Vp8Rewriter vp8Rw;
  Vp9Rewriter vp9Rw;
  uint8_t out[64];
  uint64_t bytes = 0;
  int failures = 0;
  sluice::test::AllocScope scope;
  for (uint16_t i = 0; i < 5000; ++i) {
    vp8[2] = static_cast<uint8_t>(0x80 | (i >> 8 & 0x7F));
    vp8[3] = static_cast<uint8_t>(i & 0xFF);
    vp8[5] = static_cast<uint8_t>((i % 2) << 6);
    const auto d8 = ParseVp8(vp8, sizeof(vp8));
    PictureIdOut o;
    if (!d8)
      ++failures;
    else if (d8->tid > 0 && i % 4 == 1)
      vp8Rw.Drop(*d8);
    else if (vp8Rw.Rewrite(*d8, i % 1000 == 0, &o))
      bytes += WriteVp8Descriptor(*d8, o, out, sizeof(out));
    const auto d9 = ParseVp9(vp9, sizeof(vp9));
    if (d9 && vp9Rw.Rewrite(*d9, false, &o))
      bytes += WriteVp9Descriptor(vp9, *d9, o, out, sizeof(out));
    const auto ss = ParseVp9Ss(vp9 + 5, sizeof(vp9) - 5);
    const auto h = ParseH264(h264, sizeof(h264));
    const auto op = ParseOpus(opus, sizeof(opus));
    if (!d9 || !ss || !h || !op)
      ++failures;
  }
  CHECK(scope.Count() == 0);
  CHECK(failures == 0);
  CHECK(bytes > 0);
}
