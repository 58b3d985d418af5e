#include "sluice/rtp/VideoOrientation.hpp"

namespace sluice::rtp {

std::optional<VideoOrientation> ParseVideoOrientation(ByteView value) {
  if (!value || value.size != 1)
    return std::nullopt;
  const uint8_t b = value.data[0];
  VideoOrientation o;
  o.camera = (b & 0x08) != 0;
  o.flip = (b & 0x04) != 0;
  o.rotation = static_cast<uint16_t>((b & 0x03) * 90);
  return o;
}

} // namespace sluice::rtp
