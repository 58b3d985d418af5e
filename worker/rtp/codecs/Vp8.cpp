#include "sluice/rtp/codecs/Vp8.hpp"

namespace sluice::rtp::codecs {

std::optional<Vp8Descriptor> ParseVp8(const uint8_t* p, size_t len) {
  // RFC 7741 §4.2; see the diagram in Vp8.hpp.
  if (len < 1)
    return std::nullopt;
  Vp8Descriptor d;
  d.extended = (p[0] & 0x80) != 0;
  d.nonReference = (p[0] & 0x20) != 0;
  d.start = (p[0] & 0x10) != 0;
  d.partitionId = p[0] & 0x07;
  size_t off = 1;
  if (d.extended) {
    if (len < 2)
      return std::nullopt;
    d.hasPictureId = (p[1] & 0x80) != 0;
    d.hasTl0PicIdx = (p[1] & 0x40) != 0;
    d.hasTid = (p[1] & 0x20) != 0;
    d.hasKeyIdx = (p[1] & 0x10) != 0;
    off = 2;
    if (d.hasPictureId) {
      if (len < off + 1)
        return std::nullopt;
      d.pictureIdLong = (p[off] & 0x80) != 0;
      if (d.pictureIdLong) {
        if (len < off + 2)
          return std::nullopt;
        d.pictureId = static_cast<uint16_t>((p[off] & 0x7F) << 8 | p[off + 1]);
        off += 2;
      } else {
        d.pictureId = p[off] & 0x7F;
        off += 1;
      }
    }
    if (d.hasTl0PicIdx) {
      if (len < off + 1)
        return std::nullopt;
      d.tl0PicIdx = p[off++];
    }
    if (d.hasTid || d.hasKeyIdx) { // T and K share one octet: |TID|Y| KEYIDX |
      if (len < off + 1)
        return std::nullopt;
      if (d.hasTid) {
        d.tid = static_cast<uint8_t>(p[off] >> 6);
        d.layerSync = (p[off] & 0x20) != 0;
      }
      if (d.hasKeyIdx)
        d.keyIdx = p[off] & 0x1F;
      off += 1;
    }
  }
  if (len < off + 1) // the payload header / partition data must follow
    return std::nullopt;
  d.size = static_cast<uint8_t>(off);
  // §4.3 / RFC 6386 §9.1: P (bit 0 of the first payload header octet) is 0 on
  // a key frame. Only the start of partition 0 carries the payload header.
  d.keyFrame = d.start && d.partitionId == 0 && (p[off] & 0x01) == 0;
  return d;
}

size_t WriteVp8Descriptor(const Vp8Descriptor& in, const PictureIdOut& out, uint8_t* dst,
                          size_t cap) {
  const bool ext = in.extended || in.hasPictureId || in.hasTl0PicIdx || in.hasTid || in.hasKeyIdx;
  const size_t need = 1 + (ext ? 1 : 0) + (in.hasPictureId ? 2 : 0) + (in.hasTl0PicIdx ? 1 : 0) +
                      ((in.hasTid || in.hasKeyIdx) ? 1 : 0);
  if (cap < need)
    return 0;
  size_t off = 0;
  dst[off++] = static_cast<uint8_t>((ext ? 0x80 : 0) | (in.nonReference ? 0x20 : 0) |
                                    (in.start ? 0x10 : 0) | (in.partitionId & 0x07));
  if (!ext)
    return off;
  dst[off++] = static_cast<uint8_t>((in.hasPictureId ? 0x80 : 0) | (in.hasTl0PicIdx ? 0x40 : 0) |
                                    (in.hasTid ? 0x20 : 0) | (in.hasKeyIdx ? 0x10 : 0));
  if (in.hasPictureId) {
    const uint16_t pid = out.pictureId & PictureIdRewriter::kPidMask;
    dst[off++] = static_cast<uint8_t>(0x80 | pid >> 8);
    dst[off++] = static_cast<uint8_t>(pid & 0xFF);
  }
  if (in.hasTl0PicIdx)
    dst[off++] = out.tl0PicIdx;
  if (in.hasTid || in.hasKeyIdx) {
    uint8_t b = 0;
    if (in.hasTid)
      b = static_cast<uint8_t>((in.tid & 0x03) << 6 | (in.layerSync ? 0x20 : 0));
    if (in.hasKeyIdx)
      b = static_cast<uint8_t>(b | (in.keyIdx & 0x1F));
    dst[off++] = b;
  }
  return off;
}

} // namespace sluice::rtp::codecs
