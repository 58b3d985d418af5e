// libFuzzer target: VP8 descriptor (RFC 7741 §4.2) parse on arbitrary bytes
// and every prefix; parse -> rewrite -> write -> re-parse, where the re-parsed
// fields must be the input's with the rewritten PictureID (15-bit) and
// TL0PICIDX; and a rewriter fed a frame sequence checked against a model.
//
// Input: [ctrl][pidHi][pidLo][tl0][payload ...]. ctrl bit 0: switch stream on
// the rewrite; bits 1-3: frames dropped before it. The payload is also read
// as a sequence of 3-byte ops for the model check (see RunSequence).
#include "FuzzCodecCommon.hpp"
#include "sluice/rtp/SeqMath.hpp"
#include "sluice/rtp/codecs/Vp8.hpp"

#include <cstdint>

using namespace sluice::rtp;
using namespace sluice::rtp::codecs;

namespace {

constexpr const char* kName = "FuzzVp8";

Vp8Descriptor Frame(uint16_t pid, uint8_t tl0, uint8_t tid) {
  Vp8Descriptor d;
  d.extended = d.hasPictureId = d.pictureIdLong = d.hasTl0PicIdx = d.hasTid = true;
  d.start = true;
  d.pictureId = pid & 0x7FFF;
  d.tl0PicIdx = tl0;
  d.tid = tid;
  return d;
}

void RoundTrip(const uint8_t* ctrl, const uint8_t* p, size_t len) {
  const fuzz::Exact e(p, len);
  const auto d = ParseVp8(e.data(), e.size());
  if (!d)
    return;
  FUZZ_CHECK(kName, d->size >= 1 && d->size < len && d->size <= kVp8MaxDescriptor);

  // A rewriter that has already sent something from another stream.
  Vp8Rewriter rw;
  PictureIdOut prior;
  const uint16_t base = static_cast<uint16_t>(ctrl[1] << 8 | ctrl[2]) & 0x7FFF;
  rw.Rewrite(Frame(base, ctrl[3], 0), false, &prior);
  const int drops = (ctrl[0] >> 1) & 0x07;
  for (int i = 1; i <= drops; ++i)
    rw.Drop(Frame(static_cast<uint16_t>(base + i), ctrl[3], 1));
  const bool switching = (ctrl[0] & 1) != 0;
  const uint16_t lastPid = rw.Ids().LastPictureId();
  const uint8_t lastTl0 = rw.Ids().LastTl0PicIdx();
  PictureIdOut out;
  if (!rw.Rewrite(*d, switching, &out))
    return;
  if (switching && d->hasPictureId)
    FUZZ_CHECK(kName, out.pictureId == ((lastPid + 1) & 0x7FFF));
  if (switching && d->hasTl0PicIdx)
    FUZZ_CHECK(kName, out.tl0PicIdx == static_cast<uint8_t>(lastTl0 + 1));

  uint8_t buf[kVp8MaxDescriptor + 1];
  const size_t n = WriteVp8Descriptor(*d, out, buf, kVp8MaxDescriptor);
  FUZZ_CHECK(kName, n >= 1 && n <= kVp8MaxDescriptor);
  FUZZ_CHECK(kName, n == d->size + ((d->hasPictureId && !d->pictureIdLong) ? 1u : 0u));
  buf[n] = p[d->size]; // the payload header follows
  const auto b = ParseVp8(buf, n + 1);
  FUZZ_CHECK(kName, b.has_value());
  FUZZ_CHECK(kName, b->size == n);
  FUZZ_CHECK(kName, b->extended == d->extended);
  FUZZ_CHECK(kName, b->nonReference == d->nonReference && b->start == d->start);
  FUZZ_CHECK(kName, b->partitionId == d->partitionId);
  FUZZ_CHECK(kName, b->hasPictureId == d->hasPictureId && b->hasTl0PicIdx == d->hasTl0PicIdx);
  FUZZ_CHECK(kName, b->hasTid == d->hasTid && b->hasKeyIdx == d->hasKeyIdx);
  if (d->hasPictureId)
    FUZZ_CHECK(kName, b->pictureIdLong && b->pictureId == out.pictureId);
  if (d->hasTl0PicIdx)
    FUZZ_CHECK(kName, b->tl0PicIdx == out.tl0PicIdx);
  FUZZ_CHECK(kName, b->tid == d->tid && b->layerSync == d->layerSync && b->keyIdx == d->keyIdx);
  FUZZ_CHECK(kName, b->keyFrame == d->keyFrame);
  // Pure writer: the same (in, out) gives the same bytes again.
  uint8_t again[kVp8MaxDescriptor];
  FUZZ_CHECK(kName, WriteVp8Descriptor(*d, out, again, sizeof(again)) == n);
  FUZZ_CHECK(kName, std::memcmp(buf, again, n) == 0);
}

// Ops of 3 bytes: [kind][pid step][tid]. kind%4: 0-1 forward, 2 drop, 3
// switch (a new stream at an unrelated id). Frames only move forward (step
// 1..4, >1 is upstream loss). Model: a forwarded frame's id is the previous
// output + its distance from the previous forwarded frame - the dropped
// TID>0 frames in between; a switch continues at the highest sent + 1.
void RunSequence(const uint8_t* p, size_t len) {
  Vp8Rewriter rw;
  uint16_t src = 100;
  uint8_t tl0 = 0;
  bool sent = false;
  uint16_t lastFwdSrc = 0, lastOut = 0;
  uint16_t dropped = 0;
  for (size_t off = 0; off + 3 <= len; off += 3) {
    const uint8_t kind = p[off] % 4;
    const uint8_t step = static_cast<uint8_t>(1 + p[off + 1] % 4);
    uint8_t tid = p[off + 2] % 3;
    src = static_cast<uint16_t>((src + step) & 0x7FFF);
    bool switching = false;
    if (kind == 3) {
      src = static_cast<uint16_t>((p[off + 1] << 7 | p[off + 2]) & 0x7FFF);
      tid = 0;
      switching = sent;
    }
    if (tid == 0)
      ++tl0;
    const auto d = Frame(src, tl0, tid);
    if (kind == 2 && sent) {
      const bool moved = rw.Drop(d);
      FUZZ_CHECK(kName, moved == (tid > 0));
      if (tid == 0)
        continue; // a lost base-layer frame stays a gap: counts as distance
      ++dropped;
      continue;
    }
    PictureIdOut out;
    FUZZ_CHECK(kName, rw.Rewrite(d, switching, &out));
    uint16_t expect = src;
    if (sent) {
      expect =
          switching
              ? static_cast<uint16_t>(lastOut + 1)
              : static_cast<uint16_t>(lastOut + ForwardDiffBits<15>(lastFwdSrc, src) - dropped);
    }
    FUZZ_CHECK(kName, out.pictureId == (expect & 0x7FFF));
    sent = true;
    lastFwdSrc = src;
    lastOut = out.pictureId;
    dropped = 0;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4)
    return 0;
  const uint8_t* payload = data + 4;
  const size_t len = size - 4;
  for (size_t cut = 0; cut <= len && cut < 16; ++cut) {
    const fuzz::Exact e(payload, cut);
    (void)ParseVp8(e.data(), e.size());
  }
  RoundTrip(data, payload, len);
  RunSequence(payload, len);
  return 0;
}
