// libFuzzer target: the round trip a layered consumer makes with every
// packet it forwards or retransmits, on whole payloads and with ANY rewrite
// values (FuzzVp8/FuzzVp9 take theirs from a rewriter; a retransmission
// replays a stored PictureIdOut, so the writers must hold for every value):
//
//   parse(payload) -> write(descriptor, out) + payload after the descriptor
//                  -> parse again: every field as before but PictureID
//                     (out's, 15-bit form), TL0PICIDX (out's) and the sizes;
//                     the bytes after the descriptor unchanged;
//                  -> write the re-parsed descriptor with the same out: the
//                     same bytes (what a retransmission of it would send);
//   and every capacity below the length the writer needs gives 0 and writes
//   nothing (the buffer is exactly that capacity on the heap, so ASan sees a
//   write past it). H264 Frame Marking (write is the consumer's side too)
//   gets parse -> write -> parse.
//
// Input: [codec][pidHi][pidLo][tl0][payload ...]; codec % 3: 0 VP8, 1 VP9,
// 2 Frame Marking. PictureIdOut = {pidHi << 8 | pidLo (all 16 bits: the
// writers mask), tl0}. Mismatch: __builtin_trap.
#include "FuzzCodecCommon.hpp"
#include "sluice/rtp/codecs/H264.hpp"
#include "sluice/rtp/codecs/Vp8.hpp"
#include "sluice/rtp/codecs/Vp9.hpp"

#include <cstdint>
#include <cstring>
#include <vector>

using namespace sluice::rtp::codecs;

namespace {

#define REQUIRE_SAME(cond)                                                                         \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      __builtin_trap();                                                                            \
  } while (0)

// Writes with every capacity below `need` into an exactly-sized heap buffer:
// each must return 0.
template <typename Write> void ShortCapacities(size_t need, Write write) {
  for (size_t cap = 0; cap < need; ++cap) {
    std::vector<uint8_t> small(cap);
    REQUIRE_SAME(write(small.data(), cap) == 0);
  }
}

bool SameVp8(const Vp8Descriptor& a, const Vp8Descriptor& b) {
  return a.extended == b.extended && a.nonReference == b.nonReference && a.start == b.start &&
         a.partitionId == b.partitionId && a.hasPictureId == b.hasPictureId &&
         a.hasTl0PicIdx == b.hasTl0PicIdx && a.hasTid == b.hasTid && a.hasKeyIdx == b.hasKeyIdx &&
         a.tid == b.tid && a.layerSync == b.layerSync && a.keyIdx == b.keyIdx &&
         a.keyFrame == b.keyFrame;
}

void Vp8RoundTrip(const PictureIdOut& out, const uint8_t* p, size_t len) {
  const fuzz::Exact in(p, len);
  const auto d = ParseVp8(in.data(), in.size());
  if (!d)
    return;
  uint8_t desc[kVp8MaxDescriptor];
  const size_t n = WriteVp8Descriptor(*d, out, desc, sizeof(desc));
  REQUIRE_SAME(n >= 1 && n <= kVp8MaxDescriptor);
  // A 7-bit PictureID grows to 15 bits; nothing else changes length.
  REQUIRE_SAME(n == d->size + ((d->hasPictureId && !d->pictureIdLong) ? 1u : 0u));
  ShortCapacities(n,
                  [&](uint8_t* dst, size_t cap) { return WriteVp8Descriptor(*d, out, dst, cap); });

  // The packet a consumer sends: new descriptor + the payload after the old one.
  const size_t rest = len - d->size;
  std::vector<uint8_t> pkt(n + rest);
  std::memcpy(pkt.data(), desc, n);
  std::memcpy(pkt.data() + n, in.data() + d->size, rest);
  const fuzz::Exact sent(pkt.data(), pkt.size());
  const auto b = ParseVp8(sent.data(), sent.size());
  REQUIRE_SAME(b.has_value());
  REQUIRE_SAME(b->size == n);
  REQUIRE_SAME(SameVp8(*d, *b));
  if (d->hasPictureId)
    REQUIRE_SAME(b->pictureIdLong && b->pictureId == (out.pictureId & 0x7FFF));
  if (d->hasTl0PicIdx)
    REQUIRE_SAME(b->tl0PicIdx == out.tl0PicIdx);
  REQUIRE_SAME(std::memcmp(sent.data() + b->size, in.data() + d->size, rest) == 0);

  uint8_t again[kVp8MaxDescriptor];
  REQUIRE_SAME(WriteVp8Descriptor(*b, out, again, sizeof(again)) == n);
  REQUIRE_SAME(std::memcmp(again, desc, n) == 0);
}

