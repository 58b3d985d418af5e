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
// And the same through the worker's own entry points (LayeredPayload.hpp):
// ReadCodecPacket -> WritePayloadHead under an arbitrary LayerRewrite -> the
// sent packet read again: the descriptor's fields but the shifted PictureID /
// TL0PICIDX, the layers and sync points as read from the stored packet, the
// packet refused exactly when a layer is above the rewrite's caps, the marker
// as ForwardedMarker says.
//
// Input: [codec][pidHi][pidLo][tl0][payload ...]; codec % 5: 0 VP8, 1 VP9,
// 2 Frame Marking, 3 VP8 and 4 VP9 through LayeredPayload. PictureIdOut (or
// LayerRewrite deltas) = {pidHi << 8 | pidLo (all 16 bits: the writers mask),
// tl0}. For 3 and 4 the first payload byte is [marker:1][maxSpatial:3]
// [maxTemporal:4] (7 and 15 stand for "no cap", 0xFF) and the rest is the RTP
// payload. Mismatch: __builtin_trap.
#include "FuzzCodecCommon.hpp"
#include "sluice/rtp/RtpPacket.hpp"
#include "sluice/rtp/codecs/H264.hpp"
#include "sluice/rtp/codecs/LayeredPayload.hpp"
#include "sluice/rtp/codecs/Vp8.hpp"
#include "sluice/rtp/codecs/Vp9.hpp"

#include <cstdint>
#include <cstring>
#include <vector>

using namespace sluice::rtp::codecs;
using sluice::rtp::RtpPacket;

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

// What a consumer reads of a packet must not change when it rewrites it.
bool SameLayers(const CodecPacket& a, const CodecPacket& b) {
  return a.keyFrame == b.keyFrame && a.malformed == b.malformed && a.spatial == b.spatial &&
         a.temporal == b.temporal && a.temporalSync == b.temporalSync &&
         a.spatialSync == b.spatialSync && a.frameStart == b.frameStart &&
         a.frameEnd == b.frameEnd && a.hasPictureId == b.hasPictureId &&
         a.ids.hasTl0PicIdx == b.ids.hasTl0PicIdx;
}

void LayeredRoundTrip(CodecKind codec, const LayerRewrite& rw, bool rtpMarker, const uint8_t* p,
                      size_t len) {
  // The stored packet: a 12-byte RTP header and the payload.
  std::vector<uint8_t> stored(12 + len);
  stored[0] = 0x80;
  stored[1] = static_cast<uint8_t>((rtpMarker ? 0x80 : 0) | 96);
  stored[11] = 1;
  if (len != 0)
    std::memcpy(stored.data() + 12, p, len);
  const fuzz::Exact in(stored.data(), stored.size());
  const auto pkt = RtpPacket::Parse(in.data(), in.size());
  if (!pkt)
    return;
  const CodecPacket cp = ReadCodecPacket(codec, *pkt, 0);
  // Room for any descriptor: a VP9 SS can take over 1 KB.
  std::vector<uint8_t> head(2048);
  size_t written = 0, skip = 0;
  bool marker = false;
  const bool ok =
      WritePayloadHead(codec, *pkt, rw, head.data(), head.size(), &written, &skip, &marker);
  if (cp.malformed) {
    REQUIRE_SAME(!ok);
    return;
  }
  const bool above =
      cp.temporal > rw.maxTemporal || (codec == CodecKind::Vp9 && cp.spatial > rw.maxSpatial);
  REQUIRE_SAME(ok == !above);
  if (!ok)
    return;
  REQUIRE_SAME(written >= 1 && skip >= 1 && skip <= pkt->PayloadSize());

  // The packet this consumer sends: header, new head, the rest of the payload.
  const size_t rest = pkt->PayloadSize() - skip;
  std::vector<uint8_t> out(12 + written + rest);
  std::memcpy(out.data(), in.data(), 12);
  out[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | 96);
  std::memcpy(out.data() + 12, head.data(), written);
  std::memcpy(out.data() + 12 + written, pkt->Payload() + skip, rest);
  const fuzz::Exact sentBytes(out.data(), out.size());
  const auto sent = RtpPacket::Parse(sentBytes.data(), sentBytes.size());
  REQUIRE_SAME(sent.has_value());
  const CodecPacket cs = ReadCodecPacket(codec, *sent, 0);
  REQUIRE_SAME(!cs.malformed);
  if (codec == CodecKind::Vp8) {
    REQUIRE_SAME(marker == rtpMarker);
    // frameEnd is the marker for VP8: unchanged with it.
    REQUIRE_SAME(SameLayers(cp, cs));
  } else {
    const auto d = ParseVp9(pkt->Payload(), pkt->PayloadSize());
    REQUIRE_SAME(marker == ForwardedMarker(*d, rtpMarker, rw.maxSpatial));
    REQUIRE_SAME(SameLayers(cp, cs));
  }
  if (cp.hasPictureId)
    REQUIRE_SAME(cs.ids.pictureIdLong &&
                 cs.ids.pictureId == ((cp.ids.pictureId + rw.pidDelta) & 0x7FFF));
  if (cp.ids.hasTl0PicIdx)
    REQUIRE_SAME(cs.ids.tl0PicIdx == static_cast<uint8_t>(cp.ids.tl0PicIdx + rw.tl0Delta));
  REQUIRE_SAME(std::memcmp(sent->Payload() + written, pkt->Payload() + skip, rest) == 0);

  // Pure: a retransmission under the same rewrite sends the same bytes.
  std::vector<uint8_t> again(head.size());
  size_t written2 = 0, skip2 = 0;
  bool marker2 = false;
  REQUIRE_SAME(
      WritePayloadHead(codec, *pkt, rw, again.data(), again.size(), &written2, &skip2, &marker2));
  REQUIRE_SAME(written2 == written && skip2 == skip && marker2 == marker);
  REQUIRE_SAME(std::memcmp(again.data(), head.data(), written) == 0);
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
  switch (data[0] % 5) {
  case 0:
    Vp8RoundTrip(out, payload, len);
    break;
  case 1:
    Vp9RoundTrip(out, payload, len);
    break;
  case 2:
    FrameMarkingRoundTrip(payload, len);
    break;
  default: {
    if (len < 1)
      return 0;
    LayerRewrite rw;
    rw.pidDelta = out.pictureId;
    rw.tl0Delta = out.tl0PicIdx;
    const uint8_t caps = payload[0];
    rw.maxSpatial = ((caps >> 4) & 0x07) == 7 ? 0xFF : (caps >> 4) & 0x07;
    rw.maxTemporal = (caps & 0x0F) == 15 ? 0xFF : caps & 0x0F;
    LayeredRoundTrip(data[0] % 5 == 3 ? CodecKind::Vp8 : CodecKind::Vp9, rw, (caps & 0x80) != 0,
                     payload + 1, len - 1);
    break;
  }
  }
  return 0;
}
