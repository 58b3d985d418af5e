// VP9 descriptor (RFC 9628 §4.2, SS §4.2.1): flexible and non-flexible
// mode from byte literals, every truncation rejected, write/re-parse, the SVC
// helpers and the PictureID/TL0PICIDX rewrite.
#include "CodecTestUtil.hpp"
#include "sluice/rtp/codecs/Vp9.hpp"

#include <catch2/catch.hpp>

using namespace sluice::rtp::codecs;
using sluice::rtp::codecs::test::Bytes;
using sluice::rtp::codecs::test::Exact;

namespace {

std::optional<Vp9Descriptor> Parse(const Bytes& b) {
  const Exact e(b);
  return ParseVp9(e.data(), e.size());
}

// Every prefix shorter than the descriptor is rejected.
void CheckTruncations(const Bytes& b, size_t descLen) {
  for (size_t n = 0; n < descLen; ++n) {
    INFO("prefix " << n);
    const Exact e(b, n);
    CHECK_FALSE(ParseVp9(e.data(), e.size()));
  }
}

// SS: N_S=2 (3 layers), Y, G; 320x180, 640x360, 1280x720; N_G=2:
// TID 0 U=0 R=1 P_DIFF 2; TID 1 U=1 R=1 P_DIFF 1.
const Bytes kSs = {0x58, 0x01, 0x40, 0x00, 0xB4, 0x02, 0x80, 0x01, 0x68,
                   0x05, 0x00, 0x02, 0xD0, 0x02, 0x04, 0x02, 0x34, 0x01};

Bytes Cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

} // namespace

TEST_CASE("VP9: non-flexible with 15-bit PictureID, layers, TL0PICIDX", "[rtp][codecs][vp9]") {
  // I L B E | M pid 0x1234 | TID 2 U SID 1 D | TL0PICIDX 0xFE | payload
  const Bytes b = {0xAC, 0x92, 0x34, 0x53, 0xFE, 0x00};
  const auto d = Parse(b);
  REQUIRE(d);
  CHECK(d->hasPictureId);
  CHECK(d->pictureIdLong);
  CHECK(d->pictureId == 0x1234);
  CHECK(d->hasLayerIndices);
  CHECK_FALSE(d->flexible);
  CHECK(d->tid == 2);
  CHECK(d->switchingUp);
  CHECK(d->sid == 1);
  CHECK(d->interLayerDep);
  CHECK(d->hasTl0PicIdx);
  CHECK(d->tl0PicIdx == 0xFE);
  CHECK(d->beginOfFrame);
  CHECK(d->endOfFrame);
  CHECK(d->size == 5);
  CHECK_FALSE(d->keyFrame); // SID 1
  CheckTruncations(b, 5);
}

TEST_CASE("VP9: 7-bit PictureID, no layer indices", "[rtp][codecs][vp9]") {
  const auto d = Parse({0x88, 0x05, 0x00});
  REQUIRE(d);
  CHECK_FALSE(d->pictureIdLong);
  CHECK(d->pictureId == 5);
  CHECK(d->size == 2);
  CHECK(d->keyFrame);
  CHECK_FALSE(d->hasTl0PicIdx);
  // Descriptor only (no payload) is accepted.
  CHECK(Parse({0x08}));
  CHECK_FALSE(Parse({}));
}

