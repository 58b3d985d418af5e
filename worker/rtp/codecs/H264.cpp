#include "sluice/rtp/codecs/H264.hpp"

namespace sluice::rtp::codecs {

namespace {

constexpr uint8_t kIdr = 5;
constexpr uint8_t kSps = 7;
constexpr uint8_t kPps = 8;
constexpr uint8_t kStapA = 24;
constexpr uint8_t kFuA = 28;

void Note(H264Info* info, uint8_t type) {
  info->hasIdr |= type == kIdr;
  info->hasSps |= type == kSps;
  info->hasPps |= type == kPps;
}

} // namespace

std::optional<H264Info> ParseH264(const uint8_t* p, size_t len) {
  if (len < 1)
    return std::nullopt;
  H264Info info;
  const uint8_t type = p[0] & 0x1F;
  if (type >= 1 && type <= 23) { // §5.6 single NAL unit packet
    info.packet = H264Packet::Single;
    info.nalType = type;
    info.nalCount = 1;
    info.fuStart = info.fuEnd = true;
    Note(&info, type);
  } else if (type == kStapA) { // §5.7.1: |hdr| (NALU size (16) | NALU)+
    info.packet = H264Packet::StapA;
    info.fuStart = info.fuEnd = true;
    size_t off = 1;
    while (off < len) {
      if (len - off < 2)
        return std::nullopt;
      const size_t size = static_cast<size_t>(p[off] << 8 | p[off + 1]);
      off += 2;
      if (size == 0 || len - off < size)
        return std::nullopt;
      const uint8_t unit = p[off] & 0x1F;
      if (info.nalCount == 0)
        info.nalType = unit;
      Note(&info, unit);
      ++info.nalCount; // at most len / 3 units, fits in 16 bits for RTP sizes
      off += size;
    }
    if (info.nalCount == 0)
      return std::nullopt;
  } else if (type == kFuA) { // §5.8: |FU indicator|FU header|fragment
    if (len < 2)
      return std::nullopt;
    info.packet = H264Packet::FuA;
    info.nalCount = 1;
    info.fuStart = (p[1] & 0x80) != 0;
    info.fuEnd = (p[1] & 0x40) != 0;
    info.nalType = p[1] & 0x1F;
    if (info.fuStart) // a middle or end fragment does not start its unit
      Note(&info, info.nalType);
  } else {
    return std::nullopt;
  }
  info.keyFrame = info.hasIdr || info.hasSps;
  return info;
}

std::optional<FrameMarking> ParseFrameMarking(const uint8_t* p, size_t len) {
  if (len < 1 || len > 3)
    return std::nullopt;
  FrameMarking fm;
  fm.start = (p[0] & 0x80) != 0;
  fm.end = (p[0] & 0x40) != 0;
  fm.independent = (p[0] & 0x20) != 0;
  fm.discardable = (p[0] & 0x10) != 0;
  fm.baseLayerSync = (p[0] & 0x08) != 0;
  fm.tid = p[0] & 0x07;
  if (len >= 2) {
    fm.hasLid = true;
    fm.lid = p[1];
  }
  if (len == 3) {
    fm.hasTl0PicIdx = true;
    fm.tl0PicIdx = p[2];
  }
  return fm;
}

size_t WriteFrameMarking(const FrameMarking& fm, uint8_t* dst, size_t cap) {
  const size_t need = fm.hasTl0PicIdx ? 3 : fm.hasLid ? 2 : 1;
  if (cap < need)
    return 0;
  dst[0] = static_cast<uint8_t>((fm.start ? 0x80 : 0) | (fm.end ? 0x40 : 0) |
                                (fm.independent ? 0x20 : 0) | (fm.discardable ? 0x10 : 0) |
                                (fm.baseLayerSync ? 0x08 : 0) | (fm.tid & 0x07));
  if (need >= 2)
    dst[1] = fm.lid;
  if (need == 3)
    dst[2] = fm.tl0PicIdx;
  return need;
}

} // namespace sluice::rtp::codecs