bool SameVp9(const Vp9Descriptor& a, const Vp9Descriptor& b) {
  if (a.pDiffCount != b.pDiffCount)
    return false;
  for (uint8_t i = 0; i < a.pDiffCount; ++i) {
    if (a.pDiff[i] != b.pDiff[i])
      return false;
  }
  return a.hasPictureId == b.hasPictureId && a.interPredicted == b.interPredicted &&
         a.hasLayerIndices == b.hasLayerIndices && a.flexible == b.flexible &&
         a.beginOfFrame == b.beginOfFrame && a.endOfFrame == b.endOfFrame && a.hasSs == b.hasSs &&
         a.notRefForUpper == b.notRefForUpper && a.tid == b.tid && a.switchingUp == b.switchingUp &&
         a.sid == b.sid && a.interLayerDep == b.interLayerDep && a.hasTl0PicIdx == b.hasTl0PicIdx &&
         a.ssSize == b.ssSize && a.keyFrame == b.keyFrame;
}

void Vp9RoundTrip(const PictureIdOut& out, const uint8_t* p, size_t len) {
  const fuzz::Exact in(p, len);
  const auto d = ParseVp9(in.data(), in.size());
  if (!d)
    return;
  const size_t expect = d->size + ((d->hasPictureId && !d->pictureIdLong) ? 1u : 0u);
  std::vector<uint8_t> desc(expect + 8);
  const size_t n = WriteVp9Descriptor(in.data(), *d, out, desc.data(), desc.size());
  REQUIRE_SAME(n == expect);
  ShortCapacities(n, [&](uint8_t* dst, size_t cap) {
    return WriteVp9Descriptor(in.data(), *d, out, dst, cap);
  });

  const size_t rest = len - d->size;
  std::vector<uint8_t> pkt(n + rest);
  std::memcpy(pkt.data(), desc.data(), n);
  std::memcpy(pkt.data() + n, in.data() + d->size, rest);
  const fuzz::Exact sent(pkt.data(), pkt.size());
  const auto b = ParseVp9(sent.data(), sent.size());
  REQUIRE_SAME(b.has_value());
  REQUIRE_SAME(b->size == n);
  REQUIRE_SAME(SameVp9(*d, *b));
  if (d->hasPictureId)
    REQUIRE_SAME(b->pictureIdLong && b->pictureId == (out.pictureId & 0x7FFF));
  if (d->hasTl0PicIdx)
    REQUIRE_SAME(b->tl0PicIdx == out.tl0PicIdx);
  if (d->hasSs) {
    REQUIRE_SAME(std::memcmp(sent.data() + b->ssOffset, in.data() + d->ssOffset, d->ssSize) == 0);
    const auto ssIn = ParseVp9Ss(in.data() + d->ssOffset, d->ssSize);
    const auto ssOut = ParseVp9Ss(sent.data() + b->ssOffset, b->ssSize);
    REQUIRE_SAME(ssIn && ssOut && ssIn->spatialLayers == ssOut->spatialLayers &&
                 ssIn->pgSize == ssOut->pgSize);
  }
  REQUIRE_SAME(std::memcmp(sent.data() + b->size, in.data() + d->size, rest) == 0);

  std::vector<uint8_t> again(n);
  REQUIRE_SAME(WriteVp9Descriptor(sent.data(), *b, out, again.data(), again.size()) == n);
  REQUIRE_SAME(std::memcmp(again.data(), desc.data(), n) == 0);
}

void FrameMarkingRoundTrip(const uint8_t* p, size_t len) {
  const fuzz::Exact in(p, len);
  const auto fm = ParseFrameMarking(in.data(), in.size());
  if (!fm)
    return;
  uint8_t buf[3];
  const size_t n = WriteFrameMarking(*fm, buf, sizeof(buf));
  REQUIRE_SAME(n >= 1 && n <= 3);
  ShortCapacities(n, [&](uint8_t* dst, size_t cap) { return WriteFrameMarking(*fm, dst, cap); });
  const fuzz::Exact w(buf, n);
  const auto b = ParseFrameMarking(w.data(), w.size());
  REQUIRE_SAME(b.has_value());
  REQUIRE_SAME(b->start == fm->start && b->end == fm->end && b->independent == fm->independent);
  REQUIRE_SAME(b->discardable == fm->discardable && b->baseLayerSync == fm->baseLayerSync);
  REQUIRE_SAME(b->tid == fm->tid && b->hasLid == fm->hasLid && b->lid == fm->lid);
  REQUIRE_SAME(b->hasTl0PicIdx == fm->hasTl0PicIdx && b->tl0PicIdx == fm->tl0PicIdx);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4)
    return 0;
  PictureIdOut out;
  out.pictureId = static_cast<uint16_t>(data[1] << 8 | data[2]);
  out.tl0PicIdx = data[3];
  const uint8_t* payload = data + 4;
  const size_t len = size - 4;
  switch (data[0] % 3) {
  case 0:
    Vp8RoundTrip(out, payload, len);
    break;
  case 1:
    Vp9RoundTrip(out, payload, len);
    break;
  default:
    FrameMarkingRoundTrip(payload, len);
    break;
  }
  return 0;
}
