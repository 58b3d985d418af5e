// Per-consumer rewrite of the VP8 / VP9 PictureID and TL0PICIDX (RFC 7741
// §4.2, RFC 9628 §4.2), so that what one consumer sends looks like one
// continuous stream although it drops frames of upper temporal layers and
// switches between source streams (simulcast).
//
// Model: output = source + delta (mod 2^15 for the PictureID, mod 2^8 for
// TL0PICIDX). A delta changes only
//  - on a stream switch (or the first packet, or a resume after a pause, which
//    the caller reports as a switch): the delta is re-based so the new stream
//    continues at the highest PictureID / TL0PICIDX sent so far + 1;
//  - on DropFrame (VP8 only): every frame after a dropped upper-temporal-layer
//    frame moves down by one, so the PictureID has no gap (RFC 7741 §4.2:
//    "MUST increase by 1 for each subsequent frame").
// TL0PICIDX only counts TID 0 frames, which a temporal-layer drop never
// removes, so it is re-based on a switch only. A dropped TID 0 frame is not
// hidden: the receiver must see that a base-layer frame is missing.
//
// Packets of a frame keep the delta their frame got first: a small ring
// remembers the delta of the last kHistory forwarded frames, so a late packet
// of a recent frame maps like its siblings. A packet of a frame older than that
// (or unseen and older than the newest) is refused (Forward returns false).
//
// Retransmission: the caller stores the PictureIdOut (3 bytes) with each sent
// packet (next to its output sequence number). The descriptor writers are pure
// functions of (input descriptor, PictureIdOut), so a retransmission rebuilds
// the same bytes without asking this object again.
//
// 7-bit source PictureIDs are extended to 15 bits against the last source
// value (nearest point, IsNewerBits<7>); the output is always 15-bit.
// Serial arithmetic goes through SeqMath.hpp (IsNewerBits / ForwardDiffBits).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sluice::rtp::codecs {

struct PictureIdOut {
  uint16_t pictureId = 0; // 15 bits, meaningful when the input had a PictureID
  uint8_t tl0PicIdx = 0;  // meaningful when the input had a TL0PICIDX
};

// The fields of a descriptor this unit reads; VP8 and VP9 fill it alike.
struct PictureIdIn {
  bool hasPictureId = false;
  bool pictureIdLong = false; // M: 15 bits on the wire (else 7)
  uint16_t pictureId = 0;
  bool hasTl0PicIdx = false;
  uint8_t tl0PicIdx = 0;
};

class PictureIdRewriter {
public:
  static constexpr uint16_t kPidMask = 0x7FFF;
  static constexpr size_t kHistory = 8;

  // Maps a forwarded packet. `switching`: first packet taken from a different
  // source stream, or the first after a pause (should be a key frame).
  bool Forward(const PictureIdIn& in, bool switching, PictureIdOut* out);

  // The caller drops every packet of this frame (temporal layer above its
  // target). Only frames newer than anything seen move later frames down, and
  // each frame counts once however many of its packets are dropped. Returns
  // true when the drop was folded into the delta.
  bool DropFrame(const PictureIdIn& in);

  // Highest values sent so far (valid once something with them was forwarded).
  uint16_t LastPictureId() const { return lastOutPid_; }
  uint8_t LastTl0PicIdx() const { return lastOutTl0_; }

private:
  uint16_t ExtendSource(const PictureIdIn& in, bool fresh) const;
  void Remember(uint16_t src, uint16_t delta);
  bool Lookup(uint16_t src, uint16_t* delta) const;

  struct Seen {
    uint16_t src;
    uint16_t delta;
  };
  std::array<Seen, kHistory> history_{};
  uint8_t historyCount_ = 0;
  uint8_t historyNext_ = 0;

  bool pidStarted_ = false;
  uint16_t pidDelta_ = 0;
  uint16_t lastSrcPid_ = 0; // newest source PictureID seen, 15-bit extended
  uint16_t lastOutPid_ = 0;

  bool tl0Started_ = false;
  uint8_t tl0Delta_ = 0;
  uint8_t lastOutTl0_ = 0;
};

} // namespace sluice::rtp::codecs