TEST_CASE("VP9: flexible mode with P_DIFFs", "[rtp][codecs][vp9]") {
  // I P L F B | M pid 300 | TID 1 SID 0 | P_DIFF 1 N, P_DIFF 3 N, P_DIFF 127
  const Bytes b = {0xF8, 0x81, 0x2C, 0x20, 0x03, 0x07, 0xFE, 0xAA};
  const auto d = Parse(b);
  REQUIRE(d);
  CHECK(d->flexible);
  CHECK(d->interPredicted);
  CHECK_FALSE(d->hasTl0PicIdx);
  CHECK(d->pictureId == 300);
  CHECK(d->pDiffCount == 3);
  CHECK(d->pDiff[0] == 1);
  CHECK(d->pDiff[1] == 3);
  CHECK(d->pDiff[2] == 127);
  CHECK(d->size == 7);
  CHECK_FALSE(d->keyFrame);
  CheckTruncations(b, 7);
  // A fourth P_DIFF (N set on the third) is malformed.
  CHECK_FALSE(Parse({0xF8, 0x81, 0x2C, 0x20, 0x03, 0x07, 0xFF, 0x02}));
  // Flexible without P: no P_DIFF.
  const auto k = Parse({0xB8, 0x81, 0x2C, 0x00, 0xAA});
  REQUIRE(k);
  CHECK(k->pDiffCount == 0);
  CHECK(k->size == 4);
  CHECK(k->keyFrame);
}

TEST_CASE("VP9: scalability structure", "[rtp][codecs][vp9]") {
  // I L B V, non-flexible | pid 0x0001 | TID 0 SID 0 | TL0 9 | SS | payload
  const Bytes b = Cat(Cat({0xAA, 0x80, 0x01, 0x00, 0x09}, kSs), {0x42});
  const auto d = Parse(b);
  REQUIRE(d);
  CHECK(d->hasSs);
  CHECK(d->ssOffset == 5);
  CHECK(d->ssSize == kSs.size());
  CHECK(d->size == 5 + kSs.size());
  CHECK(d->keyFrame);
  CheckTruncations(b, d->size);
  size_t used = 0;
  const auto ss = ParseVp9Ss(b.data() + d->ssOffset, d->ssSize, &used);
  REQUIRE(ss);
  CHECK(used == kSs.size());
  CHECK(ss->spatialLayers == 3);
  CHECK(ss->hasResolution);
  CHECK(ss->width[0] == 320);
  CHECK(ss->height[0] == 180);
  CHECK(ss->width[2] == 1280);
  CHECK(ss->height[2] == 720);
  CHECK(ss->hasPg);
  CHECK(ss->pgSize == 2);
  CHECK(ss->pg[0].tid == 0);
  CHECK_FALSE(ss->pg[0].switchingUp);
  CHECK(ss->pg[0].refCount == 1);
  CHECK(ss->pg[0].pDiff[0] == 2);
  CHECK(ss->pg[1].tid == 1);
  CHECK(ss->pg[1].switchingUp);
  CHECK(ss->pg[1].pDiff[0] == 1);
  // Minimal SS: one layer, no Y, no G.
  const auto m = Parse({0x0A, 0x00});
  REQUIRE(m);
  CHECK(m->ssSize == 1);
  // Y with too few resolution bytes.
  CHECK_FALSE(Parse({0x0A, 0x10, 0x01, 0x40, 0x00}));
}

TEST_CASE("VP9: key frame and switching points", "[rtp][codecs][vp9]") {
  CHECK(Parse({0x08})->keyFrame);
  CHECK_FALSE(Parse({0x48})->keyFrame); // P
  CHECK_FALSE(Parse({0x00})->keyFrame); // not B
  // SID 1 with P=0: a spatial switching point but not a key frame.
  const auto s1 = Parse({0x28, 0x03, 0x00});
  REQUIRE(s1);
  CHECK_FALSE(s1->keyFrame);
  CHECK(IsSpatialSwitchingUpPoint(*s1));
  CHECK_FALSE(IsTemporalSwitchingUpPoint(*s1));
  const auto u = Parse({0x68, 0x30, 0x00});
  REQUIRE(u);
  CHECK(IsTemporalSwitchingUpPoint(*u));
  CHECK_FALSE(IsSpatialSwitchingUpPoint(*u));
}

