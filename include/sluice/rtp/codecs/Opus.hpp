// Opus packet framing (RFC 6716 §3.1-3.4, carried as RFC 7587 says: one Opus
// packet per RTP payload) and the DTX test behind a consumer's `ignoreDtx`.
//
// TOC byte (§3.1):                 Code 3 frame count byte (§3.2.5):
//   0 1 2 3 4 5 6 7                  0 1 2 3 4 5 6 7
//  +-+-+-+-+-+-+-+-+                +-+-+-+-+-+-+-+-+
//  | config  |s| c |                |v|p|     M     |
//  +-+-+-+-+-+-+-+-+                +-+-+-+-+-+-+-+-+
// c=0: one frame; c=1: two equal frames; c=2: two frames, the first's length
// coded (1-2 bytes); c=3: M frames, CBR or VBR (lengths coded), optional
// padding. The packet is checked against §3.4 requirements R1-R7.
//
// DTX, as defined here: a valid packet in which every frame is 0 or 1 bytes
// long. §3.2.1: a 0-byte frame carries no data ("e.g., because of DTX or
// packet loss"), and the RFC 6716 reference decoder runs concealment instead
// of decoding for a frame of 1 byte or less. libopus's DTX output is the TOC
// byte alone, and its encoder API says a packet of 2 bytes or less need not be
// sent: both are covered (1-byte packets; a 2-byte code 0 packet). A packet
// that fails R1-R7 is not DTX (it is forwarded untouched, as is multiopus,
// which is never parsed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace sluice::rtp::codecs {

struct OpusInfo {
  uint8_t config = 0;                 // 0-11 SILK, 12-15 hybrid, 16-31 CELT (§3.1 table 2)
  bool stereo = false;                // s
  uint8_t code = 0;                   // c
  uint8_t frameCount = 0;             // 1..48
  uint16_t frameDurationTenthsMs = 0; // 25 (2.5 ms) .. 600 (60 ms)
  size_t largestFrame = 0;            // bytes of the largest frame
  bool dtx = false;                   // every frame 0 or 1 bytes
};

std::optional<OpusInfo> ParseOpus(const uint8_t* payload, size_t len);

inline bool IsOpusDtx(const uint8_t* payload, size_t len) {
  const auto info = ParseOpus(payload, len);
  return info && info->dtx;
}

} // namespace sluice::rtp::codecs
