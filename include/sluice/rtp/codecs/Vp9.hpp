// VP9 RTP payload descriptor (RFC 9628 §4.2) and scalability structure
// (§4.2.1): parse, per-consumer PictureID/TL0PICIDX rewrite, write, and the
// layer decisions an SVC consumer makes.
//
// Flexible mode (F=1):                  Non-flexible mode (F=0):
//       0 1 2 3 4 5 6 7                       0 1 2 3 4 5 6 7
//      +-+-+-+-+-+-+-+-+                     +-+-+-+-+-+-+-+-+
//      |I|P|L|F|B|E|V|Z| (REQUIRED)          |I|P|L|F|B|E|V|Z| (REQUIRED)
//      +-+-+-+-+-+-+-+-+                     +-+-+-+-+-+-+-+-+
// I:   |M| PICTURE ID  | (REQUIRED)     I:   |M| PICTURE ID  | (RECOMMENDED)
//      +-+-+-+-+-+-+-+-+                     +-+-+-+-+-+-+-+-+
// M:   | EXTENDED PID  | (RECOMMENDED)  M:   | EXTENDED PID  | (RECOMMENDED)
//      +-+-+-+-+-+-+-+-+                     +-+-+-+-+-+-+-+-+
// L:   | TID |U| SID |D| (COND. RECOMM.) L:  | TID |U| SID |D| (COND. RECOMM.)
//      +-+-+-+-+-+-+-+-+   -\                +-+-+-+-+-+-+-+-+
// P,F: | P_DIFF      |N| (COND. REQ.) . up     |   TL0PICIDX   | (COND. REQ.)
//      +-+-+-+-+-+-+-+-+   -/ to 3 times     +-+-+-+-+-+-+-+-+
// V:   | SS            |                  V:   | SS            |
//      | ..            |                       | ..            |
//      +-+-+-+-+-+-+-+-+                       +-+-+-+-+-+-+-+-+
//
// Scalability structure (§4.2.1):
//      +-+-+-+-+-+-+-+-+
// V:   | N_S |Y|G|-|-|-|
//      +-+-+-+-+-+-+-+-+              -|
// Y:   |     WIDTH     | (OPTIONAL)    .
//      +               +               .
//      |               | (OPTIONAL)    .
//      +-+-+-+-+-+-+-+-+               . N_S + 1 times
//      |     HEIGHT    | (OPTIONAL)    .
//      +               +               .
//      |               | (OPTIONAL)    .
//      +-+-+-+-+-+-+-+-+              -|
// G:   |      N_G      | (OPTIONAL)
//      +-+-+-+-+-+-+-+-+                           -|
// N_G: | TID |U| R |-|-| (OPTIONAL)                 .
//      +-+-+-+-+-+-+-+-+              -|            . N_G times
//      |    P_DIFF     | (OPTIONAL)    . R times    .
//      +-+-+-+-+-+-+-+-+              -|           -|
//
// No allocation, no exceptions; every read is bounds-checked.
#pragma once

#include "sluice/rtp/codecs/PictureIdRewriter.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace sluice::rtp::codecs {

struct Vp9Descriptor {
  bool hasPictureId = false;    // I
  bool interPredicted = false;  // P
  bool hasLayerIndices = false; // L
  bool flexible = false;        // F
  bool beginOfFrame = false;    // B: first packet of a layer frame
  bool endOfFrame = false;      // E: last packet of a layer frame
  bool hasSs = false;           // V
  bool notRefForUpper = false;  // Z
  bool pictureIdLong = false;   // M
  uint16_t pictureId = 0;       // 7 or 15 bits
  uint8_t tid = 0;              // 3 bits (0 when L=0)
  bool switchingUp = false;     // U
  uint8_t sid = 0;              // 3 bits (0 when L=0)
  bool interLayerDep = false;   // D
  bool hasTl0PicIdx = false;    // non-flexible mode with L=1
  uint8_t tl0PicIdx = 0;
  uint8_t pDiffCount = 0; // flexible mode with P=1: 1..3
  std::array<uint8_t, 3> pDiff{};
  uint16_t ssOffset = 0; // where the SS starts in the payload (hasSs)
  uint16_t ssSize = 0;
  uint16_t size = 0;     // descriptor length in bytes
  bool keyFrame = false; // P=0, B=1, SID=0 (D=0)
};

