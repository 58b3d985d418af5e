// H264 RTP payload (RFC 6184) as a forwarding unit sees it: which NAL units a
// packet carries and whether it starts a key frame; and the Frame Marking
// header extension (RFC 9626, was draft-ietf-avtext-framemarking) that
// carries the temporal layer of an H264 packet.
//
// NAL unit header (RFC 6184 §1.3)      FU header (§5.8)
//   +---------------+                   +---------------+
//   |0|1|2|3|4|5|6|7|                   |0|1|2|3|4|5|6|7|
//   +-+-+-+-+-+-+-+-+                   +-+-+-+-+-+-+-+-+
//   |F|NRI|  Type   |                   |S|E|R|  Type   |
//   +---------------+                   +---------------+
// Type 1-23: a single NAL unit packet (§5.6).
// Type 24, STAP-A (§5.7.1): header, then (16-bit size, NAL unit)+.
// Type 28, FU-A (§5.8): FU indicator (this header), FU header, fragment.
// Other types (STAP-B, MTAP, FU-B, reserved) are not used with
// packetization-mode 0/1 and are rejected.
//
// No allocation, no exceptions; every read is bounds-checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace sluice::rtp::codecs {

enum class H264Packet : uint8_t { Single, StapA, FuA };

struct H264Info {
  H264Packet packet = H264Packet::Single;
  uint8_t nalType = 0;   // single: its type; FU-A: the fragmented unit's; STAP-A: the first unit's
  uint16_t nalCount = 0; // NAL units (STAP-A: aggregated units; otherwise 1)
  bool fuStart = false;  // FU-A S bit (single and STAP-A: true, they start their units)
  bool fuEnd = false;    // FU-A E bit (single and STAP-A: true)
  bool hasIdr = false;   // type 5 present (FU-A: only on the start fragment)
  bool hasSps = false;   // type 7
  bool hasPps = false;   // type 8
  bool keyFrame = false; // an IDR slice or an SPS starts here
};

// Parses an RTP payload. A STAP-A must consist exactly of well-formed
// aggregation units (sizes >= 1, nothing left over); otherwise nullopt.
std::optional<H264Info> ParseH264(const uint8_t* payload, size_t len);

// Frame Marking extension element (RFC 9626 §3).
//  Short form, 1 byte (non-scalable streams):   Scalable form, 3 bytes:
//   0 1 2 3 4 5 6 7                               0 1 2 3 4 5 6 7 ...
//  +-+-+-+-+-+-+-+-+                             +-+-+-+-+-+-+-+-+-------+---------+
//  |S|E|I|D|B| TID |                             |S|E|I|D|B| TID |  LID  |TL0PICIDX|
//  +-+-+-+-+-+-+-+-+                             +-+-+-+-+-+-+-+-+-------+---------+
// A 2-byte element (LID without TL0PICIDX) is accepted too.
struct FrameMarking {
  bool start = false;         // S
  bool end = false;           // E
  bool independent = false;   // I
  bool discardable = false;   // D
  bool baseLayerSync = false; // B
  uint8_t tid = 0;            // 3 bits
  bool hasLid = false;
  uint8_t lid = 0;
  bool hasTl0PicIdx = false;
  uint8_t tl0PicIdx = 0;
};

std::optional<FrameMarking> ParseFrameMarking(const uint8_t* ext, size_t len);
// Writes 1, 2 or 3 bytes as the fields say; 0 when `cap` is too small.
size_t WriteFrameMarking(const FrameMarking& fm, uint8_t* dst, size_t cap);

} // namespace sluice::rtp::codecs
