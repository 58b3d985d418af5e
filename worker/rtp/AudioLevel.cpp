#include "sluice/rtp/AudioLevel.hpp"

namespace sluice::rtp {

std::optional<AudioLevel> ParseAudioLevel(ByteView value) {
  if (!value || value.size == 0)
    return std::nullopt;
  const uint8_t b = value.data[0];
  return AudioLevel{static_cast<uint8_t>(b & 0x7f), (b & 0x80) != 0};
}

} // namespace sluice::rtp
