// VP8 RTP payload descriptor (RFC 7741 §4.2) and the VP8 payload header's
// P bit (§4.3, RFC 6386 §9.1 frame tag): parse, per-consumer rewrite, write.
//
//        0 1 2 3 4 5 6 7                      0 1 2 3 4 5 6 7
//       +-+-+-+-+-+-+-+-+                   +-+-+-+-+-+-+-+-+
//       |X|R|N|S|R| PID | (REQUIRED)        |X|R|N|S|R| PID | (REQUIRED)
//       +-+-+-+-+-+-+-+-+                   +-+-+-+-+-+-+-+-+
//  X:   |I|L|T|K| RSV   | (OPTIONAL)   X:   |I|L|T|K| RSV   | (OPTIONAL)
//       +-+-+-+-+-+-+-+-+                   +-+-+-+-+-+-+-+-+
//  I:   |M| PictureID   | (OPTIONAL)   I:   |M| PictureID   | (OPTIONAL)
//       +-+-+-+-+-+-+-+-+                   +-+-+-+-+-+-+-+-+
//  L:   |   TL0PICIDX   | (OPTIONAL)        |   PictureID   |
//       +-+-+-+-+-+-+-+-+                   +-+-+-+-+-+-+-+-+
//  T/K: |TID|Y| KEYIDX  | (OPTIONAL)   L:   |   TL0PICIDX   | (OPTIONAL)
//       +-+-+-+-+-+-+-+-+                   +-+-+-+-+-+-+-+-+
//                                      T/K: |TID|Y| KEYIDX  | (OPTIONAL)
//                                           +-+-+-+-+-+-+-+-+
//
// Then, at the start of partition 0 (S=1, PID=0), the VP8 payload header
// |Size0|H| VER |P| whose P bit is 0 for a key frame (RFC 6386 §9.1).
//
// No allocation, no exceptions; every read is bounds-checked.
#pragma once

#include "sluice/rtp/codecs/PictureIdRewriter.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace sluice::rtp::codecs {

struct Vp8Descriptor {
  bool extended = false;      // X
  bool nonReference = false;  // N
  bool start = false;         // S: first packet of a partition
  uint8_t partitionId = 0;    // PID (3 bits)
  bool hasPictureId = false;  // I
  bool hasTl0PicIdx = false;  // L
  bool hasTid = false;        // T
  bool hasKeyIdx = false;     // K
  bool pictureIdLong = false; // M: 15-bit PictureID on the wire
  uint16_t pictureId = 0;     // 7 or 15 bits
  uint8_t tl0PicIdx = 0;
  uint8_t tid = 0;        // 2 bits, meaningful when T
  bool layerSync = false; // Y, meaningful when T
  uint8_t keyIdx = 0;     // 5 bits, meaningful when K
  uint8_t size = 0;       // descriptor length in bytes, 1..6
  bool keyFrame = false;  // S=1, PID=0 and P=0 in the payload header
};

// Parses the descriptor at the start of an RTP payload. Needs at least one
// payload byte after the descriptor (the payload header, or partition data).
std::optional<Vp8Descriptor> ParseVp8(const uint8_t* payload, size_t len);

// Maximum descriptor length WriteVp8Descriptor produces.
constexpr size_t kVp8MaxDescriptor = 6;

// Writes `in`'s descriptor with `out`'s PictureID (always the 15-bit form when
// `in` had one) and TL0PICIDX. Reserved bits are written as zero (§4.2: "MUST
// be set to 0 ... MUST be ignored by receivers"). Returns the new descriptor
// length, 0 when `cap` is too small; the caller copies the payload after the
// input descriptor (payload + in.size) right behind it. Pure: the same
// (in, out) always gives the same bytes, which is what retransmission needs.
size_t WriteVp8Descriptor(const Vp8Descriptor& in, const PictureIdOut& out, uint8_t* dst,
                          size_t cap);

// Per-consumer state (see PictureIdRewriter.hpp for the model and bounds).
class Vp8Rewriter {
public:
  // Maps a packet the consumer forwards. `switchingStream`: first packet from
  // a new source stream, or the first after a pause. False: refuse the packet
  // (a late packet of a frame that cannot be mapped consistently).
  bool Rewrite(const Vp8Descriptor& in, bool switchingStream, PictureIdOut* out) {
    return ids_.Forward(Ids(in), switchingStream, out);
  }

  // The consumer drops this packet because its temporal layer is above the
  // target. Only TID > 0 frames close their PictureID gap: a TID 0 frame that
  // goes missing is a loss the receiver must see (its TL0PICIDX successors
  // reference it), so it is left as a gap. Returns true if later ids moved.
  bool Drop(const Vp8Descriptor& in) {
    if (!in.hasTid || in.tid == 0)
      return false;
    return ids_.DropFrame(Ids(in));
  }

  const PictureIdRewriter& Ids() const { return ids_; }

  static PictureIdIn Ids(const Vp8Descriptor& in) {
    return PictureIdIn{in.hasPictureId, in.pictureIdLong, in.pictureId, in.hasTl0PicIdx,
                       in.tl0PicIdx};
  }

private:
  PictureIdRewriter ids_;
};

} // namespace sluice::rtp::codecs