TEST_CASE("VP9: marker of the highest forwarded spatial layer", "[rtp][codecs][vp9]") {
  // SID 1 with E, upper layer 2 dropped: marker set.
  const auto e1 = Parse({0x24, 0x02, 0x00});
  REQUIRE(e1);
  CHECK(ForwardedMarker(*e1, false, 1));
  CHECK_FALSE(ForwardedMarker(*e1, false, 2));
  CHECK(ForwardedMarker(*e1, true, 2));
  // Not the end of the layer frame: no marker.
  const auto m1 = Parse({0x20, 0x02, 0x00});
  CHECK_FALSE(ForwardedMarker(*m1, false, 1));
}

TEST_CASE("VP9: write and re-parse keeps P_DIFF and SS", "[rtp][codecs][vp9]") {
  const Bytes b = Cat(Cat({0xBA, 0x05, 0x00}, kSs), {0x42}); // I L F B V, 7-bit pid
  const auto d = Parse(b);
  REQUIRE(d);
  uint8_t out[64];
  const size_t n = WriteVp9Descriptor(b.data(), *d, PictureIdOut{0x7FFF, 0}, out, sizeof(out));
  REQUIRE(n == size_t{d->size} + 1u);
  const auto back = ParseVp9(out, n);
  REQUIRE(back);
  CHECK(back->pictureIdLong);
  CHECK(back->pictureId == 0x7FFF);
  CHECK(back->ssSize == d->ssSize);
  CHECK(Bytes(out + back->ssOffset, out + n) == kSs);
  CHECK(WriteVp9Descriptor(b.data(), *d, PictureIdOut{}, out, n - 1) == 0);

  const Bytes f = {0xF8, 0x81, 0x2C, 0x20, 0x03, 0x07, 0xFE, 0xAA};
  const auto fd = Parse(f);
  const size_t fn = WriteVp9Descriptor(f.data(), *fd, PictureIdOut{0x0102, 0}, out, sizeof(out));
  CHECK(Bytes(out, out + fn) == Bytes{0xF8, 0x81, 0x02, 0x20, 0x03, 0x07, 0xFE});
  // Non-flexible: TL0PICIDX rewritten.
  const Bytes nf = {0xAC, 0x92, 0x34, 0x53, 0xFE, 0x00};
  const auto nd = Parse(nf);
  const size_t nn = WriteVp9Descriptor(nf.data(), *nd, PictureIdOut{0x0001, 0x01}, out, 8);
  CHECK(Bytes(out, out + nn) == Bytes{0xAC, 0x80, 0x01, 0x53, 0x01});
}

TEST_CASE("VP9 rewrite: switch continues at last + 1, spatial layers share an id",
          "[rtp][codecs][vp9][rewrite]") {
  Vp9Rewriter rw;
  PictureIdOut out;
  Vp9Descriptor d;
  d.hasPictureId = d.pictureIdLong = d.hasLayerIndices = d.hasTl0PicIdx = true;
  d.pictureId = 32766;
  d.tl0PicIdx = 255;
  REQUIRE(rw.Rewrite(d, false, &out));
  d.sid = 1; // same picture, upper spatial layer
  REQUIRE(rw.Rewrite(d, false, &out));
  CHECK(out.pictureId == 32766);
  d.sid = 0;
  d.pictureId = 32767;
  REQUIRE(rw.Rewrite(d, false, &out));
  CHECK(out.pictureId == 32767);
  d.pictureId = 0;
  d.tl0PicIdx = 0;
  REQUIRE(rw.Rewrite(d, false, &out));
  CHECK(out.pictureId == 0);
  CHECK(out.tl0PicIdx == 0);
  // Temporal drops keep their gap in VP9 (flexible P_DIFFs count in ids).
  d.pictureId = 3;
  REQUIRE(rw.Rewrite(d, false, &out));
  CHECK(out.pictureId == 3);
  // Switch to another stream.
  d.pictureId = 900;
  d.tl0PicIdx = 77;
  REQUIRE(rw.Rewrite(d, true, &out));
  CHECK(out.pictureId == 4);
  CHECK(out.tl0PicIdx == 1);
  d.sid = 2;
  REQUIRE(rw.Rewrite(d, false, &out));
  CHECK(out.pictureId == 4);
}
