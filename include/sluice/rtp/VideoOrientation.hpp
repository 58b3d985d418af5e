// The coordination of video orientation header extension (CVO, 3GPP TS
// 26.114 §7.4.5, URI "urn:3gpp:video-orientation"): one byte per packet
// that tells the receiver how to show the picture.
//
//    0 1 2 3 4 5 6 7
//   +-+-+-+-+-+-+-+-+
//   |0 0 0 0 C F R R|
//   +-+-+-+-+-+-+-+-+
//
//   C   camera: 0 front-facing, 1 back-facing
//   F   flip: a horizontal (left-right) mirror is needed
//   R1R0 rotation, counter-clockwise, in quarter turns: 0, 90, 180, 270
//
// The four upper bits are reserved (zero on send, ignored on receipt).
// Parsing reads one byte of someone else's buffer: nothing allocates,
// nothing throws.
#pragma once

#include <cstdint>
#include <optional>

#include "sluice/rtp/RtpPacket.hpp"

namespace sluice::rtp {

struct VideoOrientation {
  bool camera = false; // back-facing
  bool flip = false;
  uint16_t rotation = 0; // degrees: 0, 90, 180 or 270

  bool operator==(const VideoOrientation& o) const {
    return camera == o.camera && flip == o.flip && rotation == o.rotation;
  }
  bool operator!=(const VideoOrientation& o) const { return !(*this == o); }
};

// The extension element's value (RtpPacket::GetExtension); nullopt when it is
// absent or not exactly one byte long.
std::optional<VideoOrientation> ParseVideoOrientation(ByteView value);

// The orientation last reported for a stream, so that only changes are
// reported: Update() is true for the first orientation seen and for every
// one that differs from the last.
class VideoOrientationTracker {
public:
  bool Update(const VideoOrientation& o) {
    if (known_ && o == last_)
      return false;
    known_ = true;
    last_ = o;
    return true;
  }
  bool Known() const { return known_; }
  const VideoOrientation& Last() const { return last_; }

private:
  VideoOrientation last_;
  bool known_ = false;
};

} // namespace sluice::rtp
