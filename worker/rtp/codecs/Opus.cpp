#include "sluice/rtp/codecs/Opus.hpp"

namespace sluice::rtp::codecs {

namespace {

constexpr size_t kMaxFrame = 1275;            // R2
constexpr uint16_t kMaxPacketTenthsMs = 1200; // R5: 120 ms

uint16_t FrameTenthsMs(uint8_t config) {
  // §3.1 table 2: SILK-only 10/20/40/60 ms, hybrid 10/20, CELT-only 2.5/5/10/20.
  if (config < 12) {
    static constexpr uint16_t kSilk[] = {100, 200, 400, 600};
    return kSilk[config & 0x03];
  }
  if (config < 16)
    return (config & 0x01) ? 200 : 100;
  static constexpr uint16_t kCelt[] = {25, 50, 100, 200};
  return kCelt[config & 0x03];
}

// §3.2.1: one byte 0-251 is the length; 252-255 take a second byte,
// length = second * 4 + first. Returns bytes used, 0 if truncated.
size_t ReadLength(const uint8_t* p, size_t len, size_t* out) {
  if (len < 1)
    return 0;
  if (p[0] < 252) {
    *out = p[0];
    return 1;
  }
  if (len < 2)
    return 0;
  *out = static_cast<size_t>(p[1]) * 4 + p[0];
  return 2;
}

} // namespace

std::optional<OpusInfo> ParseOpus(const uint8_t* p, size_t len) {
  if (len < 1) // R1
    return std::nullopt;
  OpusInfo info;
  info.config = static_cast<uint8_t>(p[0] >> 3);
  info.stereo = (p[0] & 0x04) != 0;
  info.code = p[0] & 0x03;
  info.frameDurationTenthsMs = FrameTenthsMs(info.config);
  size_t off = 1;
  size_t largest = 0;
  switch (info.code) {
  case 0: // §3.2.2: one frame, the rest of the packet
    info.frameCount = 1;
    largest = len - off;
    break;
  case 1: // §3.2.3: two frames of equal size (R3: odd remainder is invalid)
    if ((len - off) % 2 != 0)
      return std::nullopt;
    info.frameCount = 2;
    largest = (len - off) / 2;
    break;
  case 2: { // §3.2.4: first length coded, second the rest (R4)
    size_t first = 0;
    const size_t used = ReadLength(p + off, len - off, &first);
    if (used == 0)
      return std::nullopt;
    off += used;
    if (first > len - off)
      return std::nullopt;
    info.frameCount = 2;
    largest = first > len - off - first ? first : len - off - first;
    break;
  }
  default: { // §3.2.5: frame count byte, padding, then CBR or VBR frames
    if (len - off < 1)
      return std::nullopt;
    const bool vbr = (p[off] & 0x80) != 0;
    const bool padded = (p[off] & 0x40) != 0;
    const size_t m = p[off] & 0x3F;
    ++off;
    if (m == 0 || m * info.frameDurationTenthsMs > kMaxPacketTenthsMs) // R5
      return std::nullopt;
    size_t padding = 0;
    if (padded) { // each 255 adds 254 and continues; the last byte adds itself
      uint8_t b = 255;
      while (b == 255) {
        if (len - off < 1)
          return std::nullopt;
        b = p[off++];
        padding += (b == 255) ? 254 : b;
      }
    }
    if (padding > len - off) // R6 / R7
      return std::nullopt;
    size_t data = len - off - padding; // header lengths (VBR) and frames
    if (vbr) {
      size_t sum = 0;
      for (size_t i = 0; i + 1 < m; ++i) {
        size_t fl = 0;
        const size_t used = ReadLength(p + off, data, &fl);
        if (used == 0)
          return std::nullopt;
        off += used;
        data -= used;
        sum += fl;
        if (fl > largest)
          largest = fl;
        if (sum > data) // R7
          return std::nullopt;
      }
      const size_t last = data - sum;
      if (last > largest)
        largest = last;
    } else {
      if (data % m != 0) // R6
        return std::nullopt;
      largest = data / m;
    }
    info.frameCount = static_cast<uint8_t>(m);
    break;
  }
  }
  if (largest > kMaxFrame) // R2
    return std::nullopt;
  info.largestFrame = largest;
  info.dtx = largest <= 1;
  return info;
}

} // namespace sluice::rtp::codecs