struct Vp9PgEntry {
  uint8_t tid = 0;
  bool switchingUp = false;
  uint8_t refCount = 0; // R: 0..3
  std::array<uint8_t, 3> pDiff{};
};

// The SS parsed out on demand (about 1.3 KB: keep it on the stack of the code
// that needs it, not in per-packet state).
struct Vp9Ss {
  static constexpr size_t kMaxSpatial = 8;
  static constexpr size_t kMaxPg = 255;
  uint8_t spatialLayers = 0;  // N_S + 1
  bool hasResolution = false; // Y
  std::array<uint16_t, kMaxSpatial> width{};
  std::array<uint16_t, kMaxSpatial> height{};
  bool hasPg = false; // G
  uint8_t pgSize = 0; // N_G
  std::array<Vp9PgEntry, kMaxPg> pg{};
};

// Parses the descriptor at the start of an RTP payload (SS validated, not
// stored: see ParseVp9Ss). A descriptor with no payload after it is accepted
// (the first descriptor byte alone is enough to tell a key frame).
std::optional<Vp9Descriptor> ParseVp9(const uint8_t* payload, size_t len);

// Parses the SS bytes (payload + d.ssOffset, d.ssSize), or any SS alone;
// `used` (optional) gets its length.
std::optional<Vp9Ss> ParseVp9Ss(const uint8_t* ss, size_t len, size_t* used = nullptr);

// Writes `in`'s descriptor with `out`'s PictureID (15-bit form when `in` had
// one) and TL0PICIDX; P_DIFFs and the SS are copied from `payload` (the
// packet `in` was parsed from). Returns the new length, 0 if `cap` is too
// small; the caller copies payload + in.size onwards behind it. Pure.
size_t WriteVp9Descriptor(const uint8_t* payload, const Vp9Descriptor& in, const PictureIdOut& out,
                          uint8_t* dst, size_t cap);

// --- what an SVC consumer decides per packet --------------------------------

// Temporal up-switch (§4.2, U): from this picture on, frames of layers above
// d.tid do not reference anything before it, so a consumer may raise its
// temporal target here.
inline bool IsTemporalSwitchingUpPoint(const Vp9Descriptor& d) {
  return d.hasLayerIndices && d.switchingUp;
}

// Spatial up-switch: a layer frame with no inter-picture prediction (P=0) at
// its start depends only on the lower spatial layers of the same picture
// (D says which), so a consumer already forwarding SID-1 may start SID here.
inline bool IsSpatialSwitchingUpPoint(const Vp9Descriptor& d) {
  return !d.interPredicted && d.beginOfFrame;
}

// Marker bit for a forwarded packet when spatial layers above `maxSid` are
// dropped: the picture ends with the E bit of the highest forwarded layer
// (§4.2 / RFC 3550 marker: last packet of the picture). A picture that lacks
// that layer already carries the sender's marker on its own last packet.
inline bool ForwardedMarker(const Vp9Descriptor& d, bool rtpMarker, uint8_t maxSid) {
  return rtpMarker || (d.endOfFrame && d.sid >= maxSid);
}

// Per-consumer PictureID / TL0PICIDX continuity. Unlike VP8, frames dropped
// for temporal layers keep their gap: flexible-mode P_DIFFs are PictureID
// differences, and closing gaps would make them point at the wrong pictures.
// So the delta changes only on a switch and is constant in between.
class Vp9Rewriter {
public:
  bool Rewrite(const Vp9Descriptor& in, bool switchingStream, PictureIdOut* out) {
    return ids_.Forward(Ids(in), switchingStream, out);
  }
  const PictureIdRewriter& Ids() const { return ids_; }
  static PictureIdIn Ids(const Vp9Descriptor& in) {
    return PictureIdIn{in.hasPictureId, in.pictureIdLong, in.pictureId, in.hasTl0PicIdx,
                       in.tl0PicIdx};
  }

private:
  PictureIdRewriter ids_;
};

} // namespace sluice::rtp::codecs
