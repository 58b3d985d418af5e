// libFuzzer target: VP9 descriptor and SS (RFC 9628 §4.2, §4.2.1) parse on
// arbitrary bytes and every prefix; parse -> rewrite -> write -> re-parse,
// where the re-parsed fields must be the input's with the rewritten PictureID
// (15-bit) and TL0PICIDX, P_DIFFs and SS intact.
//
// Input: [ctrl][pidHi][pidLo][tl0][payload ...]; ctrl bit 0: switch stream.
#include "FuzzCodecCommon.hpp"
#include "sluice/rtp/codecs/Vp9.hpp"

#include <cstdint>
#include <vector>

using namespace sluice::rtp::codecs;

namespace {

constexpr const char* kName = "FuzzVp9";

void RoundTrip(const uint8_t* ctrl, const uint8_t* p, size_t len) {
  const fuzz::Exact e(p, len);
  const auto d = ParseVp9(e.data(), e.size());
  if (!d)
    return;
  FUZZ_CHECK(kName, d->size >= 1 && d->size <= len);
  FUZZ_CHECK(kName, d->pDiffCount <= 3);
  if (d->hasSs) {
    size_t used = 0;
    const auto ss = ParseVp9Ss(e.data() + d->ssOffset, d->ssSize, &used);
    FUZZ_CHECK(kName, ss.has_value() && used == d->ssSize);
    FUZZ_CHECK(kName, ss->spatialLayers >= 1 && ss->spatialLayers <= Vp9Ss::kMaxSpatial);
  }

  Vp9Rewriter rw;
  Vp9Descriptor prior;
  prior.hasPictureId = prior.pictureIdLong = prior.hasTl0PicIdx = true;
  prior.pictureId = static_cast<uint16_t>(ctrl[1] << 8 | ctrl[2]) & 0x7FFF;
  prior.tl0PicIdx = ctrl[3];
  PictureIdOut priorOut;
  rw.Rewrite(prior, false, &priorOut);
  const bool switching = (ctrl[0] & 1) != 0;
  PictureIdOut out;
  if (!rw.Rewrite(*d, switching, &out))
    return;
  if (switching && d->hasPictureId)
    FUZZ_CHECK(kName, out.pictureId == ((priorOut.pictureId + 1) & 0x7FFF));
  if (switching && d->hasTl0PicIdx)
    FUZZ_CHECK(kName, out.tl0PicIdx == static_cast<uint8_t>(priorOut.tl0PicIdx + 1));

  std::vector<uint8_t> buf(size_t{d->size} + 1);
  const size_t n = WriteVp9Descriptor(e.data(), *d, out, buf.data(), buf.size());
  FUZZ_CHECK(kName, n == d->size + ((d->hasPictureId && !d->pictureIdLong) ? 1u : 0u));
  const fuzz::Exact w(buf.data(), n);
  const auto b = ParseVp9(w.data(), w.size());
  FUZZ_CHECK(kName, b.has_value());
  FUZZ_CHECK(kName, b->size == n);
  FUZZ_CHECK(kName, b->hasPictureId == d->hasPictureId);
  FUZZ_CHECK(kName, b->interPredicted == d->interPredicted);
  FUZZ_CHECK(kName, b->hasLayerIndices == d->hasLayerIndices && b->flexible == d->flexible);
  FUZZ_CHECK(kName, b->beginOfFrame == d->beginOfFrame && b->endOfFrame == d->endOfFrame);
  FUZZ_CHECK(kName, b->hasSs == d->hasSs && b->notRefForUpper == d->notRefForUpper);
  if (d->hasPictureId)
    FUZZ_CHECK(kName, b->pictureIdLong && b->pictureId == out.pictureId);
  FUZZ_CHECK(kName, b->tid == d->tid && b->switchingUp == d->switchingUp);
  FUZZ_CHECK(kName, b->sid == d->sid && b->interLayerDep == d->interLayerDep);
  FUZZ_CHECK(kName, b->hasTl0PicIdx == d->hasTl0PicIdx);
  if (d->hasTl0PicIdx)
    FUZZ_CHECK(kName, b->tl0PicIdx == out.tl0PicIdx);
  FUZZ_CHECK(kName, b->pDiffCount == d->pDiffCount);
  for (uint8_t i = 0; i < d->pDiffCount; ++i)
    FUZZ_CHECK(kName, b->pDiff[i] == d->pDiff[i]);
  FUZZ_CHECK(kName, b->ssSize == d->ssSize);
  if (d->ssSize != 0)
    FUZZ_CHECK(kName, std::memcmp(w.data() + b->ssOffset, e.data() + d->ssOffset, d->ssSize) == 0);
  FUZZ_CHECK(kName, b->keyFrame == d->keyFrame);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4)
    return 0;
  const uint8_t* payload = data + 4;
  const size_t len = size - 4;
  for (size_t cut = 0; cut <= len && cut < 48; ++cut) {
    const fuzz::Exact e(payload, cut);
    (void)ParseVp9(e.data(), e.size());
    (void)ParseVp9Ss(e.data(), e.size());
  }
  RoundTrip(data, payload, len);
  return 0;
}
