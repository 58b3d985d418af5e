#include "sluice/rtp/codecs/Vp9.hpp"

#include <cstring>

namespace sluice::rtp::codecs {

namespace {

// Walks an SS (RFC 9628 §4.2.1, diagram in Vp9.hpp); fills `ss` when given.
// Returns its length, 0 when it does not fit in `len`.
size_t WalkSs(const uint8_t* p, size_t len, Vp9Ss* ss) {
  if (len < 1)
    return 0;
  const size_t spatial = static_cast<size_t>(p[0] >> 5) + 1;
  const bool y = (p[0] & 0x10) != 0;
  const bool g = (p[0] & 0x08) != 0;
  size_t off = 1;
  if (ss) {
    ss->spatialLayers = static_cast<uint8_t>(spatial);
    ss->hasResolution = y;
    ss->hasPg = g;
  }
  if (y) {
    if (len - off < 4 * spatial)
      return 0;
    for (size_t i = 0; i < spatial; ++i, off += 4) {
      if (ss) {
        ss->width[i] = static_cast<uint16_t>(p[off] << 8 | p[off + 1]);
        ss->height[i] = static_cast<uint16_t>(p[off + 2] << 8 | p[off + 3]);
      }
    }
  }
  if (g) {
    if (len - off < 1)
      return 0;
    const size_t ng = p[off++];
    if (ss)
      ss->pgSize = static_cast<uint8_t>(ng);
    for (size_t i = 0; i < ng; ++i) {
      if (len - off < 1)
        return 0;
      const uint8_t b = p[off++];
      const size_t refs = (b >> 2) & 0x03;
      if (len - off < refs)
        return 0;
      if (ss) {
        Vp9PgEntry& e = ss->pg[i];
        e.tid = static_cast<uint8_t>(b >> 5);
        e.switchingUp = (b & 0x10) != 0;
        e.refCount = static_cast<uint8_t>(refs);
        for (size_t r = 0; r < refs; ++r)
          e.pDiff[r] = p[off + r];
      }
      off += refs;
    }
  }
  return off;
}

} // namespace

std::optional<Vp9Ss> ParseVp9Ss(const uint8_t* ss, size_t len, size_t* used) {
  Vp9Ss out;
  const size_t n = WalkSs(ss, len, &out);
  if (n == 0)
    return std::nullopt;
  if (used)
    *used = n;
  return out;
}

std::optional<Vp9Descriptor> ParseVp9(const uint8_t* p, size_t len) {
  if (len < 1)
    return std::nullopt;
  Vp9Descriptor d;
  const uint8_t b0 = p[0]; // |I|P|L|F|B|E|V|Z|
  d.hasPictureId = (b0 & 0x80) != 0;
  d.interPredicted = (b0 & 0x40) != 0;
  d.hasLayerIndices = (b0 & 0x20) != 0;
  d.flexible = (b0 & 0x10) != 0;
  d.beginOfFrame = (b0 & 0x08) != 0;
  d.endOfFrame = (b0 & 0x04) != 0;
  d.hasSs = (b0 & 0x02) != 0;
  d.notRefForUpper = (b0 & 0x01) != 0;
  size_t off = 1;
  if (d.hasPictureId) { // |M| PICTURE ID | [EXTENDED PID]
    if (len - off < 1)
      return std::nullopt;
    d.pictureIdLong = (p[off] & 0x80) != 0;
    if (d.pictureIdLong) {
      if (len - off < 2)
        return std::nullopt;
      d.pictureId = static_cast<uint16_t>((p[off] & 0x7F) << 8 | p[off + 1]);
      off += 2;
    } else {
      d.pictureId = p[off] & 0x7F;
      off += 1;
    }
  }
  if (d.hasLayerIndices) { // |TID|U|SID|D|, then TL0PICIDX in non-flexible mode
    if (len - off < 1)
      return std::nullopt;
    const uint8_t b = p[off++];
    d.tid = static_cast<uint8_t>(b >> 5);
    d.switchingUp = (b & 0x10) != 0;
    d.sid = static_cast<uint8_t>((b >> 1) & 0x07);
    d.interLayerDep = (b & 0x01) != 0;
    if (!d.flexible) {
      if (len - off < 1)
        return std::nullopt;
      d.hasTl0PicIdx = true;
      d.tl0PicIdx = p[off++];
    }
  }
  if (d.flexible && d.interPredicted) { // |P_DIFF|N|, N=1: another follows, at most 3
    bool more = true;
    while (more) {
      if (d.pDiffCount == d.pDiff.size() || len - off < 1)
        return std::nullopt;
      const uint8_t b = p[off++];
      d.pDiff[d.pDiffCount++] = static_cast<uint8_t>(b >> 1);
      more = (b & 0x01) != 0;
    }
  }
  if (d.hasSs) {
    const size_t n = WalkSs(p + off, len - off, nullptr);
    if (n == 0)
      return std::nullopt;
    d.ssOffset = static_cast<uint16_t>(off);
    d.ssSize = static_cast<uint16_t>(n);
    off += n;
  }
  d.size = static_cast<uint16_t>(off);
  // A key frame starts with a layer frame that uses no inter-picture
  // prediction in the lowest spatial layer (§4.2: P=0, B=1; SID 0, where D is 0).
  d.keyFrame = !d.interPredicted && d.beginOfFrame && d.sid == 0 && !d.interLayerDep;
  return d;
}

size_t WriteVp9Descriptor(const uint8_t* payload, const Vp9Descriptor& in, const PictureIdOut& out,
                          uint8_t* dst, size_t cap) {
  const size_t need = 1 + (in.hasPictureId ? 2 : 0) + (in.hasLayerIndices ? 1 : 0) +
                      (in.hasTl0PicIdx ? 1 : 0) + in.pDiffCount + in.ssSize;
  if (cap < need)
    return 0;
  size_t off = 0;
  dst[off++] = static_cast<uint8_t>((in.hasPictureId ? 0x80 : 0) | (in.interPredicted ? 0x40 : 0) |
                                    (in.hasLayerIndices ? 0x20 : 0) | (in.flexible ? 0x10 : 0) |
                                    (in.beginOfFrame ? 0x08 : 0) | (in.endOfFrame ? 0x04 : 0) |
                                    (in.hasSs ? 0x02 : 0) | (in.notRefForUpper ? 0x01 : 0));
  if (in.hasPictureId) {
    const uint16_t pid = out.pictureId & PictureIdRewriter::kPidMask;
    dst[off++] = static_cast<uint8_t>(0x80 | pid >> 8);
    dst[off++] = static_cast<uint8_t>(pid & 0xFF);
  }
  if (in.hasLayerIndices)
    dst[off++] = static_cast<uint8_t>((in.tid & 0x07) << 5 | (in.switchingUp ? 0x10 : 0) |
                                      (in.sid & 0x07) << 1 | (in.interLayerDep ? 0x01 : 0));
  if (in.hasTl0PicIdx)
    dst[off++] = out.tl0PicIdx;
  for (uint8_t i = 0; i < in.pDiffCount; ++i)
    dst[off++] = static_cast<uint8_t>((in.pDiff[i] & 0x7F) << 1 | (i + 1 < in.pDiffCount ? 1 : 0));
  if (in.ssSize != 0) {
    std::memcpy(dst + off, payload + in.ssOffset, in.ssSize);
    off += in.ssSize;
  }
  return off;
}

} // namespace sluice::rtp::codecs
