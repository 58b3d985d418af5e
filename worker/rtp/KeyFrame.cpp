#include "sluice/rtp/KeyFrame.hpp"

namespace sluice::rtp {

bool IsVp8KeyFrame(const uint8_t* p, size_t len) {
  // |X|R|N|S|R| PID | then, if X: |I|L|T|K| RSV |, PictureID (1-2), TL0PICIDX, TID/KEYIDX.
  if (len < 1)
    return false;
  const bool start = (p[0] & 0x10) != 0;
  const uint8_t pid = p[0] & 0x07;
  size_t off = 1;
  if (p[0] & 0x80) {
    if (len < 2)
      return false;
    const uint8_t x = p[1];
    off = 2;
    if (x & 0x80) { // I: PictureID, 15 bits when M is set
      if (len < off + 1)
        return false;
      off += (p[off] & 0x80) ? 2 : 1;
    }
    if (x & 0x40) // L: TL0PICIDX
      off += 1;
    if (x & 0x30) // T or K: TID/Y/KEYIDX
      off += 1;
  }
  if (len < off + 1)
    return false;
  return start && pid == 0 && (p[off] & 0x01) == 0;
}

bool IsVp9KeyFrame(const uint8_t* p, size_t len) {
  // |I|P|L|F|B|E|V|Z|
  if (len < 1)
    return false;
  return (p[0] & 0x40) == 0 && (p[0] & 0x08) != 0;
}

namespace {

bool H264TypeIsKey(uint8_t type) { return type == 5 || type == 7; }
bool H265TypeIsKey(uint8_t type) { return type >= 16 && type <= 21; }

} // namespace

bool IsH264KeyFrame(const uint8_t* p, size_t len) {
  if (len < 1)
    return false;
  const uint8_t type = p[0] & 0x1F;
  if (type >= 1 && type <= 23)
    return H264TypeIsKey(type);
  if (type == 24) { // STAP-A: (16-bit size, NAL unit)*
    size_t off = 1;
    while (off + 2 < len) {
      const size_t size = static_cast<size_t>(p[off] << 8 | p[off + 1]);
      off += 2;
      if (size == 0 || off + size > len)
        return false;
      if (H264TypeIsKey(p[off] & 0x1F))
        return true;
      off += size;
    }
    return false;
  }
  if (type == 28) { // FU-A: indicator, |S|E|R|Type|
    return len >= 2 && (p[1] & 0x80) != 0 && H264TypeIsKey(p[1] & 0x1F);
  }
  return false;
}

bool IsH265KeyFrame(const uint8_t* p, size_t len) {
  if (len < 2)
    return false;
  const uint8_t type = (p[0] >> 1) & 0x3F;
  if (type < 48)
    return H265TypeIsKey(type);
  if (type == 48) { // AP: 2-byte header, then (16-bit size, NAL unit)*
    size_t off = 2;
    while (off + 2 < len) {
      const size_t size = static_cast<size_t>(p[off] << 8 | p[off + 1]);
      off += 2;
      if (size < 2 || off + size > len)
        return false;
      if (H265TypeIsKey((p[off] >> 1) & 0x3F))
        return true;
      off += size;
    }
    return false;
  }
  if (type == 49) { // FU: 2-byte header, |S|E|FuType|
    return len >= 3 && (p[2] & 0x80) != 0 && H265TypeIsKey(p[2] & 0x3F);
  }
  return false;
}

bool IsKeyFrame(KeyFrameCodec codec, const uint8_t* payload, size_t len) {
  switch (codec) {
  case KeyFrameCodec::Vp8:
    return IsVp8KeyFrame(payload, len);
  case KeyFrameCodec::Vp9:
    return IsVp9KeyFrame(payload, len);
  case KeyFrameCodec::H264:
    return IsH264KeyFrame(payload, len);
  case KeyFrameCodec::H265:
    return IsH265KeyFrame(payload, len);
  case KeyFrameCodec::Unknown:
    break;
  }
  return true;
}

} // namespace sluice::rtp
