#include "sluice/rtp/KeyFrame.hpp"

#include "sluice/rtp/codecs/H264.hpp"
#include "sluice/rtp/codecs/Vp8.hpp"
#include "sluice/rtp/codecs/Vp9.hpp"

namespace sluice::rtp {

// VP8, VP9 and H264 keyframe rules live with their descriptor parsers
// (worker/rtp/codecs/), so there is one reading of each payload format.
bool IsVp8KeyFrame(const uint8_t* p, size_t len) {
  const auto d = codecs::ParseVp8(p, len);
  return d && d->keyFrame;
}

bool IsVp9KeyFrame(const uint8_t* p, size_t len) {
  const auto d = codecs::ParseVp9(p, len);
  return d && d->keyFrame;
}

namespace {

bool H265TypeIsKey(uint8_t type) {
  return type >= 16 && type <= 21;
}

} // namespace

bool IsH264KeyFrame(const uint8_t* p, size_t len) {
  const auto info = codecs::ParseH264(p, len);
  return info && info->keyFrame;
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
